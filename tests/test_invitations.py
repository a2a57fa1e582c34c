"""Membership by consent (issue 13). The adversaries: an owner who uses the Members page to learn whether an email
address has an account, another user (or another member) who tries to accept someone else's invitation, an
invitee who answers an invitation that expired or was withdrawn, a second click, and an editor-reviewer who would
approve what they changed."""

import io
import json
import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from reportkit.extensions import db
from reportkit.models import ROLE_INFO, Event, Invitation, Membership
from reportkit.models._common import utcnow
from reportkit.services import access, reviews
from reportkit.services import cases as case_ops
from reportkit.services.custody import verify_case
from reportkit.services.entries import add_violation, update_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes


@pytest.fixture
def team(app, make_user, make_case):
    @app.before_request
    def _whose_request():  # the clients of a test share its app context and `g`: load each request's user anew
        g.pop("_login_user", None)

    owner = make_user("owner@example.org")
    editor = make_user("editor@example.org")
    ana = make_user("ana@example.org", name="Ana")  # has an account
    other = make_user("mallory@example.org")  # a registered user who is no member
    case = make_case(owner, members=[(editor, "editor")])
    return {"owner": owner, "editor": editor, "ana": ana, "other": other, "case": case,
            "store": EvidenceStore(app.config["EVIDENCE_DIR"])}


def as_user(app, login, user):
    return login(app.test_client(), user)


def invite(app, login, team, email, role="viewer"):
    return as_user(app, login, team["owner"]).post(f"/cases/{team['case'].id}/members",
                                                   data={"email": email, "role": role}, follow_redirects=True)


def member_role(case_id, user) -> str | None:
    db.session.expire_all()
    return access.role_in(case_id, user)


def open_invitation(case_id, email) -> Invitation:
    return db.session.scalar(select(Invitation).where(Invitation.case_id == case_id, Invitation.email == email,
                                                      Invitation.answered_at.is_(None)))


def actions(case_id) -> list[str]:
    return list(db.session.scalars(select(Event.action).where(Event.case_id == case_id).order_by(Event.id)))


def verified(team) -> bool:
    report = verify_case(team["case"].id, team["store"])
    assert report.ok, report.problems
    return True


# --- the owner learns nothing about accounts, and nobody joins without saying yes -------------------------------

def test_owner_gets_the_same_answer_for_a_registered_and_an_unknown_address(app, login, team, make_case):
    """Two cases alike; one invites an address with an account, the other one without: the pages the owner gets
    back are the same but for the address (and ids and times)."""
    owner = as_user(app, login, team["owner"])
    twin = make_case(team["owner"], members=[(team["editor"], "editor")])
    pages = []
    for case_id, email in ((team["case"].id, "ANA@example.org"), (twin.id, "nobody@example.org")):
        resp = owner.post(f"/cases/{case_id}/members", data={"email": email, "role": "editor"}, follow_redirects=True)
        pages.append(resp.data.decode())
    known, unknown = pages
    assert "Invited ana@example.org as editor. They join when they accept." in known
    assert "No user has that email" not in known + unknown
    assert re.sub(r"\d+", "N", unknown.replace("nobody@example.org", "ana@example.org")) == re.sub(r"\d+", "N", known)
    assert member_role(team["case"].id, team["ana"]) is None  # invited, not added
    events = db.session.scalars(select(Event).where(Event.action == "member.invited").order_by(Event.id)).all()
    assert [(e.target.split(":")[0], e.data["role"]) for e in events] == [("invitation", "editor")] * 2
    activity = owner.get(f"/cases/{team['case'].id}/activity").data.decode()
    assert "ana@example.org" not in activity and f"user:{team['ana'].id}" not in activity


def test_invitee_accepts_and_joins_with_the_invited_role(app, login, team):
    case_id = team["case"].id
    invite(app, login, team, "ana@example.org", "reviewer")
    ana = as_user(app, login, team["ana"])
    index = ana.get("/cases/").data.decode()
    assert "Invitations" in index and "Case A" in index and "as Reviewer" in index
    invitation = open_invitation(case_id, "ana@example.org")
    resp = ana.post(f"/cases/invitations/{invitation.id}", data={"accept": "Accept"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}")
    assert member_role(case_id, team["ana"]) == "reviewer"
    assert "You joined “Case A” as reviewer." in ana.get(f"/cases/{case_id}").data.decode()
    added = db.session.scalars(select(Event).where(Event.case_id == case_id, Event.action == "member.added")
                               .order_by(Event.id.desc())).first()
    assert added.actor_id == team["ana"].id and added.target == f"user:{team['ana'].id}"
    assert added.data == {"role": "reviewer", "invitation": invitation.id, "invited_by": team["owner"].id}
    assert "Invitations" not in ana.get("/cases/").data.decode()
    assert verified(team)


def test_invitee_declines_and_is_no_member(app, login, team):
    case_id = team["case"].id
    invite(app, login, team, "ana@example.org", "editor")
    ana = as_user(app, login, team["ana"])
    invitation = open_invitation(case_id, "ana@example.org")
    resp = ana.post(f"/cases/invitations/{invitation.id}", data={"decline": "Decline"}, follow_redirects=True)
    assert "Invitation declined." in resp.data.decode()
    assert member_role(case_id, team["ana"]) is None
    assert ana.get(f"/cases/{case_id}").status_code == 404
    assert actions(case_id)[-2:] == ["member.invited", "member.declined"]
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).answer == "declined"
    assert verified(team)


def test_an_invitation_to_an_unregistered_address_waits_for_its_account(app, login, team, make_user):
    case_id = team["case"].id
    invite(app, login, team, "Newcomer@Example.org", "editor-reviewer")
    newcomer = make_user("newcomer@example.org")  # registers after the invitation
    client = as_user(app, login, newcomer)
    assert "as Editor and reviewer" in client.get("/cases/").data.decode()
    invitation = open_invitation(case_id, "newcomer@example.org")
    client.post(f"/cases/invitations/{invitation.id}", data={"accept": "Accept"})
    assert member_role(case_id, newcomer) == "editor-reviewer"
    assert verified(team)


def test_no_event_holds_an_invitees_address(app, login, team):
    case_id = team["case"].id
    for email in ("ana@example.org", "ghost@example.org"):
        invite(app, login, team, email)
    ana = as_user(app, login, team["ana"])
    ana.post(f"/cases/invitations/{open_invitation(case_id, 'ana@example.org').id}", data={"accept": "Accept"})
    owner = as_user(app, login, team["owner"])
    owner.post(f"/cases/{case_id}/invitations/{open_invitation(case_id, 'ghost@example.org').id}/withdraw")
    dumped = json.dumps([e.data for e in db.session.scalars(select(Event).where(Event.case_id == case_id))])
    assert "example.org" not in dumped


# --- what cannot be accepted --------------------------------------------------------------------------------------

def test_an_expired_invitation_cannot_be_accepted(app, login, team):
    case_id = team["case"].id
    invite(app, login, team, "ana@example.org", "editor")
    invitation = open_invitation(case_id, "ana@example.org")
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    ana = as_user(app, login, team["ana"])
    assert "Invitations" not in ana.get("/cases/").data.decode()
    resp = ana.post(f"/cases/invitations/{invitation.id}", data={"accept": "Accept"}, follow_redirects=True)
    assert "This invitation has expired." in resp.data.decode()
    assert member_role(case_id, team["ana"]) is None
    assert "expired" in as_user(app, login, team["owner"]).get(f"/cases/{case_id}/members").data.decode()
    # the owner may invite the address again: the expired one is closed, the new one opens
    assert "Invited ana@example.org" in invite(app, login, team, "ana@example.org", "editor").data.decode()
    db.session.expire_all()
    assert db.session.get(Invitation, invitation.id).answer == "expired"
    resp = ana.post(f"/cases/invitations/{open_invitation(case_id, 'ana@example.org').id}", data={"accept": "Accept"},
                    follow_redirects=True)
    assert "You joined" in resp.data.decode(), resp.data.decode()[-3000:]
    assert member_role(case_id, team["ana"]) == "editor"


def test_a_withdrawn_invitation_cannot_be_accepted(app, login, team):
    case_id = team["case"].id
    invite(app, login, team, "ana@example.org", "editor")
    invitation = open_invitation(case_id, "ana@example.org")
    owner = as_user(app, login, team["owner"])
    resp = owner.post(f"/cases/{case_id}/invitations/{invitation.id}/withdraw", follow_redirects=True)
    assert "Invitation withdrawn." in resp.data.decode()
    ana = as_user(app, login, team["ana"])
    resp = ana.post(f"/cases/invitations/{invitation.id}", data={"accept": "Accept"}, follow_redirects=True)
    assert "This invitation was withdrawn." in resp.data.decode()
    assert member_role(case_id, team["ana"]) is None
    assert actions(case_id)[-2:] == ["member.invited", "invitation.withdrawn"]
    assert owner.post(f"/cases/{case_id}/invitations/{invitation.id}/withdraw").status_code == 404  # once
    assert verified(team)


def test_another_user_cannot_accept_someone_elses_invitation(app, login, team):
    case_id = team["case"].id
    invite(app, login, team, "ana@example.org", "editor")
    invitation = open_invitation(case_id, "ana@example.org")
    for who in ("other", "editor", "owner"):  # a stranger, a member, the owner who sent it
        client = as_user(app, login, team[who])
        assert "Invitations" not in client.get("/cases/").data.decode()
        for answer in ("accept", "decline"):
            assert client.post(f"/cases/invitations/{invitation.id}", data={answer: "x"}).status_code == 404
    assert member_role(case_id, team["other"]) is None and member_role(case_id, team["editor"]) == "editor"
    with pytest.raises(case_ops.CaseError, match="not addressed to you"):  # the service checks too
        case_ops.accept_invitation(team["other"], invitation)
    db.session.rollback()
    assert open_invitation(case_id, "ana@example.org").is_open()  # still Ana's to answer


def test_a_second_answer_changes_nothing(app, login, team):
    """A double click, or accept in one tab and decline in another."""
    case_id = team["case"].id
    invite(app, login, team, "ana@example.org", "viewer")
    invitation = open_invitation(case_id, "ana@example.org")
    ana = as_user(app, login, team["ana"])
    ana.post(f"/cases/invitations/{invitation.id}", data={"accept": "Accept"})
    again = ana.post(f"/cases/invitations/{invitation.id}", data={"decline": "Decline"}, follow_redirects=True)
    assert "This invitation was accepted already." in again.data.decode()
    assert member_role(case_id, team["ana"]) == "viewer"
    assert actions(case_id).count("member.added") == 2  # the editor's and Ana's, once
    assert verified(team)


def test_the_database_holds_one_open_invitation_per_address(team):
    """Two owners inviting the same address at once: the lock serialises them; the unique index is the backstop."""
    case = team["case"]
    case_ops.invite_member(team["owner"], case, "ana@example.org", "viewer")
    with pytest.raises(case_ops.CaseError, match="waiting already"):
        case_ops.invite_member(team["owner"], case, "Ana@Example.org", "editor")
    db.session.rollback()
    now = utcnow()
    db.session.add(Invitation(case_id=case.id, email="ana@example.org", role="owner", expires_at=now))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_inviting_a_member_again_is_refused(app, login, team):
    resp = invite(app, login, team, "Editor@example.org", "owner")
    assert "belongs to a member of this case already" in resp.data.decode()
    assert member_role(team["case"].id, team["editor"]) == "editor"


# --- the members page ---------------------------------------------------------------------------------------------

def test_members_page_asks_for_the_role_defaults_to_viewer_and_says_what_each_may_do(app, login, team):
    page = as_user(app, login, team["owner"]).get(f"/cases/{team['case'].id}/members").data.decode()
    form = page[page.index("Invite a member"):]
    assert '<option selected value="viewer">Viewer</option>' in form
    assert '<option value="editor-reviewer">Editor and reviewer</option>' in form
    for label, does in ROLE_INFO.values():
        assert f"<dt>{label}</dt><dd>{does}</dd>" in page.replace("&#39;", "'")
    viewer_page = as_user(app, login, team["editor"]).get(f"/cases/{team['case'].id}/members").data.decode()
    assert "Invite a member" not in viewer_page and ROLE_INFO["viewer"][1] in viewer_page


def test_a_members_page_for_non_owners_lists_no_invitations(app, login, team):
    invite(app, login, team, "secret-source@example.org")
    page = as_user(app, login, team["editor"]).get(f"/cases/{team['case'].id}/members").data.decode()
    assert "secret-source@example.org" not in page


# --- the command line adds directly -------------------------------------------------------------------------------

def test_command_line_adds_a_member_directly(app, team):
    runner = app.test_cli_runner()
    case_id = team["case"].id
    result = runner.invoke(args=["add-member", str(case_id), "ANA@example.org", "--role", "editor-reviewer"])
    assert result.exit_code == 0, result.output
    assert "Added ana@example.org to case 1 as editor-reviewer." in result.output
    assert member_role(case_id, team["ana"]) == "editor-reviewer"
    added = db.session.scalars(select(Event).where(Event.action == "member.added").order_by(Event.id.desc())).first()
    assert added.actor_id is None and added.actor_label == "command line" and added.data == {"role": "editor-reviewer"}
    for args, error in ((["add-member", str(case_id), "nobody@example.org"], "No user has that email"),
                        (["add-member", "999", "ana@example.org"], "No case with id 999"),
                        (["add-member", str(case_id), "ana@example.org"], "already a member")):
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and error in result.output
    result = runner.invoke(args=["add-member", str(case_id), "other@example.org", "--role", "boss"])
    assert result.exit_code != 0 and "Invalid value for '--role'" in result.output
    runner.invoke(args=["add-member", str(case_id), "mallory@example.org"])
    assert member_role(case_id, team["other"]) == "viewer"  # the least right by default
    assert verified(team)


# --- editor and reviewer in one person, four eyes still ------------------------------------------------------------

def test_an_editor_reviewer_edits_and_reviews_but_never_approves_what_they_changed(app, team, make_user, make_entry):
    case, owner = team["case"], team["owner"]
    both = make_user("both@example.org")
    case_ops.add_member(None, case, both.email, "editor-reviewer")
    limits = Limits.from_config(app.config)
    assert all(access.can(both, case.id, p) for p in ("read", "edit", "annotate", "review"))
    assert not access.can(both, case.id, "manage")

    theirs = make_entry(case, owner)  # the owner created it; the editor-reviewer shapes it
    update_entry(both, theirs, {"text": "Transcribed by the editor-reviewer."})
    add_violation(both, theirs, "x/violent_content/violent_threats", "Threatens to kill.")
    add_evidence_file(both, theirs, io.BytesIO(png_bytes()), "s.png", team["store"], limits)
    reviews.transition(both, theirs, "ready")
    with pytest.raises(reviews.ReviewError, match="Four eyes") as err:
        reviews.transition(both, theirs, "approved")
    assert err.value.status == 403
    db.session.rollback()

    other = make_entry(case, owner, url="https://x.com/leader_en/status/1453347171011694597")
    add_violation(owner, other, "x/violent_content/violent_threats", "Threatens to kill.")
    add_evidence_file(owner, other, io.BytesIO(png_bytes(color=(1, 2, 3))), "o.png", team["store"], limits)
    reviews.transition(owner, other, "ready")
    reviews.transition(both, other, "approved")  # what they did not touch, they may approve
    assert other.status == "approved" and other.sealed
    assert theirs.status == "ready"
    assert verified(team)


def test_role_changes_and_removals_name_no_address(team):
    case = team["case"]
    membership = next(m for m in case.memberships if m.user_id == team["editor"].id)
    case_ops.set_role(team["owner"], case, membership, "editor-reviewer")
    case_ops.remove_member(team["owner"], case, membership)
    events = db.session.scalars(select(Event).where(Event.case_id == case.id).order_by(Event.id.desc())).all()[:2]
    assert [e.data for e in events] == [{"role": "editor-reviewer"}, {"role": ["editor", "editor-reviewer"]}]
    assert db.session.scalar(select(Membership).where(Membership.user_id == team["editor"].id)) is None
    assert verified(team)
