"""Chain of custody: every change is a hash-chained, append-only event; verification finds tampering."""

import io
import os
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from reportkit.extensions import db
from reportkit.models import Entry, Event, Evidence
from reportkit.services import reviews
from reportkit.services.custody import AppendOnly, verify_case
from reportkit.services.entries import add_violation, update_entry
from reportkit.services.evidence import Limits, add_evidence_file, purge_evidence, withdraw_evidence
from reportkit.services.search import EntryFilter, entry_query
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes


@pytest.fixture
def world(app, make_user, make_case, make_entry):
    owner, editor, reviewer = (make_user(f"{n}@example.org", name=n.capitalize()) for n in ("owner", "editor",
                                                                                             "reviewer"))
    case = make_case(owner, members=[(editor, "editor"), (reviewer, "reviewer")])
    entry = make_entry(case, editor)
    store = EvidenceStore(app.config["EVIDENCE_DIR"])
    evidence = add_evidence_file(editor, entry, io.BytesIO(png_bytes()), "s.png", store, Limits.from_config(app.config))
    return {"owner": owner, "editor": editor, "reviewer": reviewer, "case": case, "entry": entry,
            "evidence": evidence, "store": store}


def actions(case_id) -> list[str]:
    return [e.action for e in db.session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id))]


def test_changes_are_recorded_in_a_valid_chain(world, client, login):
    entry, editor = world["entry"], world["editor"]
    update_entry(editor, entry, {"text": "new text", "language": "fa"})
    add_violation(editor, entry, "x/violent_content/violent_threats", "Threat.")
    reviews.annotate(world["reviewer"], entry, "Checked.")
    reviews.transition(editor, entry, "ready")
    reviews.transition(world["reviewer"], entry, "approved")
    login(client, world["reviewer"])
    client.get(f"/evidence/{world['evidence'].id}/original").close()
    got = actions(world["case"].id)
    assert got[:4] == ["case.created", "member.added", "member.added", "entry.created"]
    assert got[4:] == ["evidence.uploaded", "entry.edited", "entry.edited", "clause.mapped", "annotation.added",
                       "status.changed", "entry.approved", "status.changed", "evidence.downloaded"]
    captured, edited = db.session.scalars(select(Event).where(Event.action == "entry.edited").order_by(Event.id))
    assert captured.explanation == "from the first screenshot's upload"  # the capture time taken from the upload
    assert edited.data["text"] == ["", "new text"] and edited.data["language"] == ["", "fa"]
    assert edited.actor_id == editor.id and edited.entry_id == entry.id
    uploaded = db.session.scalar(select(Event).where(Event.action == "evidence.uploaded"))
    assert uploaded.data["sha256"] == world["evidence"].sha256
    report = verify_case(world["case"].id, world["store"])
    assert report.ok, report.problems
    assert report.events_checked == len(got) and report.files_checked == 2  # the original and its print copy


def test_api_changes_name_the_token(world, token_for, app):
    headers = token_for(world["editor"])
    resp = app.test_client().patch(f"/api/v1/entries/{world['entry'].id}", headers=headers, json={"notes": "n"})
    assert resp.status_code == 200
    event = db.session.scalar(select(Event).where(Event.action == "entry.edited").order_by(Event.id.desc()))
    assert event.token_id is not None and event.actor_id == world["editor"].id


def test_application_refuses_to_change_or_delete_events(world):
    event = db.session.scalar(select(Event))
    event.explanation = "rewritten"
    with pytest.raises(AppendOnly):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.scalar(select(Event)))
    with pytest.raises(AppendOnly):
        db.session.commit()
    db.session.rollback()


def test_database_triggers_refuse_too(world):
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text("UPDATE event SET explanation = 'x'"))
    db.session.rollback()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text("DELETE FROM event"))
    db.session.rollback()


def behind_the_apps_back(sql: str) -> None:
    """What an attacker with the database file could do: drop the triggers, then edit."""
    db.session.execute(text("DROP TRIGGER event_no_update"))
    db.session.execute(text("DROP TRIGGER event_no_delete"))
    db.session.execute(text(sql))
    db.session.commit()
    db.session.expire_all()


def test_verification_catches_an_edited_event(world):
    target = db.session.scalar(select(Event).where(Event.action == "entry.created"))
    behind_the_apps_back(
        f"UPDATE event SET data = '{{\"url\": \"https://x.com/other/status/1\"}}' WHERE id = {target.id}")
    problems = verify_case(world["case"].id, world["store"]).problems
    assert problems == [f"event {target.id} (entry.created): its content does not match its hash (edited)",
                        "entry #1: its URL is https://x.com/leader_en/status/1453347171011694596, but its history "
                        "says https://x.com/other/status/1"]


def test_verification_catches_a_removed_event(world):
    target = db.session.scalar(select(Event).where(Event.action == "member.added"))
    behind_the_apps_back(f"DELETE FROM event WHERE id = {target.id}")
    problems = verify_case(world["case"].id, world["store"]).problems
    assert "the chain is broken" in problems[0] and "head row says 6 events" in problems[1]
    assert problems[2:] == ["the case's members or their roles differ from its history"]  # replay sees it too


def test_verification_catches_changed_and_missing_files(world):
    store, ev = world["store"], world["evidence"]
    path = store.path_for(ev.sha256)
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes() + b"tampered")
    os.unlink(store.path_for(ev.print_copy.sha256))
    problems = verify_case(world["case"].id, store).problems
    assert f"evidence {ev.id}: the stored file {ev.sha256[:16]}… has changed" in problems
    assert any("is missing" in p and "print copy" in p for p in problems)


def test_verify_command_exit_codes_and_event(world, runner):
    ok = runner.invoke(args=["verify", str(world["case"].id)])
    assert ok.exit_code == 0 and "OK" in ok.output
    assert actions(world["case"].id)[-1] == "verification.run"
    path = world["store"].path_for(world["evidence"].sha256)
    os.chmod(path, 0o644)
    path.write_bytes(b"changed")
    bad = runner.invoke(args=["verify"])
    assert bad.exit_code == 1 and "has changed" in bad.output
    last = db.session.scalar(select(Event).order_by(Event.id.desc()))
    assert last.action == "verification.run" and last.data["ok"] is False


def test_withdraw_keeps_history_and_leaves_lists(world):
    entry = world["entry"]
    with pytest.raises(reviews.ReviewError, match="Say why"):
        reviews.withdraw_entry(world["editor"], entry, " ")
    with pytest.raises(reviews.ReviewError, match="cannot withdraw"):
        reviews.withdraw_entry(world["reviewer"], entry, "no")
    reviews.withdraw_entry(world["editor"], entry, "Posted by an impostor account.")
    assert db.session.scalars(entry_query(world["case"].id, EntryFilter())).all() == []
    assert db.session.get(Entry, entry.id) is not None
    assert actions(world["case"].id)[-1] == "entry.withdrawn"


def test_withdraw_and_purge_evidence(world, client, login):
    ev, store = world["evidence"], world["store"]
    sha, copy = ev.sha256, ev.print_copy.sha256
    withdraw_evidence(world["editor"], ev, "Wrong post.")
    assert store.exists(sha) and not ev.active
    login(client, world["editor"])
    assert client.post(f"/evidence/{ev.id}/purge", data={"reason": "x"}).status_code == 403
    purge_evidence(world["owner"], ev, "Shows a victim's home address.", store)
    db.session.refresh(ev)
    assert not store.exists(sha) and not store.exists(copy)
    assert ev.sha256 == sha and ev.purge_reason == "Shows a victim's home address." and ev.derivatives == []
    purged = db.session.scalar(select(Event).where(Event.action == "evidence.purged"))
    assert purged.data["sha256"] == sha and purged.explanation == "Shows a victim's home address."
    assert verify_case(world["case"].id, store).ok  # a purge is not tampering


def test_activity_and_verify_pages(world, client, login):
    login(client, world["editor"])
    page = client.get(f"/cases/{world['case'].id}/activity").data.decode()
    assert "entry.created" in page and "evidence.uploaded" in page and "Verify files" not in page
    assert client.post(f"/cases/{world['case'].id}/verify").status_code == 403
    owner = client.application.test_client()
    login(owner, world["owner"])
    case_id = world["case"].id

    def verify_on_the_page(runs: int) -> str:
        """The check runs as a background job; its result shows on the activity page once recorded."""
        resp = owner.post(f"/cases/{case_id}/verify")
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}/activity")
        deadline = time.monotonic() + 30
        while db.session.scalar(select(func.count(Event.id)).where(Event.action == "verification.run")) < runs:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        return owner.get(f"/cases/{case_id}/activity").data.decode()

    assert "everything checks out" in verify_on_the_page(1)
    entry_page = owner.get(f"/entries/{world['entry'].id}").data.decode()
    assert "History" in entry_page and "evidence.uploaded" in entry_page
    ev = db.session.get(Evidence, world["evidence"].id)
    os.unlink(world["store"].path_for(ev.sha256))
    page = verify_on_the_page(2)
    assert "1 problem(s) found" in page and "is missing" in page


def test_purge_never_destroys_bytes_another_entry_or_case_still_uses(world, client, login, app, make_user, make_case,
                                                                    make_entry):
    ev, store = world["evidence"], world["store"]
    same_bytes = store.path_for(ev.sha256).read_bytes()
    limits = Limits.from_config(app.config)
    twin_entry = make_entry(world["case"], world["owner"], url="https://t.me/leader_fa/77")
    twin = add_evidence_file(world["owner"], twin_entry, io.BytesIO(same_bytes), "same.png", store, limits)
    stranger = make_user("stranger@example.org")
    other_case = make_case(stranger, title="Another team's case")
    foreign = add_evidence_file(stranger, make_entry(other_case, stranger, url="https://t.me/other/1"),
                                io.BytesIO(same_bytes), "theirs.png", store, limits)
    assert twin.sha256 == foreign.sha256 == ev.sha256

    login(client, world["owner"])
    resp = client.post(f"/evidence/{ev.id}/purge", data={"reason": "Private data."}, follow_redirects=True)
    page = resp.data.decode()
    assert f"entries #{twin_entry.number} of this case hold the same bytes" in page
    assert "other case" not in page and "Another team" not in page  # other cases: neither counted nor named
    assert store.exists(ev.sha256)  # still the evidence of two other rows
    assert verify_case(world["case"].id, store).ok
    assert verify_case(other_case.id, store).ok

    resp = client.post(f"/evidence/{twin.id}/purge", data={"reason": "Private data."}, follow_redirects=True)
    assert "The file was purged from this case" in resp.data.decode()  # as if no other case held the bytes
    assert store.exists(ev.sha256)  # the other team's case still holds it
    copy = foreign.print_copy.sha256
    assert purge_evidence(stranger, foreign, "Private data.", store).complete
    assert not store.exists(ev.sha256) and not store.exists(copy)  # the last user gone: the bytes go
    assert verify_case(other_case.id, store).ok
