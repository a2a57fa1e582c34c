"""What failures leave behind is found and removed: staging files of a killed upload, bytes stored by a
request killed before its row, scratch folders; renderers die with their job; removers wait for writers."""

import hashlib
import io
import json
import multiprocessing.forkserver
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from reportkit.extensions import db
from reportkit.models import Dossier, Entry, Evidence
from reportkit.services import jobs
from reportkit.services.custody import verify_case
from reportkit.services.dossier.job import DossierOptions, build_dossier, create_dossier
from reportkit.services.dossier.pipeline import _Runner
from reportkit.services.evidence import Limits, add_evidence_file, purge_evidence
from reportkit.services.package import build_package
from reportkit.services.storage import EvidenceStore, temp_root

from .conftest import png_bytes
from .test_dossier import case_with_entries  # noqa: F401  (fixture)

TWO_DAYS = 48 * 3600


def age(*paths: Path, seconds: float = TWO_DAYS) -> None:
    when = time.time() - seconds
    for path in paths:
        os.utime(path, (when, when))


def pdf_bytes() -> bytes:
    return b"%PDF-1.7\n" + os.urandom(1024).hex().encode() + b"\n%%EOF\n"


@pytest.fixture
def store(app) -> EvidenceStore:
    return EvidenceStore(app.config["EVIDENCE_DIR"])


def test_gc_lists_with_dry_run_and_removes_only_old_files_no_row_uses(app, store, runner, make_user, make_case,
                                                                       make_entry):
    user = make_user()
    case = make_case(user)
    ev = add_evidence_file(user, make_entry(case, user), io.BytesIO(png_bytes()), "s.png", store,
                           Limits.from_config(app.config))
    dossier_sha, _ = store.put_bytes(b"%PDF a dossier")
    db.session.add(Dossier(case_id=case.id, document_id="RK-GC-1", status="done", sha256=dossier_sha))
    db.session.commit()
    orphan, orphan_path = store.put_bytes(b"bytes whose request died before its row")  # 39 bytes
    young, _ = store.put_bytes(b"bytes whose request is still running")  # 36 bytes
    (store.root / "tmp").mkdir(exist_ok=True)
    staged_old, staged_young = store.root / "tmp" / "in-killed", store.root / "tmp" / "in-running"
    staged_old.write_bytes(b"x" * 100)
    staged_young.write_bytes(b"y" * 10)
    scratch_old, scratch_young = temp_root(app) / "rk-pdf-killed", temp_root(app) / "rk-pdf-running"
    for folder in (scratch_old, scratch_young):
        folder.mkdir(parents=True)
        (folder / "d.pdf").write_bytes(b"%PDF" * 250)
    age(store.path_for(ev.sha256), store.path_for(ev.print_copy.sha256), store.path_for(dossier_sha), orphan_path,
        staged_old, scratch_old / "d.pdf", scratch_old)

    result = runner.invoke(args=["gc", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"would remove unreferenced: {orphan_path} (39 bytes)" in lines
    assert f"would remove staging: {staged_old} (100 bytes)" in lines
    assert f"would remove temp: {scratch_old} (1000 bytes)" in lines
    assert lines[-1] == "3 item(s), 1139 bytes would be freed (dry run: nothing removed)."
    assert orphan_path.exists() and staged_old.exists() and scratch_old.exists()

    result = runner.invoke(args=["gc"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "3 item(s), 1139 bytes freed."
    assert not store.exists(orphan) and not staged_old.exists() and not scratch_old.exists()
    assert not orphan_path.parent.exists()  # its empty folders go too
    for sha in (ev.sha256, ev.print_copy.sha256, dossier_sha, young):  # used by a row, or younger than the grace
        assert store.exists(sha)
    assert staged_young.exists() and scratch_young.exists()
    assert verify_case(case.id, store).ok
    assert runner.invoke(args=["gc", "--grace", "0"]).output.splitlines()[-1] == "3 item(s), 1046 bytes freed."
    assert store.exists(ev.sha256) and not store.exists(young)


def test_a_kill_during_staging_leaves_a_file_that_gc_removes(app, store, runner):
    script = """
import sys, time
from reportkit.services.storage import EvidenceStore

class SlowClient:
    def __init__(self):
        self.reads = 0

    def read(self, size=-1):
        self.reads += 1
        if self.reads > 2:
            time.sleep(120)
        return b"x" * 1024

EvidenceStore(sys.argv[1]).stage(SlowClient())
"""
    upload = subprocess.Popen([sys.executable, "-c", script, str(store.root)])
    try:
        deadline = time.monotonic() + 30
        while not list((store.root / "tmp").glob("in-*")):
            assert time.monotonic() < deadline and upload.poll() is None
            time.sleep(0.05)
    finally:
        upload.kill()  # kill -9 half way through an upload
        upload.wait()
    [left] = list((store.root / "tmp").glob("in-*"))
    assert runner.invoke(args=["gc"]).output.splitlines()[-1] == "0 item(s), 0 bytes freed."  # may be running
    age(left)
    assert f"removed staging: {left}" in runner.invoke(args=["gc"]).output
    assert not left.exists()


def test_a_kill_between_the_bytes_and_the_row_leaves_bytes_that_gc_removes(app, store, runner, make_user,
                                                                          make_case, make_entry):
    user = make_user()
    entry = make_entry(make_case(user), user)
    data = pdf_bytes()
    config = {key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "EVIDENCE_DIR", "SECRET_KEY")}
    script = """
import io, json, sys
from reportkit import create_app
from reportkit.extensions import db
from reportkit.models import Entry, User
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore

config, user_id, entry_id = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
app = create_app({"TESTING": True, **config})
with app.app_context():
    add_evidence_file(db.session.get(User, user_id), db.session.get(Entry, entry_id),
                      io.BytesIO(sys.stdin.buffer.read()), "x.pdf", EvidenceStore(config["EVIDENCE_DIR"]),
                      Limits.from_config(app.config))
"""
    db_path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN")  # a reader: the upload's commit waits for it; its bytes are stored by then
    blocker.execute("SELECT count(*) FROM evidence").fetchall()
    sha = hashlib.sha256(data).hexdigest()
    upload = subprocess.Popen([sys.executable, "-c", script, json.dumps(config), str(user.id), str(entry.id)],
                              stdin=subprocess.PIPE)
    try:
        upload.stdin.write(data)
        upload.stdin.close()
        deadline = time.monotonic() + 30
        while not store.exists(sha):
            assert time.monotonic() < deadline and upload.poll() is None
            time.sleep(0.02)
    finally:
        upload.kill()  # kill -9 after the bytes, before the row
        upload.wait()
        blocker.execute("ROLLBACK")
        blocker.close()
    assert db.session.scalars(select(Evidence)).all() == []
    result = runner.invoke(args=["gc", "--grace", "0"])
    assert f"removed unreferenced: {store.path_for(sha)}" in result.output
    assert not store.exists(sha) and not list((store.root / "tmp").glob("in-*"))


def test_a_purge_waits_for_a_request_that_is_storing_the_same_bytes(app, store, make_user, make_case, make_entry):
    """Two requests at once: the purge finds the bytes unused, but another team's upload of the same bytes has
    stored them (found them there) and is about to commit its row. The purge must not remove them under it."""
    owner, other = make_user("owner@example.org"), make_user("other@example.org")
    limits = Limits.from_config(app.config)
    data = pdf_bytes()
    mine = add_evidence_file(owner, make_entry(make_case(owner), owner), io.BytesIO(data), "a.pdf", store, limits)
    their_entry = make_entry(make_case(other, title="Theirs"), other, url="https://t.me/other/5")
    stored, purging, errors = threading.Event(), threading.Event(), []

    def their_upload(entry_id: int, user_id: int) -> None:
        with app.app_context():
            try:
                staged = store.stage(io.BytesIO(data))
                with store.writing():
                    store.commit(staged)  # already there: kept, touched
                    stored.set()
                    purging.wait(10)
                    time.sleep(0.3)  # the purge is now waiting for this request
                    entry = db.session.get(Entry, entry_id)
                    db.session.add(Evidence(entry=entry, kind="pdf", sha256=staged.sha256, size=len(data),
                                            mime="application/pdf", uploaded_by_id=user_id))
                    db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    thread = threading.Thread(target=their_upload, args=(their_entry.id, other.id))
    thread.start()
    assert stored.wait(10)
    purging.set()
    purge_evidence(owner, mine, "Private data.", store)
    thread.join(10)
    assert not errors
    assert store.exists(mine.sha256)  # their row uses it: kept
    assert db.session.scalar(select(Evidence).where(Evidence.entry_id == their_entry.id)).sha256 == mine.sha256


def _scratch_in_system_tmp() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).iterdir()
            if p.name.startswith(("rk-pdf-", "rk-dossier-", "rk-package-"))}


def test_dossier_and_package_scratch_lives_in_the_instance_owner_only_and_is_removed(app, case_with_entries):  # noqa: F811
    user, case, _ = case_with_entries
    root, seen, before = temp_root(app), [], _scratch_in_system_tmp()

    def look(stage: str, percent: int) -> None:
        if root.exists():  # from the first part on
            folders = [p for p in root.rglob("*") if p.is_dir()]
            seen.extend((p.relative_to(root).as_posix(), oct(p.stat().st_mode & 0o777)) for p in folders)
            seen.append((".", oct(root.stat().st_mode & 0o777)))
        if stage == "merging the parts" and fail:
            raise RuntimeError("the job died here")

    fail = False
    build_dossier(create_dossier(user, case, DossierOptions(approved_only=False)), app.config["EVIDENCE_DIR"],
                  workers=0, on_progress=look)
    assert {mode for _, mode in seen} == {"0o700"}
    assert any(name.startswith("rk-pdf-") and "/parts-" in name for name, _ in seen)
    assert list(root.iterdir()) == []
    fail = True
    with pytest.raises(RuntimeError, match="the job died here"):
        build_dossier(create_dossier(user, case, DossierOptions(approved_only=False)), app.config["EVIDENCE_DIR"],
                      workers=0, on_progress=look)
    assert list(root.iterdir()) == []
    build_package(create_dossier(user, case, DossierOptions(approved_only=False), with_package=True),
                  app.config["EVIDENCE_DIR"], app.config)
    assert list(root.iterdir()) == []
    assert _scratch_in_system_tmp() <= before  # nothing of ours in the shared /tmp


def _renderers() -> set[int]:
    """Live (not zombie) children of this process's forkserver: the render workers."""
    server = multiprocessing.forkserver._forkserver._forkserver_pid
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == server and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_render_workers_do_not_outlive_a_failed_job():
    with pytest.raises(TimeoutError):
        with _Runner(2, timeout=1, work=time.sleep) as run:
            pending = run.submit([(60,), (60,), (60,)])
            pids = set(run.pool._processes)
            run.collect(pending)
    assert pids and not any(_alive(pid) for pid in pids)
    assert _renderers() == set()  # nor one started to replace them


def test_render_workers_exit_when_the_job_process_is_killed():
    script = """
import time
from reportkit.services.dossier.pipeline import _Runner

run = _Runner(2, 600, work=time.sleep).__enter__()
run.submit([(120,), (120,)])
print(" ".join(map(str, run.pool._processes)), flush=True)
time.sleep(600)
"""
    job = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = {int(pid) for pid in job.stdout.readline().split()}
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    finally:
        job.kill()  # the server is killed (or restarted) while its job renders
        job.wait()
        job.stdout.close()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, "render workers outlived their job"
        time.sleep(0.1)


def test_the_job_queue_sweeps_when_a_consumer_starts_and_on_its_schedule(app):
    from reportkit.services.queue import queue_for, start_consumer, stop_consumer

    stale = temp_root(app) / "rk-pdf-from-a-killed-job"
    stale.mkdir(parents=True)
    (stale / "d.pdf").write_bytes(b"%PDF")
    age(stale / "d.pdf", stale)
    consumer = start_consumer(app)  # a consumer that starts queues a sweep of what killed ones left
    consumer.start()
    try:
        deadline = time.monotonic() + 60
        while stale.exists():
            assert time.monotonic() < deadline, "the sweep did not run"
            time.sleep(0.05)
    finally:
        stop_consumer(app)
    periodic = {task.__name__ for task in queue_for(app)._registry._periodic_tasks}
    assert {"sweep-stalled", "sweep-storage-periodic"} <= set(periodic)
    stale.mkdir()
    age(stale)
    jobs.sweep_storage(app)  # what the periodic task runs
    assert not stale.exists()
    stop_consumer(app)
