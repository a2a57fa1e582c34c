"""In the browser: a near-duplicate warning shown once and dismissed with "Not the same post"; the language
field filled from the text as it is typed; the bulk-intake option for web pages."""

import io

import pytest

from reportkit.extensions import db
from reportkit.models import User
from reportkit.services.cases import create_case
from reportkit.services.entries import create_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore

from ..conftest import PASSWORD
from ..test_duplicates import png, post_card, same_post_variants

pytestmark = pytest.mark.e2e
PERSIAN = "خبرنگاران خائن را یکی‌یکی پیدا می‌کنیم و سزایشان را می‌دهیم."


def test_duplicate_warning_and_language_guess(live_server, browser, shot):
    base, app = live_server
    with app.app_context():
        user = User(email="dup@example.org", name="Dup")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        case = create_case(user, "Duplicates case", "S", accounts=[{"platform": "telegram", "handle": "leader_fa"}])
        store, limits = EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config)
        first, second = (create_entry(user, case, f"https://t.me/leader_fa/{n}", {}) for n in (1, 2))
        card = post_card(7)
        add_evidence_file(user, first, io.BytesIO(png(card)), "capture.png", store, limits)
        add_evidence_file(user, second, io.BytesIO(same_post_variants(card)["resized 70 %"]), "again.png", store,
                          limits)
        case_id, second_id = case.id, second.id
        db.session.remove()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill("dup@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/entries/{second_id}")
    assert page.get_by_role("button", name="Not the same post").count() == 1
    shot(page, "60-near-duplicate-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "61-near-duplicate-phone")
    page.get_by_role("button", name="Not the same post").click()
    page.get_by_text("the warning is gone from both entries").wait_for()
    assert page.get_by_role("button", name="Not the same post").count() == 0

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/entries/new/{case_id}")
    page.get_by_label("Original text").fill(PERSIAN)
    language = page.get_by_label("Language", exact=True)
    page.wait_for_function("() => document.querySelector('input[name=language]').value === 'fa'", timeout=5000)
    language.fill("ar")  # the person's choice is never replaced
    page.get_by_label("Original text").fill(PERSIAN + " " + PERSIAN)
    page.wait_for_timeout(1200)
    assert language.input_value() == "ar"
    shot(page, "62-language-guessed")

    page.goto(f"{base}/imports/new/{case_id}")
    assert page.get_by_label("Add URLs that are not posts as “other”").is_visible()
    shot(page, "63-intake-other-option")
