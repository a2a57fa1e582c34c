"""Two people in two browsers: an editor documents a post, a reviewer marks it up, asks for a change and
approves it; the approved entry goes into a dossier. Graphic media stay blurred until clicked."""

import base64

import pytest
from pypdf import PdfReader

from reportkit.extensions import db
from reportkit.models import User
from reportkit.services.cases import create_case

from ..conftest import PASSWORD, png_bytes

pytestmark = pytest.mark.e2e


def login(page, base, email):
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Your cases").wait_for()


def test_review_journey(live_server, browser, shot, tmp_path):
    base, app = live_server
    with app.app_context():
        users = []
        for email, name in (("editor@example.org", "Eda Editor"), ("reviewer@example.org", "Rui Reviewer")):
            user = User(email=email, name=name)
            user.set_password(PASSWORD)
            db.session.add(user)
            users.append(user)
        db.session.commit()
        case = create_case(users[0], "Incitement by A. Leader", "A. Leader (fictional)",
                           accounts=[{"platform": "x", "handle": "leader_en"}])
        from reportkit.services.cases import add_member

        add_member(None, case, "reviewer@example.org", "reviewer")
        case_id = case.id
        db.session.remove()

    editor = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(editor, base, "editor@example.org")
    editor.goto(f"{base}/entries/new/{case_id}")
    editor.get_by_label("Post URL").fill("https://x.com/leader_en/status/1453347171011694596")
    editor.get_by_label("Graphic violence").check()
    editor.get_by_role("button", name="Add entry").click()
    editor.get_by_text("Entry #1 added").wait_for()
    entry_url = editor.url.split("#")[0]

    # paste a screenshot from the clipboard
    data = base64.b64encode(png_bytes(1200, 700, (200, 210, 230))).decode()
    editor.evaluate("""(b64) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "pasted.png", {type: "image/png"}));
        document.dispatchEvent(new ClipboardEvent("paste", {clipboardData: dt, bubbles: true}));
    }""", data)
    editor.get_by_text("Stored pasted.png").wait_for()
    figure = editor.locator("figure.shot").first
    assert "blur" in figure.locator("img").evaluate("img => getComputedStyle(img).filter")
    editor.get_by_label("Policy clause").fill("x/violent_content/incitement_of_violence")
    editor.get_by_label("Rationale").fill("Urges followers to attack the named reporters.")
    editor.get_by_role("button", name="Map clause").click()
    editor.get_by_text("Clause mapped").wait_for()
    shot(editor, "09-before-submit")
    editor.get_by_role("button", name="Submit for review").click()
    editor.get_by_text("Entry #1: ready.").wait_for()

    reviewer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(reviewer, base, "reviewer@example.org")
    reviewer.get_by_role("link", name="Review queue").click()
    reviewer.get_by_role("link", name="#1").click()
    figure = reviewer.locator("figure.shot").first
    img = figure.locator("img")
    assert "blur" in img.evaluate("img => getComputedStyle(img).filter")
    figure.get_by_role("button", name="Graphic content — show").click()
    assert img.evaluate("img => getComputedStyle(img).filter") == "none"
    shot(reviewer, "10-reviewer-sees-entry")

    box = img.bounding_box()
    reviewer.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    reviewer.mouse.down()
    reviewer.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5, steps=5)
    reviewer.mouse.up()
    reviewer.locator("input[id^=label-]").fill("the call to attack")
    assert 19 < float(reviewer.locator("input[id^=x-]").input_value()) < 21
    reviewer.get_by_role("button", name="Save region").click()
    reviewer.get_by_text("Region saved").wait_for()
    assert reviewer.locator(".region-highlight").count() == 1

    reviewer.get_by_text("Request changes…").click()  # the reason box opens for the move chosen
    reviewer.get_by_label("What should change (required)").fill("Add the translation of the second sentence.")
    reviewer.get_by_role("button", name="Request changes", exact=True).click()
    reviewer.get_by_text("Entry #1: changes requested.").wait_for()
    shot(reviewer, "11-changes-requested")

    editor.goto(entry_url)
    editor.locator("article.note").get_by_text("Add the translation of the second sentence.").wait_for()
    editor.get_by_role("link", name="Edit").click()
    editor.get_by_label("Translation", exact=True).fill("Go and teach these reporters a lesson.")
    editor.get_by_role("button", name="Save entry").click()
    editor.get_by_role("button", name="Mark resolved").click()
    editor.get_by_role("button", name="Submit for review").click()
    editor.get_by_text("Entry #1: ready.").wait_for()

    reviewer.goto(entry_url)
    reviewer.get_by_role("button", name="Approve").click()
    reviewer.get_by_text("Entry #1: approved.").wait_for()
    assert reviewer.get_by_text("Sealed").count() >= 1
    shot(reviewer, "12-approved")

    reviewer.goto(f"{base}/cases/{case_id}/members")  # exports print the name each member chooses
    reviewer.get_by_label("Your name in exports").fill("R. (reviewer)")
    reviewer.get_by_role("button", name="Save").click()
    reviewer.get_by_text("Your name in exports is saved.").wait_for()
    shot(reviewer, "13-export-name")

    reviewer.goto(f"{base}/dossiers/new/{case_id}")
    assert not reviewer.get_by_label("Include entries not yet approved").is_checked()  # approved only: the default
    reviewer.get_by_role("button", name="Export dossier").click()
    reviewer.get_by_role("link", name="Download the PDF").wait_for(timeout=60_000)
    with reviewer.expect_download() as download:
        reviewer.get_by_role("link", name="Download the PDF").click()
    pdf = tmp_path / "approved.pdf"
    download.value.save_as(pdf)
    text = "\n".join(p.extract_text() for p in PdfReader(str(pdf)).pages)
    assert "Approved by R. (reviewer)" in text and "marked copy" in text
    assert "Rui Reviewer" not in text and "reviewer@example.org" not in text
    assert "Go and teach these reporters a lesson." in text
