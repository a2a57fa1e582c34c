"""Two requests at once: several server processes, each with several threads, writing to one case.

Regression for issue 11: downloads at the same moment forked the custody chain (both read the same head), and
concurrent entry creation answered 500 (two writers took the same entry number). Runs on the SQLite file of
the embedded default and on a throwaway PostgreSQL. A fork must also be impossible to store: the database
refuses a second event after the same previous hash.
"""

import io
import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from reportkit import create_app
from reportkit.extensions import db
from reportkit.models import ChainHead, Entry, Event, Evidence, User
from reportkit.models._common import utcnow
from reportkit.models.events import GENESIS
from reportkit.services.cases import create_case
from reportkit.services.custody import verify_case
from reportkit.services.entries import create_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.policies import seed_policies
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes
from .postgres import Server

ROOT = Path(__file__).resolve().parent.parent
PROCESSES, THREADS, ROUNDS = 2, 8, 12


class Servers:
    """PROCESSES real server processes on one database and one evidence store."""

    def __init__(self, config: dict):
        self.procs = [subprocess.Popen([sys.executable, "-m", "tests.serve", json.dumps(config)], cwd=ROOT,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                      for _ in range(PROCESSES)]
        self.ports = [int(p.stdout.readline()) for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(timeout=10)
            p.stdout.close()

    def request(self, i: int, method: str, path: str, token: str, body: bytes | None = None,
                content_type: str = "application/json") -> tuple[int, bytes]:
        req = urllib.request.Request(f"http://127.0.0.1:{self.ports[i % len(self.ports)]}{path}", data=body,
                                     method=method, headers={"Authorization": f"Bearer {token}",
                                                             "Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def multipart(filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def seed(app) -> tuple[int, int, int, str]:
    """A case with one entry and one screenshot; returns (case id, entry id, evidence id, API token)."""
    from reportkit.models import ApiToken

    user = User(email="rana@example.org", name="Rana")
    user.set_password("correct horse battery")
    db.session.add(user)
    db.session.commit()
    case = create_case(user, "Case under load", "A. Leader", "", [{"platform": "x", "handle": "leader_en"}])
    entry = create_entry(user, case, "https://x.com/leader_en/status/1453347171011694596")
    ev = add_evidence_file(user, entry, io.BytesIO(png_bytes()), "s.png", EvidenceStore(app.config["EVIDENCE_DIR"]),
                           Limits.from_config(app.config))
    token, secret = ApiToken.issue(user, "load")
    db.session.add(token)
    db.session.commit()
    return case.id, entry.id, ev.id, secret


def hammer(servers: Servers, case_id: int, entry_id: int, evidence_id: int, token: str) -> list[tuple[str, int]]:
    """Every thread, every round: a new entry, a URL another thread also sends, a download, a note, an upload."""
    def one(job: tuple[int, int]) -> list[tuple[str, int]]:
        thread, rnd = job
        n = thread * 1000 + rnd
        out = []
        new = json.dumps({"url": f"https://x.com/leader_en/status/{1600000000000000000 + n}"}).encode()
        out.append(("create", servers.request(n, "POST", f"/api/v1/cases/{case_id}/entries", token, new)[0]))
        shared = json.dumps({"url": f"https://x.com/leader_en/status/{1700000000000000000 + rnd}"}).encode()
        out.append(("same-url", servers.request(n + 1, "POST", f"/api/v1/cases/{case_id}/entries", token, shared)[0]))
        out.append(("download", servers.request(n, "GET", f"/api/v1/evidence/{evidence_id}/original", token)[0]))
        note = json.dumps({"body": f"note {n}"}).encode()
        out.append(("note", servers.request(n + 1, "POST", f"/api/v1/entries/{entry_id}/annotations", token, note)[0]))
        body, ctype = multipart(f"s{n}.png", png_bytes(color=(n % 256, rnd, thread)))
        out.append(("upload", servers.request(n, "POST", f"/api/v1/entries/{entry_id}/evidence", token, body,
                                              ctype)[0]))
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        results = pool.map(one, [(t, r) for r in range(ROUNDS) for t in range(THREADS)])
    return [item for batch in results for item in batch]


def check_case(case_id: int, evidence_dir: str, outcomes: list[tuple[str, int]]) -> None:
    errors = [o for o in outcomes if o[1] >= 500]
    assert not errors, f"{len(errors)} server errors: {errors[:5]}"
    assert {s for kind, s in outcomes if kind == "create"} == {201}
    assert {s for kind, s in outcomes if kind in ("download", "upload", "note")} <= {200, 201}
    same = [s for kind, s in outcomes if kind == "same-url"]
    assert same.count(201) == ROUNDS and set(same) == {201, 409}  # one wins each round, the others are told
    numbers = sorted(db.session.scalars(select(Entry.number).where(Entry.case_id == case_id)))
    assert numbers == list(range(1, 1 + 1 + ROUNDS * THREADS + ROUNDS))
    report = verify_case(case_id, EvidenceStore(evidence_dir))
    assert report.ok, report.problems[:5]
    head = db.session.get(ChainHead, case_id)
    last = db.session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id.desc())).first()
    assert (head.hash, head.length) == (last.hash, report.events_checked)
    uploads = db.session.scalar(select(func.count(Evidence.id)).where(Evidence.entry_id.is_not(None)))
    assert uploads == 1 + ROUNDS * THREADS


def forking_insert(case_id: int) -> None:
    """What a second writer with a stale head would store: refused by the database, not by our code."""
    head = db.session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id.desc())).first()
    values = {c: getattr(head, c) for c in ("case_id", "actor_label", "action", "target", "data", "explanation",
                                            "created_at", "prev_hash")}
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Event).values(**values, hash="f" * 64))
        db.session.flush()
    db.session.rollback()


def load_and_check(app, config: dict, migrate: bool = False) -> None:
    """Seed a case, hammer it through the server processes, then check it and try a forking INSERT."""
    with app.app_context():
        if migrate:
            upgrade()
            seed_policies()
        ids = seed(app)
        db.session.remove()
        db.engine.dispose()
    servers = Servers({**config, "RATELIMIT_ENABLED": False, "DOSSIER_WORKERS": 0})
    try:
        outcomes = hammer(servers, *ids)
    finally:
        servers.stop()
    with app.app_context():
        check_case(ids[0], config["EVIDENCE_DIR"], outcomes)
        forking_insert(ids[0])
        db.session.remove()
        db.engine.dispose()


def test_many_writers_on_sqlite_never_fork_the_chain_or_answer_500(make_app):
    app = make_app()
    load_and_check(app, {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "EVIDENCE_DIR", "SECRET_KEY",
                                                     "INSTANCE_PATH")})


def test_many_writers_on_postgresql_never_fork_the_chain_or_answer_500(tmp_path):
    pg = Server().start()
    try:
        config = {"SECRET_KEY": "test", "DATABASE_URL": pg.create_database("rk_load"),
                  "EVIDENCE_DIR": str(tmp_path / "evidence"), "INSTANCE_PATH": str(tmp_path / "instance")}
        load_and_check(create_app({**config, "TESTING": True}), config, migrate=True)
    finally:
        pg.stop()


def test_a_case_chain_starts_at_genesis_with_its_head_row(app, make_user, make_case):
    case = make_case(make_user())
    head = db.session.get(ChainHead, case.id)
    first = db.session.scalars(select(Event).where(Event.case_id == case.id).order_by(Event.id)).first()
    assert first.prev_hash == GENESIS and head.hash == first.hash and head.length == 1


def test_forks_stored_before_the_fix_keep_their_history_and_stay_reported(tmp_path):
    """A database from before the unique index, with a forked case: the migration keeps every event (the
    later branch numbered) and verify still reports the fork; new appends continue from the newest event."""
    from flask_migrate import upgrade as migrate_to
    from sqlalchemy import text

    app = create_app({"SECRET_KEY": "t", "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
                      "EVIDENCE_DIR": str(tmp_path / "evidence"), "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        migrate_to(revision="c3d4e5f6a7b8")
        rows = []
        for prev in (GENESIS, "a" * 64, "a" * 64):  # the second and third events both follow the first
            ev = Event(case_id=7, actor_label="x", action="evidence.downloaded", target="", data={},
                       explanation="", created_at=utcnow().replace(microsecond=0), prev_hash=prev)
            ev.hash = "a" * 64 if prev == GENESIS else ev.compute_hash()
            rows.append({c: getattr(ev, c) for c in ("case_id", "actor_label", "action", "target", "explanation",
                                                     "created_at", "prev_hash", "hash")} | {"data": "{}"})
        db.session.execute(text("INSERT INTO event (case_id, actor_label, action, target, explanation, created_at, "
                                "prev_hash, hash, data) VALUES (:case_id, :actor_label, :action, :target, "
                                ":explanation, :created_at, :prev_hash, :hash, :data)"), rows)
        db.session.commit()
        migrate_to()
        assert [e.branch for e in db.session.scalars(select(Event).order_by(Event.id))] == [0, 0, 1]
        head = db.session.get(ChainHead, 7)
        assert head.length == 3 and head.hash == rows[2]["hash"]
        problems = verify_case(7, EvidenceStore(app.config["EVIDENCE_DIR"])).problems
        assert any("chain is broken" in p for p in problems)
        with pytest.raises(Exception, match="append-only"):  # the triggers came back after the numbering
            db.session.execute(text("DELETE FROM event"))
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_two_owners_demoting_each_other_at_once_leave_one_owner(app, make_user, make_case):
    """The page of each owner was loaded before the other's change committed: the second must see it."""
    import threading

    from reportkit.models import Case
    from reportkit.services.cases import CaseError, set_role

    ana, ben = make_user("ana@example.org"), make_user("ben@example.org")
    case = make_case(ana, members=[(ben, "owner")])
    stale = {m.user_id: m for m in case.memberships}  # what Ana's request read
    assert [m.role for m in stale.values()] == ["owner", "owner"]

    def ben_demotes_ana():
        with app.app_context():
            fresh = db.session.get(Case, case.id)
            set_role(ben, fresh, next(m for m in fresh.memberships if m.user_id == ana.id), "editor")
            db.session.remove()

    thread = threading.Thread(target=ben_demotes_ana)
    thread.start()
    thread.join()
    with pytest.raises(CaseError, match="at least one owner"):
        set_role(ana, case, stale[ben.id], "editor")
    db.session.rollback()
    assert [m.role for m in db.session.get(Case, case.id).memberships if m.role == "owner"] == ["owner"]


def test_two_people_removing_one_thing_at_once_get_an_answer_not_a_500(app, make_user, make_case, make_entry, client,
                                                                      login):
    """The second request loaded the clause (or the member) before the first removed it."""
    from reportkit.services.cases import CaseError, remove_member
    from reportkit.services.entries import EntryError, add_violation, remove_violation

    owner, editor = make_user("ana@example.org"), make_user("ben@example.org")
    case = make_case(owner, members=[(editor, "editor")])
    entry = make_entry(case, editor)
    add_violation(editor, entry, "x/violent_content/violent_threats", "A threat.")
    stale_violation = entry.violations[0]
    stale_member = next(m for m in case.memberships if m.user_id == editor.id)

    def first_request():
        from reportkit.models import Case, Entry

        with app.app_context():
            fresh = db.session.get(Entry, entry.id)
            remove_violation(editor, fresh, fresh.violations[0])
            other = db.session.get(Case, case.id)
            remove_member(owner, other, next(m for m in other.memberships if m.user_id == editor.id))
            db.session.remove()

    import threading

    thread = threading.Thread(target=first_request)
    thread.start()
    thread.join()
    with pytest.raises(EntryError, match="removed from the entry a moment ago"):
        remove_violation(editor, entry, stale_violation)
    db.session.rollback()
    with pytest.raises(CaseError, match="removed a moment ago"):
        remove_member(owner, case, stale_member)
    db.session.rollback()


def test_downloads_are_recorded_once_a_minute_per_person_and_file(app, make_user, make_case, make_entry):
    from reportkit.services.evidence import record_download

    user = make_user()
    entry = make_entry(make_case(user), user)
    ev = add_evidence_file(user, entry, io.BytesIO(png_bytes()), "s.png", EvidenceStore(app.config["EVIDENCE_DIR"]),
                           Limits.from_config(app.config))
    for _ in range(20):  # a download manager's range requests, a viewer reloading
        record_download(user, ev)
    count = db.session.scalar(select(func.count(Event.id)).where(Event.action == "evidence.downloaded"))
    assert count == 1
