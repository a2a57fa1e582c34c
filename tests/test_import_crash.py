"""Bulk intake against its adversaries: a kill -9 half way through a real import (in another process), and two
imports of overlapping files into one case at the same time, with a person adding one of the posts meanwhile."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reportkit.extensions import db
from reportkit.models import Entry, Event, Import
from reportkit.models._common import utcnow
from reportkit.services import jobs
from reportkit.services.custody import verify_case
from reportkit.services.entries import DuplicateEntry, create_entry
from reportkit.services.intake import import_rows, read_table, resume_import
from reportkit.services.intake.run import BATCH
from reportkit.services.storage import EvidenceStore

WORKER = """
import json, sys
from reportkit import create_app
from reportkit.services import jobs
config, import_id, user_id = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
app = create_app(config)
with app.app_context():
    jobs.run_import(import_id, user_id, config["EVIDENCE_DIR"])
"""


@pytest.fixture
def setup(app, make_user, make_case):
    user = make_user()
    return user, make_case(user, accounts=[{"platform": "telegram", "handle": "leader_fa"}])


def csv_of(numbers) -> bytes:
    return ("url,text\n" + "".join(f"https://t.me/leader_fa/{n},post {n}\n" for n in numbers)).encode()


def queue(app, user, case, data: bytes) -> Import:
    sha, _ = EvidenceStore(app.config["EVIDENCE_DIR"]).put_bytes(data)
    job = Import(case_id=case.id, kind="csv", filename="rows.csv", file_sha256=sha,
                 mapping={"url": "url", "text": "text"}, status="queued", total=len(read_table(data)[1]),
                 created_by_id=user.id)
    db.session.add(job)
    db.session.commit()
    return job


def case_entries(case_id) -> list[Entry]:
    return list(db.session.scalars(select(Entry).where(Entry.case_id == case_id).order_by(Entry.number)))


def logged_numbers(case_id, action="import.batch") -> Counter:
    """How many times each entry number is named as created by the case's events of this kind."""
    events = db.session.scalars(select(Event).where(Event.case_id == case_id, Event.action == action))
    return Counter(n for ev in events for n in ev.data["created"])


def assert_consistent(app, case_id, *imports: Import) -> list[Entry]:
    """Whatever is committed carries its events, and each import's counts match its results and the case."""
    db.session.expire_all()
    entries = case_entries(case_id)
    urls = [e.canonical_url for e in entries]
    assert len(urls) == len(set(urls)), "a post is in the case twice"
    created = Counter()
    for job in imports:
        statuses = Counter(r["status"] for r in job.results)
        assert (job.created, job.duplicates, job.failed) == (statuses["created"], statuses["duplicate"],
                                                              statuses["invalid"] + statuses["error"])
        assert [r["line"] for r in job.results] == list(range(2, len(job.results) + 2))  # in order, none twice
        created.update(r["entry_number"] for r in job.results if r["status"] == "created")
    assert all(n == 1 for n in created.values()) and set(created) <= {e.number for e in entries}
    assert logged_numbers(case_id) == created  # every entry an import made is named by exactly one batch event
    report = verify_case(case_id, EvidenceStore(app.config["EVIDENCE_DIR"]))
    assert report.ok, report.problems
    return entries


def test_kill_9_half_way_leaves_committed_batches_with_their_events_and_resume_finishes(app, setup, tmp_path):
    user, case = setup
    rows = 3000
    job = queue(app, user, case, csv_of(range(1, rows + 1)))
    config = {k: app.config[k] for k in ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "EVIDENCE_DIR",
                                         "WTF_CSRF_ENABLED", "RATELIMIT_ENABLED", "DOSSIER_WORKERS")}
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(config), str(job.id), str(user.id)],
                                  stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    try:
        while db.session.scalar(select(func.count(Entry.id)).where(Entry.case_id == case.id)) < BATCH:
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline
            db.session.rollback()
            time.sleep(0.005)
    finally:
        os.kill(worker.pid, signal.SIGKILL)  # mid-way through the second batch, or later
        worker.wait()
    db.session.expire_all()
    assert job.status == "running" and 0 < job.created < rows, "the kill came too late to test anything"
    entries = assert_consistent(app, case.id, job)
    assert len(entries) == job.created == len(job.results) and job.created % BATCH == 0  # whole batches only
    assert not resume_import(user, job)  # it may still be running as far as anyone knows

    # The heartbeat (each batch's commit) stops; two minutes on, a page or the API shows it interrupted.
    assert jobs.expire_stalled(job, app.config["DOSSIER_TIMEOUT"]).status == "running"
    db.session.execute(Import.__table__.update().where(Import.id == job.id)
                       .values(updated_at=utcnow() - timedelta(seconds=jobs.GRACE_SECONDS + 30)))
    db.session.commit()
    jobs.expire_stalled(job, app.config["DOSSIER_TIMEOUT"])
    assert job.status == "interrupted" and job.resumable and "restarted" in job.error
    done_before = len(job.results)

    assert resume_import(user, job) and not resume_import(user, job)  # a second click finds it queued already
    resumed = db.session.scalars(select(Event).where(Event.action == "import.resumed")).all()
    assert [(e.actor_id, e.data["rows_done"]) for e in resumed] == [(user.id, done_before)]
    jobs.run_import(job.id, user.id, app.config["EVIDENCE_DIR"])
    db.session.expire_all()
    assert job.status == "done" and job.progress == 100 and not job.resumable
    assert (job.created, job.duplicates, job.failed, len(job.results)) == (rows, 0, 0, rows)
    assert job.attempt == 2 and job.results[done_before]["line"] == done_before + 2
    entries = assert_consistent(app, case.id, job)
    assert [e.post_id for e in entries] == [str(n) for n in range(1, rows + 1)]
    assert logged_numbers(case.id, "import.run") == Counter(range(1, rows + 1))


def test_two_imports_and_a_person_at_once_give_every_post_once(app, setup):
    user, case = setup
    first = queue(app, user, case, csv_of(range(1, 1201)))
    second = queue(app, user, case, csv_of(range(601, 1801)))  # 600 posts in both files
    ids = [first.id, second.id]
    start, errors = threading.Barrier(3), []

    def run_import(import_id):
        with app.app_context():
            try:
                start.wait()
                job = db.session.get(Import, import_id)
                headers, rows = read_table(EvidenceStore(app.config["EVIDENCE_DIR"]).path_for(job.file_sha256)
                                           .read_bytes())
                import_rows(db.session.get(type(user), user.id), job.case, job, headers, rows)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
            finally:
                db.session.remove()

    def add_by_hand():
        with app.app_context():
            try:
                start.wait()
                person, target = db.session.get(type(user), user.id), db.session.get(type(case), case.id)
                for n in (700, 1100, 1700, 1900):
                    try:
                        create_entry(person, target, f"https://t.me/leader_fa/{n}")
                    except DuplicateEntry:  # an import was first: what a person sees, never an IntegrityError
                        db.session.rollback()
                    time.sleep(0.05)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run_import, args=(i,)) for i in ids] + [threading.Thread(target=add_by_hand)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    jobs_ = [db.session.get(Import, i) for i in ids]
    entries = assert_consistent(app, case.id, *jobs_)
    assert all(j.status == "done" and len(j.results) == 1200 and j.failed == 0 for j in jobs_)
    assert sorted(int(e.post_id) for e in entries) == list(range(1, 1801)) + [1900]
    logged = logged_numbers(case.id)
    by_importers, by_hand = sum(j.created for j in jobs_), {e.id for e in entries if e.number not in logged}
    assert by_hand == set(db.session.scalars(select(Event.entry_id).where(Event.case_id == case.id,
                                                                           Event.action == "entry.created")))
    assert by_importers + len(by_hand) == len(entries) == 1801
    assert sum(j.duplicates for j in jobs_) == 2 * 1200 - by_importers  # every other row named a duplicate
    assert [e.number for e in entries] == list(range(1, len(entries) + 1))


def test_a_refused_row_leaves_nothing_behind(app, make_user, make_case):
    """A row refused for its archive link or a clause listed twice is reported, and no entry of it is kept
    (it used to be flushed with the batch: counts that did not match the case, or an IntegrityError)."""
    from reportkit.models import Entry, Import
    from reportkit.services.custody import verify_case
    from reportkit.services.intake import import_rows
    from reportkit.services.storage import EvidenceStore

    user = make_user()
    case = make_case(user)
    job = Import(case_id=case.id, kind="csv", created_by_id=user.id, status="queued",
                 mapping={"url": "url", "archive_url": "archive_url", "clause": "clause", "rationale": "rationale"})
    db.session.add(job)
    db.session.commit()
    k = "x/violent_content/violent_threats"
    rows = [["https://x.com/leader_en/status/1800000000000000001", "", "", ""],
            ["https://x.com/leader_en/status/1800000000000000002", "https://", "", ""],
            ["https://x.com/leader_en/status/1800000000000000003", "", f"{k};{k}", "A threat."]]
    import_rows(user, case, job, ["url", "archive_url", "clause", "rationale"], rows)
    assert [r["status"] for r in job.results] == ["created", "invalid", "invalid"]
    assert "listed twice" in job.results[2]["reason"]
    assert job.created == 1 == db.session.query(Entry).filter_by(case_id=case.id).count()
    assert verify_case(case.id, EvidenceStore(app.config["EVIDENCE_DIR"])).ok
