"""A refused form in a browser (issue 15's one error type): the service's reason appears beside the field it names
(a form shown again) or as one flashed line (a form that redirects), on a desktop and on a phone."""

import pytest

from reportkit.extensions import db
from reportkit.models import User
from reportkit.services.cases import create_case

from ..conftest import PASSWORD
from .test_review import login

pytestmark = pytest.mark.e2e


def _field_error(page, label: str) -> str:
    """The error text the page shows for the field with this label (render_field's aria-describedby or sibling)."""
    field = page.get_by_label(label, exact=True)
    return field.evaluate("""el => { const box = el.closest('.field') || el.parentElement;
                                     return [...box.querySelectorAll('.error, .errors, [role=alert]')]
                                       .map(e => e.innerText).join(' '); }""")


@pytest.mark.parametrize(("width", "height", "name"), [(1280, 900, "desktop"), (390, 844, "phone")])
def test_refusals_are_said_where_they_belong(live_server, browser, shot, width, height, name):
    base, app = live_server
    with app.app_context():
        owner = User(email="owner@example.org", name="Olga Owner")
        owner.set_password(PASSWORD)
        db.session.add(owner)
        db.session.commit()
        case_id = create_case(owner, "Threats against reporters", "A. Leader (fictional)",
                              accounts=[{"platform": "x", "handle": "leader_en"}]).id
        db.session.remove()
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    login(page, base, "owner@example.org")

    page.goto(f"{base}/cases/{case_id}/members")  # the service refuses: the owner's own address
    page.get_by_label("Email address").fill("Owner@Example.org")
    page.get_by_role("button", name="Invite").click()
    page.get_by_text("That address belongs to a member of this case already.").wait_for()
    assert "belongs to a member" in _field_error(page, "Email address")
    shot(page, f"60-invite-refused-{name}")

    page.goto(f"{base}/policies/")  # a rules page on another host: said beside the address of the rules page
    page.get_by_label("Server address", exact=True).fill("mastodon.social")
    page.get_by_label("Address of the rules page", exact=True).fill("https://evil.example/about")
    page.get_by_label("Checked on", exact=True).fill("2026-11-20")
    page.get_by_label("Rules", exact=True).fill("Be kind: no harassment")
    page.get_by_role("button", name="Add the server's rules").click()
    page.get_by_text("The rules page must be on the server itself").first.wait_for()
    assert "must be on the server itself" in _field_error(page, "Address of the rules page")
    assert _field_error(page, "Server address") == ""
    shot(page, f"61-server-rules-refused-{name}")

    page.goto(f"{base}/cases/{case_id}/edit")  # a form that redirects: one flashed line with the field's label
    page.locator("form[action$='/accounts'] input[name=handle]").fill("@")
    page.locator("form[action$='/accounts']").get_by_role("button", name="Add account").click()
    page.get_by_text("Handle: Enter the account's handle.").wait_for()
    shot(page, f"62-account-refused-{name}")
