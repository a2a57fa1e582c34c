"""Four eyes that cannot be walked around (issue 12). The adversary is a member with the right to edit: an editor
who changes the entry between two approvals, an owner who shapes the entry alone and then approves it, and an
editor who withdraws a sealed entry without reopening it."""

import io

import pytest
from sqlalchemy import select

from reportkit.extensions import db
from reportkit.models import Event
from reportkit.services import reviews
from reportkit.services.cases import update_case
from reportkit.services.custody import verify_case
from reportkit.services.entries import add_violation, remove_violation, update_entry
from reportkit.services.evidence import Limits, add_archive_link, add_evidence_file, purge_evidence, withdraw_evidence
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes

THREAT, VERMIN = "x/violent_content/violent_threats", "x/hateful_conduct/dehumanization"


@pytest.fixture
def team(app, make_user, make_case, make_entry):
    owner, editor, reviewer, second = (make_user(f"{n}@example.org", name=n.capitalize())
                                       for n in ("owner", "editor", "reviewer", "second"))
    case = make_case(owner, members=[(editor, "editor"), (reviewer, "reviewer"), (second, "reviewer")])
    store = EvidenceStore(app.config["EVIDENCE_DIR"])
    team = {"owner": owner, "editor": editor, "reviewer": reviewer, "second": second, "case": case, "store": store,
            "limits": Limits.from_config(app.config), "entry": make_entry(case, editor)}
    return team


def upload(team, who, color=(250, 250, 250), name="s.png"):
    return add_evidence_file(team[who], team["entry"], io.BytesIO(png_bytes(300, 200, color)), name, team["store"],
                             team["limits"])


def reviewable(team, who="editor"):
    """The entry with one clause and one file, both from `who`."""
    add_violation(team[who], team["entry"], THREAT, "Threatens to kill.")
    return upload(team, who)


def actions(entry) -> list[str]:
    return list(db.session.scalars(select(Event.action).where(Event.entry_id == entry.id).order_by(Event.id)))


def verified(team) -> bool:
    report = verify_case(team["case"].id, team["store"])
    assert report.ok, report.problems
    return True


# --- a change during review resets the round's approvals -------------------------------------------------------

def _text(team):
    update_entry(team["editor"], team["entry"], {"text": "Rewritten after the first approval."})


def _file(team):
    upload(team, "editor", (10, 10, 200), "another.png")


def _link(team):
    add_archive_link(team["editor"], team["entry"], "https://web.archive.org/web/2024/https://x.com/a")


def _clause(team):
    add_violation(team["editor"], team["entry"], VERMIN, "Calls them vermin.")


def _unmap(team):
    remove_violation(team["editor"], team["entry"],
                     next(v for v in team["entry"].violations if v.clause.key == VERMIN))


def _withdraw(team):
    withdraw_evidence(team["editor"], team["spare"], "Wrong capture.")


def _purge(team):
    purge_evidence(team["owner"], team["spare"], "Shows a bystander's address.", team["store"])


@pytest.mark.parametrize("change", [_text, _file, _link, _clause, _unmap, _withdraw, _purge],
                         ids=["text", "file", "link", "clause", "unmap", "withdraw", "purge"])
def test_a_change_between_two_approvals_resets_them(team, change):
    update_case(team["owner"], team["case"], required_approvals=2)
    entry = team["entry"]
    reviewable(team)
    add_violation(team["editor"], entry, VERMIN, "Calls them vermin.") if change is _unmap else None
    team["spare"] = upload(team, "editor", (200, 10, 10), "spare.png")
    reviews.transition(team["editor"], entry, "ready")
    reviews.transition(team["reviewer"], entry, "approved")
    assert len(entry.current_approvals) == 1
    first_round = entry.review_round
    change(team)
    assert entry.status == "ready" and entry.current_approvals == [] and entry.review_round == first_round + 1
    reset = db.session.scalars(select(Event).where(Event.entry_id == entry.id, Event.action == "review.reset")).one()
    assert reset.data["approvals_voided"] == [team["reviewer"].id] and "during review" in reset.explanation
    reviews.transition(team["second"], entry, "approved")
    assert entry.status == "ready", "the first approval was given to other content: it must not count"
    reviews.transition(team["reviewer"], entry, "approved")  # the first reviewer looks again
    assert entry.status == "approved"
    live = sorted(ev.sha256 for ev in entry.evidence if ev.is_file and ev.active)
    assert all(a.evidence_sha256 == live for a in entry.current_approvals)
    assert len(entry.approvals) == 3  # no approval row is ever deleted
    assert verified(team)


def test_issue_scenario_text_and_file_changed_between_approvals(team):
    """The editor changed the text and uploaded another file between the first and the second approval."""
    update_case(team["owner"], team["case"], required_approvals=2)
    entry = team["entry"]
    first = reviewable(team)
    reviews.transition(team["editor"], entry, "ready")
    reviews.transition(team["reviewer"], entry, "approved")
    update_entry(team["editor"], entry, {"text": "Something else entirely."})
    second_file = upload(team, "editor", (0, 0, 0), "new.png")
    reviews.transition(team["second"], entry, "approved")
    assert not entry.sealed
    reviews.transition(team["reviewer"], entry, "approved")
    assert entry.sealed
    assert {tuple(a.evidence_sha256) for a in entry.current_approvals} == {tuple(sorted([first.sha256,
                                                                                           second_file.sha256]))}
    assert actions(entry).count("review.reset") == 1  # the second change had no approvals left to reset
    assert verified(team)


def test_changes_before_any_approval_reset_nothing(team):
    entry = team["entry"]
    reviewable(team)
    reviews.transition(team["editor"], entry, "ready")
    update_entry(team["editor"], entry, {"notes": "context"})
    assert "review.reset" not in actions(entry) and entry.review_round == 1
    reviews.transition(team["reviewer"], entry, "approved")
    assert entry.sealed and verified(team)


# --- nobody who shaped the sealed content approves it ---------------------------------------------------------

def test_owner_alone_cannot_approve_what_they_shaped(team, token_for, app):
    """One approval required: the owner rewrote the text, uploaded the only file, mapped the only clause."""
    entry, owner = team["entry"], team["owner"]
    update_entry(owner, entry, {"text": "The owner's version."})
    upload(team, "owner")
    add_violation(owner, entry, THREAT, "Threatens to kill.")
    reviews.transition(team["editor"], entry, "ready")
    with pytest.raises(reviews.ReviewError, match="Four eyes") as err:
        reviews.transition(owner, entry, "approved")
    assert err.value.status == 403
    for did in ("edited its fields", "uploaded a file", "mapped a clause"):
        assert did in str(err.value)
    moves = reviews.allowed_moves(owner, entry)
    assert "approved" not in moves and "Four eyes" in moves.refused["approved"]
    assert entry not in reviews.review_queue(owner)
    resp = app.test_client().post(f"/api/v1/entries/{entry.id}/transitions", headers=token_for(owner),
                                  json={"to": "approved"})
    assert resp.status_code == 403 and "Four eyes" in resp.json["error"]["message"]
    db.session.expire_all()
    assert entry.status == "ready" and entry.approvals == []
    reviews.transition(team["reviewer"], entry, "approved")  # someone who did not shape it
    assert entry.sealed and verified(team)


def test_owner_who_changed_it_in_an_earlier_round_still_cannot_approve(team):
    """A change request starts a new round, but the owner's text is still what would be sealed."""
    entry, owner = team["entry"], team["owner"]
    reviewable(team)
    update_entry(owner, entry, {"translation": "The owner's translation."})
    reviews.transition(team["editor"], entry, "ready")
    reviews.transition(team["reviewer"], entry, "changes_requested", "Who translated this?")
    reviews.resolve(team["editor"], entry, entry.annotations[-1])
    reviews.transition(team["editor"], entry, "ready")
    with pytest.raises(reviews.ReviewError, match="edited its fields"):
        reviews.transition(owner, entry, "approved")
    reviews.transition(team["second"], entry, "approved")
    assert entry.sealed
    # After the seal, what the owner shaped was approved by someone else: a reopen without their change is theirs
    reviews.transition(team["editor"], entry, "reopen", "Check the date again.")
    reviews.transition(owner, entry, "approved")
    assert entry.sealed and verified(team)


def test_owner_changing_during_review_cannot_then_approve(team):
    entry, owner = team["entry"], team["owner"]
    reviewable(team)
    reviews.transition(team["editor"], entry, "ready")
    assert entry in reviews.review_queue(owner)
    remove_later = add_violation(owner, entry, VERMIN, "Calls them vermin.")
    remove_violation(owner, entry, remove_later)  # no trace left in the content, but the owner touched it
    with pytest.raises(reviews.ReviewError, match="mapped a clause and removed a clause"):
        reviews.transition(owner, entry, "approved")
    assert entry not in reviews.review_queue(owner)
    assert verified(team)


# --- no approval with an open change request; no review without a clause and a file ---------------------------

def test_no_approval_while_a_change_request_is_open(team):
    entry = team["entry"]
    reviewable(team)
    reviews.transition(team["editor"], entry, "ready")
    request = reviews.annotate(team["reviewer"], entry, "Is the date right?", "change_request")
    with pytest.raises(reviews.ReviewError, match="One change request on this entry is still open") as err:
        reviews.transition(team["second"], entry, "approved")
    assert err.value.status == 409 and "approved" not in reviews.allowed_moves(team["second"], entry)
    reviews.resolve(team["editor"], entry, request)
    reviews.transition(team["second"], entry, "approved")
    assert entry.sealed and verified(team)


def test_a_resubmitted_entry_waits_for_its_change_request(team):
    entry = team["entry"]
    reviewable(team)
    reviews.transition(team["editor"], entry, "ready")
    reviews.transition(team["reviewer"], entry, "changes_requested", "Add the translation.")
    reviews.transition(team["editor"], entry, "ready")  # resubmitted without resolving it
    with pytest.raises(reviews.ReviewError, match="still open: resolve it before approving"):
        reviews.transition(team["reviewer"], entry, "approved")
    assert entry.status == "ready" and verified(team)


def test_submit_needs_a_clause_and_a_file_and_says_what_is_missing(team, client, login):
    entry, editor = team["entry"], team["editor"]
    with pytest.raises(reviews.ReviewError, match="map at least one policy clause and upload at least one "
                                                  "evidence file") as err:
        reviews.transition(editor, entry, "ready")
    assert err.value.status == 409
    add_archive_link(editor, entry, "https://web.archive.org/web/2024/https://x.com/a")  # a link is not a file
    add_violation(editor, entry, THREAT, "Threatens to kill.")
    withdrawn = upload(team, "editor")
    withdraw_evidence(editor, withdrawn, "Wrong post.")  # a withdrawn file is not evidence any more
    with pytest.raises(reviews.ReviewError, match=r"submitted for review yet: upload at least one evidence file\."):
        reviews.transition(editor, entry, "ready")
    login(client, editor)
    page = client.get(f"/entries/{entry.id}").data.decode()
    assert "Submit for review</button>" not in page and "upload at least one evidence file" in page
    resp = client.post(f"/reviews/entries/{entry.id}/transition", data={"to": "ready"}, follow_redirects=True)
    assert b"upload at least one evidence file" in resp.data
    db.session.expire_all()
    assert entry.status == "draft"
    upload(team, "editor", (1, 2, 3))
    reviews.transition(editor, entry, "ready")
    assert entry.status == "ready" and verified(team)


def test_approval_needs_a_file_in_use(team):
    """A file withdrawn during review leaves nothing to seal."""
    entry = team["entry"]
    only = reviewable(team)
    reviews.transition(team["editor"], entry, "ready")
    withdraw_evidence(team["editor"], only, "Wrong post.")
    with pytest.raises(reviews.ReviewError, match="approved yet: upload at least one evidence file"):
        reviews.transition(team["reviewer"], entry, "approved")
    assert verified(team)


def test_bulk_submit_skips_entries_that_are_not_reviewable(team, make_entry):
    empty = make_entry(team["case"], team["editor"], url="https://t.me/leader_fa/5")
    reviewable(team)
    from reportkit.services.entries import bulk_update

    assert bulk_update(team["editor"], team["case"], [team["entry"].id, empty.id], "submit") == (1, 1)
    db.session.expire_all()
    assert (team["entry"].status, empty.status) == ("ready", "draft") and verified(team)


# --- a sealed entry is withdrawn only after a reopen ----------------------------------------------------------

def test_sealed_entry_is_withdrawn_only_after_a_reopen(team, client, login):
    entry, editor = team["entry"], team["editor"]
    reviewable(team)
    reviews.transition(editor, entry, "ready")
    reviews.transition(team["reviewer"], entry, "approved")
    with pytest.raises(reviews.ReviewError, match="Reopen it with a reason before withdrawing it") as err:
        reviews.withdraw_entry(editor, entry, "Duplicate of #3.")
    assert err.value.status == 409
    login(client, editor)
    page = client.get(f"/entries/{entry.id}").data.decode()
    assert "Withdraw this entry" not in page
    resp = client.post(f"/entries/{entry.id}/withdraw", data={"reason": "Duplicate of #3."})
    assert resp.status_code == 409 and b"Reopen" in resp.data
    db.session.expire_all()
    assert entry.withdrawn_at is None and entry.sealed
    reviews.transition(editor, entry, "reopen", "It duplicates #3.")
    reviews.withdraw_entry(editor, entry, "Duplicate of #3.")
    assert entry.withdrawn_at is not None and verified(team)


def test_purging_from_a_sealed_entry_keeps_the_seal(team):
    """Purge (a victim's private data) is allowed on a sealed entry; it is not a change during review."""
    entry = team["entry"]
    reviewable(team)
    spare = upload(team, "editor", (9, 9, 9), "address.png")
    reviews.transition(team["editor"], entry, "ready")
    reviews.transition(team["reviewer"], entry, "approved")
    purge_evidence(team["owner"], spare, "Shows a private address.", team["store"])
    assert entry.sealed and "review.reset" not in actions(entry) and verified(team)


def test_page_offers_no_approve_button_it_would_refuse(team, client, login):
    entry, owner = team["entry"], team["owner"]
    reviewable(team, "owner")
    reviews.transition(team["editor"], entry, "ready")
    login(client, owner)
    page = client.get(f"/entries/{entry.id}").data.decode()
    assert ">Approve</button>" not in page and "Four eyes: you mapped a clause and uploaded a file" in page
    other = client.application.test_client()
    login(other, team["reviewer"])
    assert ">Approve</button>" in other.get(f"/entries/{entry.id}").data.decode()


def test_an_editor_reviewer_sees_others_entries_in_the_review_queue_but_not_their_own(team, make_user):
    from reportkit.services.cases import add_member

    both = make_user("both@example.org")
    add_member(None, team["case"], both.email, "editor-reviewer")
    reviewable(team)
    reviews.transition(team["editor"], team["entry"], "ready")
    assert [e.id for e in reviews.review_queue(both)] == [team["entry"].id]
    update_entry(both, team["entry"], {"text": "changed by the editor-reviewer"})
    assert reviews.review_queue(both) == []  # four eyes: they shaped it now
