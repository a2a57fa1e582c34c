"""Two people in two browsers: an owner invites a colleague by email as editor and reviewer; the colleague sees
the invitation on their cases page and accepts it; the owner's members list shows them with what the role may do."""

import pytest

from reportkit.extensions import db
from reportkit.models import ROLE_INFO, User
from reportkit.services.cases import create_case

from ..conftest import PASSWORD
from .test_review import login

pytestmark = pytest.mark.e2e


def test_invite_and_accept(live_server, browser, shot):
    base, app = live_server
    with app.app_context():
        users = []
        for email, name in (("owner@example.org", "Olga Owner"), ("colleague@example.org", "Cem Colleague")):
            user = User(email=email, name=name)
            user.set_password(PASSWORD)
            db.session.add(user)
            users.append(user)
        db.session.commit()
        case_id = create_case(users[0], "Threats against reporters", "A. Leader (fictional)",
                              accounts=[{"platform": "x", "handle": "leader_en"}]).id
        db.session.remove()

    owner = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(owner, base, "owner@example.org")
    owner.goto(f"{base}/cases/{case_id}/members")
    assert owner.get_by_label("Role", exact=True).input_value() == "viewer"  # the least right unless the owner chooses
    owner.get_by_label("Email address").fill("Colleague@Example.org")
    owner.get_by_label("Role", exact=True).select_option(label="Editor and reviewer")
    owner.get_by_role("button", name="Invite").click()
    owner.get_by_text("Invited colleague@example.org as editor and reviewer.").wait_for()
    assert owner.get_by_role("cell", name="colleague@example.org").count() == 1  # waiting, not a member yet
    shot(owner, "30-invited")

    colleague = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login(colleague, base, "colleague@example.org")
    invitations = colleague.locator("section", has=colleague.get_by_role("heading", name="Invitations"))
    invitations.get_by_text("Threats against reporters").wait_for()
    assert "as Editor and reviewer" in invitations.inner_text()
    shot(colleague, "31-invitation")
    invitations.get_by_role("button", name="Accept").click()
    colleague.get_by_text("You joined “Threats against reporters” as editor and reviewer.").wait_for()
    assert colleague.get_by_role("link", name="Add entry").count() >= 1  # an editor's right
    shot(colleague, "32-joined")

    owner.reload()
    row = owner.get_by_role("row", name="Cem Colleague")
    assert "Editor and reviewer" in row.inner_text()
    assert owner.get_by_role("button", name="Withdraw").count() == 0  # nothing waits any more
    assert owner.get_by_text(ROLE_INFO["editor-reviewer"][1]).count() == 1
    shot(owner, "33-members-and-roles")
