"""The default export, as an analyst's recipient gets it: only approved entries, never a rejected, duplicate or
clause-less one, and the front matter says how many were left out (issue 14)."""

import io

import pytest
from pypdf import PdfReader

from reportkit.extensions import db
from reportkit.models import User
from reportkit.services import reviews
from reportkit.services.cases import add_member, create_case
from reportkit.services.entries import add_violation, create_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore

from ..conftest import PASSWORD, png_bytes

pytestmark = pytest.mark.e2e
URL = "https://x.com/leader_en/status/{}"


def catalogue(app) -> tuple[int, dict[str, str]]:
    """One approved entry, one rejected, one duplicate, one in review and one draft without a clause."""
    owner, reviewer = (User(email=f"{n}@example.org", name=n.capitalize()) for n in ("owner", "reviewer"))
    for user in (owner, reviewer):
        user.set_password(PASSWORD)
        db.session.add(user)
    db.session.commit()
    case = create_case(owner, "Threats against the press", "A. Leader (fictional)",
                       accounts=[{"platform": "x", "handle": "leader_en"}])
    add_member(None, case, reviewer.email, "reviewer")
    store, limits, urls = EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config), {}
    for n, status in enumerate(("approved", "rejected", "duplicate", "ready", "draft")):
        entry = create_entry(owner, case, URL.format(1453347171011694596 + n),
                             {"text": f"Post {n}: we will find you.", "requested_action": "remove", "severity": 3})
        urls[status] = entry.canonical_url
        if status == "draft":
            continue
        add_violation(owner, entry, "x/violent_content/violent_threats", "Threatens named journalists.")
        add_evidence_file(owner, entry, io.BytesIO(png_bytes()), "shot.png", store, limits)
        reviews.transition(owner, entry, "ready")
        if status != "ready":
            reviews.transition(reviewer, entry, status, "Not a threat." if status == "rejected" else "")
    return case.id, urls


def test_default_export_prints_only_approved_entries(live_server, browser, shot, tmp_path):
    base, app = live_server
    with app.app_context():
        case_id, urls = catalogue(app)
        db.session.remove()
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill("owner@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Your cases").wait_for()

    page.goto(f"{base}/dossiers/new/{case_id}")
    option = page.get_by_label("Include entries not yet approved (1)")
    assert not option.is_checked()
    count = page.locator("#selection-count").inner_text()
    assert "prints 1 entry" in count and "2 entries rejected or marked as a duplicate" in count
    shot(page, "dossier-default-export-1280")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    phone_page = phone.new_page()
    phone_page.goto(f"{base}/dossiers/new/{case_id}")
    shot(phone_page, "dossier-default-export-390")
    phone.close()

    page.get_by_role("button", name="Export dossier").click()
    page.get_by_role("link", name="Download the PDF").wait_for(timeout=60_000)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the PDF").click()
    pdf = tmp_path / "default.pdf"
    download.value.save_as(pdf)
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(str(pdf)).pages).split())
    assert urls["approved"] in text and "Post 0: we will find you." in text
    for status in ("rejected", "duplicate", "ready", "draft"):
        assert urls[status] not in text, status
    assert "NOT YET APPROVED" not in text and "No policy clause mapped" not in text
    assert "2 entries not yet approved; 2 entries rejected or marked as a duplicate by a reviewer" in text
    assert "Requested: Remove the post · Severity 3 · High" in text
