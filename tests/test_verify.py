"""What `verify` catches from an attacker with database access (issue 11): each of these said "OK" before.

The attacker drops the append-only triggers and edits rows directly: events, entries, evidence, the chain-head
row. Replay catches rows that disagree with their history; anchors kept outside the database (the anchor
log, a dossier PDF, an evidence package) catch a history rewritten to its head.
"""

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select, text

from reportkit.extensions import db
from reportkit.models import Event
from reportkit.models.events import content_hash
from reportkit.services import anchors, reviews
from reportkit.services.custody import anchor_head, run_verification, verify_case
from reportkit.services.dossier.options import DossierOptions
from reportkit.services.entries import add_violation, update_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes


@pytest.fixture
def world(app, make_user, make_case, make_entry):
    owner, editor, reviewer = (make_user(f"{n}@example.org") for n in ("owner", "editor", "reviewer"))
    case = make_case(owner, members=[(editor, "editor"), (reviewer, "reviewer")])
    entry = make_entry(case, editor, text="متن اصلی", posted_at=None)
    store = EvidenceStore(app.config["EVIDENCE_DIR"])
    limits = Limits.from_config(app.config)
    evidence = add_evidence_file(editor, entry, io.BytesIO(png_bytes()), "s.png", store, limits)
    other = add_evidence_file(editor, make_entry(case, editor, url="https://t.me/leader_fa/9"),
                              io.BytesIO(png_bytes(color=(0, 0, 255))), "o.png", store, limits)
    update_entry(editor, entry, {"translation": "Original text", "tags": ["threat"]})
    add_violation(editor, entry, "x/violent_content/violent_threats", "A threat.")
    reviews.transition(editor, entry, "ready")
    for _ in range(4):
        reviews.annotate(reviewer, entry, "Checked.")  # some events after the edit
    log = Path(app.config["ANCHOR_LOG"])
    assert verify_case(case.id, store).ok
    return {"case": case, "entry": entry, "evidence": evidence, "other": other, "store": store, "log": log,
            "editor": editor, "reviewer": reviewer}


def attack(sql: str, **params) -> None:
    db.session.execute(text("DROP TRIGGER IF EXISTS event_no_update"))
    db.session.execute(text("DROP TRIGGER IF EXISTS event_no_delete"))
    db.session.execute(text(sql), params)
    db.session.commit()
    db.session.expire_all()


def problems(world, *extra) -> list[str]:
    return verify_case(world["case"].id, world["store"],
                       [*anchors.from_log(world["log"], world["case"].id), *extra]).problems


def rewrite_from(event_id: int, change) -> None:
    """Edit one event, then recompute its hash and every hash after it (and the heads later events recorded),
    and move the head row: a chain that checks out on its own."""
    events = db.session.scalars(select(Event).where(Event.case_id == db.session.get(Event, event_id).case_id)
                                .order_by(Event.id)).all()
    hashes: list[str] = []
    for ev in events:
        if ev.id < event_id:
            hashes.append(ev.hash)
            continue
        content = ev.content()
        if ev.id == event_id:
            change(content)
        if isinstance(content["data"].get("chain"), dict):
            content["data"]["chain"]["head"] = hashes[content["data"]["chain"]["length"] - 1]
        content["prev_hash"] = hashes[-1]
        hashes.append(content_hash(content))
        attack("UPDATE event SET data = :data, prev_hash = :prev, hash = :hash WHERE id = :id",
               data=json.dumps(content["data"]), prev=content["prev_hash"], hash=hashes[-1], id=ev.id)
    attack("UPDATE chain_head SET hash = :h WHERE case_id = :c", h=hashes[-1], c=events[0].case_id)


def test_deleting_the_last_event_is_caught_by_the_head_row(world):
    last = db.session.scalars(select(Event).order_by(Event.id.desc())).first()
    attack("DELETE FROM event WHERE id = :id", id=last.id)
    assert any("head row says" in p for p in problems(world))


def test_deleting_the_last_event_and_moving_the_head_is_caught_by_the_anchor_log(world):
    anchor_head(world["log"], world["case"].id, "test")
    events = db.session.scalars(select(Event).order_by(Event.id.desc())).all()
    attack("DELETE FROM event WHERE id = :id", id=events[0].id)
    attack("UPDATE chain_head SET hash = :h, length = length - 1", h=events[1].hash)
    found = problems(world)
    assert any("events at the end were removed" in p and "anchor log" in p for p in found)
    assert not any("head row says" in p for p in found)  # the head row was moved with the deletion


def test_an_event_rewritten_with_every_hash_after_it_is_caught_by_an_anchor(world):
    anchor_head(world["log"], world["case"].id, "test")
    edited = next(e for e in db.session.scalars(select(Event).where(Event.action == "entry.edited"))
                  if "translation" in e.data)  # not the capture time defaulted from the screenshot's upload
    rewrite_from(edited.id, lambda c: c["data"].update(translation=["", "Something else"]))
    assert verify_case(world["case"].id, world["store"]).problems == [
        "entry #1: its translation differs from its history"]  # without anchors: only the rows now disagree
    found = problems(world)
    assert any("is not the one the anchor log" in p and "history was rewritten" in p for p in found)


def test_a_rewritten_history_is_caught_by_a_dossier_or_package_that_left_the_tool(world, app, tmp_path):
    from reportkit.services.package import write_package

    out = tmp_path / "p.zip"
    with app.test_request_context():
        write_package(world["editor"], world["case"], out, app.config["EVIDENCE_DIR"], workers=0,
                      options=DossierOptions(approved_only=False))  # its entry is a draft
    world["log"].unlink()  # the attacker controls the instance folder too: only the copies outside remain
    pdf = tmp_path / "d.pdf"
    with zipfile.ZipFile(out) as zf:
        pdf.write_bytes(zf.read("dossier.pdf"))
    first = db.session.scalar(select(Event).where(Event.action == "entry.created"))
    rewrite_from(first.id, lambda c: c["data"].update(url="https://x.com/leader_en/status/1"))
    attack("UPDATE entry SET canonical_url = 'https://x.com/leader_en/status/1' WHERE number = 1")
    assert problems(world) == []  # the rows agree with the rewritten history and nothing else is left here
    for copy in (out, pdf):
        found = problems(world, *anchors.from_file(copy))
        assert len(found) == 1 and copy.name in found[0] and "history was rewritten" in found[0]


@pytest.mark.parametrize("column, value, message", [
    ("canonical_url", "https://x.com/leader_en/status/99", "its URL is https://x.com/leader_en/status/99"),
    ("text", "forged text", "its text differs from its history"),
    ("translation", "forged", "its translation differs from its history"),
    ("status", "approved", "its status is approved, but its history says ready"),
])
def test_an_entry_row_edited_directly_is_caught_by_replay(world, column, value, message):
    attack(f"UPDATE entry SET {column} = :v WHERE id = :id", v=value, id=world["entry"].id)
    assert any(message in p for p in problems(world)), problems(world)


def test_a_clause_or_approval_inserted_directly_is_caught(world):
    entry = world["entry"]
    attack("DELETE FROM violation WHERE entry_id = :id", id=entry.id)
    assert any("its clauses are []" in p for p in problems(world))
    attack("INSERT INTO approval (entry_id, user_id, review_round, evidence_sha256, created_at) "
           "VALUES (:e, :u, 1, '[]', '2026-01-01 00:00:00')", e=entry.id, u=world["reviewer"].id)
    assert any("approvals differ from its approval events" in p for p in problems(world))


def test_an_evidence_row_deleted_with_its_files_is_caught(world):
    ev = world["evidence"]
    ev_id, hashes = ev.id, [ev.sha256, ev.print_copy.sha256]
    attack("DELETE FROM derivative WHERE evidence_id = :id", id=ev_id)
    attack("DELETE FROM evidence WHERE id = :id", id=ev_id)
    for sha in hashes:
        path = world["store"].path_for(sha)
        path.chmod(0o644)
        path.unlink()
    assert any("evidence files differ from its upload events" in p for p in problems(world))


def test_an_evidence_row_pointed_at_another_stored_file_is_caught(world):
    attack("UPDATE evidence SET sha256 = :sha WHERE id = :id", sha=world["other"].sha256, id=world["evidence"].id)
    assert any("evidence files differ from its upload events" in p for p in problems(world))


def test_an_entry_inserted_directly_is_caught(world):
    attack("INSERT INTO entry (case_id, number, submitted_url, canonical_url, platform, post_id, handle, "
           "posted_at_source, text, language, translation, translator, translation_method, notes, graphic, "
           "private_info, captured_by, capture_method, logged_in_as, network_route, legal_country, legal_law, "
           "legal_article, status, review_round, withdrawn_reason, created_at, updated_at) VALUES (:c, 50, "
           "'https://x.com/a/status/5', 'https://x.com/a/status/5', 'x', '5', 'a', '', 'forged', '', '', '', '', "
           "'', 0, 0, '', '', '', '', '', '', '', 'approved', 1, '', '2026-01-01', '2026-01-01')",
           c=world["case"].id)
    assert any("entry #50: no event created it" in p for p in problems(world))


def test_a_passing_verification_anchors_its_head_and_the_cli_reads_anchors_from_files(world, runner, tmp_path):
    report = run_verification(None, world["case"].id, world["store"], world["log"])
    assert report.ok
    logged = anchors.from_log(world["log"], world["case"].id)
    assert logged and logged[-1].length == report.events_checked + 1  # the verification event itself
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf")
    bad = runner.invoke(args=["verify", str(world["case"].id), "--anchor", str(junk)])
    assert bad.exit_code == 1 and "neither an evidence package nor a readable dossier PDF" in bad.output
    assert "Traceback" not in bad.output


def test_an_entry_created_by_an_import_and_edited_directly_is_caught(world):
    """Imports record each entry's creation record in their batch event: their rows are replayed in full."""
    from reportkit.services.intake import paste_urls

    job = paste_urls(world["editor"], world["case"], "https://x.com/leader_en/status/1800000000000000001\n"
                                                     "https://x.com/leader_en/status/1800000000000000002")
    assert job.created == 2 and problems(world) == []
    attack("UPDATE entry SET canonical_url = 'https://x.com/leader_en/status/7', text = 'forged' "
           "WHERE case_id = :c AND number = (SELECT MAX(number) FROM entry)", c=world["case"].id)
    found = problems(world)
    assert any("its URL is https://x.com/leader_en/status/7" in p for p in found)
    assert any("its text differs from its history" in p for p in found)


def test_a_case_deleted_behind_the_application_is_reported_but_a_recorded_deletion_is_not(world, app):
    from reportkit.services.custody import cases_to_verify
    from reportkit.services.demo import load_demo, reset_demo

    demo = load_demo(app.config["EVIDENCE_DIR"], Limits.from_config(app.config), posts=2)["case"].id
    reset_demo()
    assert demo in cases_to_verify(None) and verify_case(demo, world["store"]).ok
    case_id = world["case"].id
    attack("DELETE FROM \"case\" WHERE id = :c", c=case_id)
    assert case_id in cases_to_verify(None)
    found = verify_case(case_id, world["store"]).problems
    assert "the case row is gone but its history does not say it was deleted" in found


def test_tags_in_any_order_are_no_false_alarm(world, make_entry):
    make_entry(world["case"], world["editor"], url="https://t.me/leader_fa/12", tags=["zeta", "alpha"])
    update_entry(world["editor"], world["entry"], {"tags": ["threat", "beta"]})
    assert problems(world) == []


def test_a_redaction_undone_in_the_database_is_caught(world, app):
    from reportkit.services.evidence import refresh_marked_copy

    ev, reviewer = world["evidence"], world["reviewer"]
    reviews.add_region(reviewer, ev.entry, ev, "redact", 0.1, 0.1, 0.3, 0.3, "bystander's face")
    refresh_marked_copy(reviewer, ev, world["store"], app.config["PRINT_MAX_WIDTH"])
    assert ev.marked_copy is not None and problems(world) == []
    attack("UPDATE derivative SET sha256 = :s WHERE purpose = 'marked'", s=ev.print_copy.sha256)
    assert any("marked copy is not the one recorded" in p for p in problems(world))
    attack("DELETE FROM region")
    assert any("regions differ from its history" in p for p in problems(world))


@pytest.mark.parametrize("sql, message", [
    ("UPDATE \"case\" SET required_approvals = 0", "the case's required approvals differs from its history"),
    ("UPDATE membership SET role = 'owner'", "the case's members or their roles differ from its history"),
    ("UPDATE evidence SET original_name = 'other.png'", "names, sizes or types differ from their upload events"),
    ("UPDATE annotation SET body = 'rewritten'", "its notes or change requests differ from its history"),
])
def test_case_settings_members_file_names_and_notes_edited_directly_are_caught(world, sql, message):
    attack(sql)
    assert any(message in p for p in problems(world)), problems(world)


def test_a_package_records_its_head_and_a_restore_retires_earlier_heads(world, app, tmp_path):
    from reportkit.services.package import write_package

    write_package(world["editor"], world["case"], tmp_path / "p.zip", app.config["EVIDENCE_DIR"], workers=0,
                  options=DossierOptions(approved_only=False))  # its entry is a draft
    assert any("package p.zip" in a.source for a in anchors.from_log(world["log"], world["case"].id))
    anchors.append(world["log"], world["case"].id, 10_000, "e" * 64, "a head from before the backup was restored")
    assert any("events at the end were removed" in p for p in problems(world))
    anchors.restored(world["log"], "backup.zip")
    assert problems(world) == [] and anchors.from_log(world["log"], world["case"].id) == []
