"""The export form says what it will not do beside the field, as the API does (services/dossier/options.py):
originals ticked without an evidence package are refused, not silently dropped (issue 15)."""

import pytest

from reportkit.extensions import db
from reportkit.models import Dossier, User
from reportkit.services.cases import create_case
from reportkit.services.entries import add_violation, create_entry

from ..conftest import PASSWORD

pytestmark = pytest.mark.e2e
MESSAGE = "Originals go in an evidence package: ask for the package too."


def test_originals_without_a_package_are_refused_beside_the_field(live_server, browser, shot):
    base, app = live_server
    with app.app_context():
        owner = User(email="owner@example.org", name="Owner")
        owner.set_password(PASSWORD)
        db.session.add(owner)
        db.session.commit()
        case = create_case(owner, "Threats against the press", "A. Leader (fictional)",
                           accounts=[{"platform": "x", "handle": "leader_en"}])
        entry = create_entry(owner, case, "https://x.com/leader_en/status/1453347171011694596", {"text": "A threat."})
        add_violation(owner, entry, "x/violent_content/violent_threats", "Threatens named journalists.")
        case_id = case.id
        db.session.remove()
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(f"{base}/auth/login")
        page.get_by_label("Email").fill("owner@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("heading", name="Your cases").wait_for()
        page.goto(f"{base}/dossiers/new/{case_id}")
        page.get_by_label("Include the unredacted originals in the package (owner only)").check()
        page.get_by_role("button", name="Export dossier").click()
        refusal = page.get_by_text(MESSAGE)
        refusal.scroll_into_view_if_needed()
        assert refusal.is_visible()
        shot(page, f"dossier-options-refused-{width}")
        context.close()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Dossier.id))) == 0  # nothing was started
