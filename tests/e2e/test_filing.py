"""A new user's path after the PDF (issue #17): export a dossier, record that it was filed with the platform's
reference, then the platform's answer (removed for one entry, no answer for the other), as a person would."""

import io

import pytest

from reportkit.extensions import db
from reportkit.models import Filing, User
from reportkit.services import reviews
from reportkit.services.cases import add_member, create_case
from reportkit.services.entries import add_violation, create_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.filings import entry_status
from reportkit.services.storage import app_store

from ..conftest import PASSWORD, png_bytes

pytestmark = pytest.mark.e2e


def approved_entries(app) -> int:
    owner, reviewer = (User(email=f"{n}@example.org", name=n.capitalize()) for n in ("owner", "reviewer"))
    for user in (owner, reviewer):
        user.set_password(PASSWORD)
        db.session.add(user)
    db.session.commit()
    case = create_case(owner, "Threats against the press", "A. Leader (fictional)",
                       accounts=[{"platform": "x", "handle": "leader_en"}])
    add_member(None, case, reviewer.email, "reviewer")
    for n in range(2):
        entry = create_entry(owner, case, f"https://x.com/leader_en/status/{1453347171011694596 + n}",
                             {"text": f"Post {n}: we will find you.", "requested_action": "remove"})
        add_violation(owner, entry, "x/violent_content/violent_threats", "Threatens named journalists.")
        add_evidence_file(owner, entry, io.BytesIO(png_bytes()), "shot.png", app_store(app),
                          Limits.from_config(app.config))
        reviews.transition(owner, entry, "ready")
        reviews.transition(reviewer, entry, "approved")
    return case.id


def test_record_a_filing_from_a_dossier_and_the_platforms_answer(live_server, browser, shot):
    base, app = live_server
    with app.app_context():
        case_id = approved_entries(app)
        db.session.remove()
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill("owner@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Your cases").wait_for()

    page.goto(f"{base}/dossiers/new/{case_id}")
    page.get_by_role("button", name="Export dossier").click()
    page.get_by_role("link", name="Download the PDF").wait_for(timeout=60_000)
    sha = page.locator("[data-sha]").inner_text().strip()
    page.get_by_role("link", name="Record a filing").click()
    page.get_by_role("heading", name="Record a filing").wait_for()
    assert sha in page.content()
    assert page.locator("input[name=entry_ids]:checked").count() == 2  # the dossier's entries, ticked
    page.get_by_label("How").select_option("dsa_notice")
    page.get_by_label("The platform's reference or ticket number").fill("DSA-2026-0042")
    page.get_by_label("When").fill("2026-03-01 10:00")
    shot(page, "filing-new-1280")
    page.get_by_role("button", name="Record the filing").click()
    page.get_by_role("heading", name="Reported to X / Twitter").wait_for()

    decision = page.locator("form", has=page.get_by_role("heading", name="Record the platform's answer"))
    decision.locator("input[name=entry_ids]").nth(1).uncheck()
    decision.get_by_label("The answer").select_option("action")
    decision.get_by_label("Received on").fill("2026-03-20 09:00")
    decision.get_by_label("The post").select_option("removed")
    decision.get_by_label("The ground given").select_option("terms")
    decision.get_by_role("button", name="Record the answer").click()
    page.get_by_text("complaint possible until 2026-09-20").wait_for()

    decision = page.locator("form", has=page.get_by_role("heading", name="Record the platform's answer"))
    decision.locator("input[name=entry_ids]").nth(0).uncheck()
    decision.get_by_label("The answer").select_option("no_answer")
    decision.get_by_role("button", name="Record the answer").click()
    page.get_by_text("Saved.").wait_for()
    shot(page, "filing-view-1280")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    phone_page = phone.new_page()
    phone_page.goto(page.url)
    shot(phone_page, "filing-view-390")
    phone.close()

    page.goto(f"{base}/cases/{case_id}/filings/assistant?platform=x&channel=dsa_notice")
    page.get_by_role("heading", name="#1").wait_for()
    assert "Threatens named journalists." in page.locator("textarea").nth(2).input_value()
    page.get_by_role("button", name="Copy").first.click()  # no page error without a clipboard (plain http)
    shot(page, "filing-assistant-1280")
    page.goto(f"{base}/cases/{case_id}")
    page.get_by_role("link", name="#1", exact=True).first.click()
    page.locator("#reporting").get_by_text("decided: removed").wait_for()
    page.locator("#reporting").scroll_into_view_if_needed()
    shot(page, "entry-reporting-1280")
    page.goto(f"{base}/cases/{case_id}/outcomes")
    row = page.locator("tr", has_text="X / Twitter")
    assert row.locator("td[data-label=Filed]").inner_text() == "2"
    assert row.locator("td[data-label='No answer']").inner_text() == "1"
    shot(page, "outcomes-1280")
    page.goto(f"{base}/follow-ups")
    page.get_by_role("heading", name="Follow-ups").wait_for()
    shot(page, "follow-ups-1280")

    with app.app_context():
        filing = db.session.scalars(db.select(Filing)).one()
        assert filing.reference == "DSA-2026-0042" and filing.document_sha256 == sha
        first, second = filing.entries
        assert entry_status(first.id).label == "decided: removed"
        assert entry_status(second.id).key == "filed" and filing.decisions[-1].no_answer
