"""The job queue with real processes: `reportkit worker` runs dossiers; a worker killed mid-dossier (SIGKILL)
leaves a job that another worker's sweeper reports failed with its reason, its partial files removed, within
seconds; a finished job run twice does nothing; /healthz and /readyz; `reportkit serve` with two gunicorn
workers sharing one secret key."""

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from reportkit.extensions import db
from reportkit.models import Dossier, Event
from reportkit.services import jobs
from reportkit.services.dossier.job import DossierOptions, create_dossier
from reportkit.services.entries import add_violation, create_entry
from reportkit.services.storage import temp_root

from .conftest import PASSWORD
from .test_dossier import case_with_entries  # noqa: F401  (fixture)

REPORTKIT = [sys.executable, "-c", "from reportkit.cli import main; main()"]


def process_env(app, **extra) -> dict:
    """A worker or server process on this test's database, evidence store and instance folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTKIT_")}
    env.update({"REPORTKIT_INSTANCE_PATH": app.instance_path,
                "REPORTKIT_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                "REPORTKIT_EVIDENCE_DIR": app.config["EVIDENCE_DIR"],
                "REPORTKIT_ANCHOR_LOG": app.config["ANCHOR_LOG"],
                "REPORTKIT_DOSSIER_WORKERS": "0",
                "REPORTKIT_JOBS_HEARTBEAT": "1", "REPORTKIT_JOBS_STALLED_AFTER": "8"})  # 8 heartbeats: a loaded
    # machine must not take a live render for dead (the stack test saw it at 0.5 s / 3 s)
    env.update({f"REPORTKIT_{k}": str(v) for k, v in extra.items()})
    return env


def start_worker(app, log: Path, **extra) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen([*REPORTKIT, "worker"], env=process_env(app, **extra), stdout=out,
                                stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen, sig=signal.SIGINT) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for(condition, what: str, timeout: float = 90.0, proc: subprocess.Popen | None = None,
             log: Path | None = None):
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()  # see what the other processes committed
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the worker exited while waiting for {what}: {log.read_text() if log else ''}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {log.read_text() if log else ''}"
        time.sleep(0.05)


def queued_dossier(app, user, case) -> Dossier:
    app.config["JOBS_IN_PROCESS"] = False  # this test process only queues: the worker processes run the jobs
    dossier = create_dossier(user, case, DossierOptions(approved_only=False))
    jobs.start_dossier(app, dossier.id)
    return dossier


def test_a_worker_process_runs_a_dossier_and_a_finished_job_run_twice_does_nothing(
        app, case_with_entries, tmp_path):  # noqa: F811
    user, case, _ = case_with_entries
    dossier = queued_dossier(app, user, case)
    log = tmp_path / "worker.log"
    worker = start_worker(app, log)
    try:
        wait_for(lambda: db.session.get(Dossier, dossier.id).status in ("done", "failed"), "the dossier", proc=worker,
                 log=log)
    finally:
        stop(worker)
    db.session.refresh(dossier)
    assert dossier.status == "done", dossier.error
    assert dossier.pages > 1 and len(dossier.sha256) == 64
    assert worker.returncode == 0, log.read_text()  # Ctrl-C: a clean stop

    before = (dossier.sha256, dossier.finished_at, dossier.seconds, dossier.updated_at)
    events = db.session.scalar(select(func.count(Event.id)).where(Event.case_id == case.id))
    jobs.run_dossier(app, dossier.id)  # the task delivered again (a retry, a duplicate message)
    db.session.expire_all()
    assert (dossier.sha256, dossier.finished_at, dossier.seconds, dossier.updated_at) == before
    assert db.session.scalar(select(func.count(Event.id)).where(Event.case_id == case.id)) == events


def test_a_worker_killed_mid_dossier_its_job_fails_with_the_reason_within_seconds(
        app, case_with_entries, tmp_path):  # noqa: F811
    user, case, _ = case_with_entries
    hold = tmp_path / "hold"
    hold.write_text("the renderer waits while this file exists")
    dossier = queued_dossier(app, user, case)
    first_log, second_log = tmp_path / "worker-1.log", tmp_path / "worker-2.log"
    first = start_worker(app, first_log, JOBS_HOLD_FILE=hold)
    second = None
    try:
        wait_for(lambda: Path(f"{hold}.reached").exists(), "the render to start", proc=first, log=first_log)
        partial = list(temp_root(app).glob(f"rk-pdf-{dossier.document_id}-*"))
        assert len(partial) == 1 and partial[0].is_dir()
        # Another worker runs too (its sweeper every heartbeat); it must leave a job whose worker lives alone.
        second = start_worker(app, second_log)
        wait_for(lambda: "worker(s) on" in second_log.read_text(), "the second worker", proc=second, log=second_log)
        beat = db.session.get(Dossier, dossier.id).updated_at
        wait_for(lambda: db.session.get(Dossier, dossier.id).updated_at > beat, "a heartbeat", proc=first,
                 log=first_log)
        time.sleep(9)  # longer than JOBS_STALLED_AFTER: the heartbeat keeps it alive
        db.session.refresh(dossier)
        assert dossier.status == "running"
        assert jobs.expire_stalled(dossier, app.config["DOSSIER_TIMEOUT"]).status == "running"
    finally:
        os.kill(first.pid, signal.SIGKILL)
        killed = time.monotonic()
        first.wait()
    hold.unlink()
    try:
        wait_for(lambda: db.session.get(Dossier, dossier.id).status != "running", "the sweeper", timeout=30,
                 proc=second, log=second_log)
        elapsed = time.monotonic() - killed
    finally:
        if second is not None:
            stop(second)
    db.session.refresh(dossier)
    assert dossier.status == "failed" and dossier.stage == "interrupted"
    assert "the worker running it stopped (no heartbeat for" in dossier.error
    assert not partial[0].exists()  # its partial files are removed
    assert dossier.sha256 is None and dossier.finished_at is not None
    # heartbeat 1 s, lost after 8 s: seconds, never half an hour (bench/worker_death.py measures it)
    assert elapsed < 25, elapsed
    assert f"dossier {dossier.id}" in second_log.read_text()  # the sweeper says what it did


def test_health_and_readiness(app, make_app, client, tmp_path):
    assert client.get("/healthz").json == {"status": "ok"}
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.json == {"status": "ok", "database": "ok", "queue": "ok", "store": "ok"}

    broken = make_app(EVIDENCE_DIR=str(tmp_path / "no" / "such" / "folder"),
                      JOBS_URL=f"sqlite:///{tmp_path / 'a-file'}/jobs.db")
    (tmp_path / "a-file").write_text("not a folder")
    resp = broken.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.json == {"status": "failed", "database": "ok", "queue": "failed", "store": "failed"}
    assert str(tmp_path) not in resp.get_data(as_text=True)  # no paths or error texts for anonymous callers
    assert broken.test_client().post("/readyz").status_code == 405


def test_doctor_says_what_is_configured_and_reachable(app, runner):
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 0, result.output
    assert "job queue:        sqlite:///" in result.output and "jobs.db" in result.output
    for part in ("database", "queue", "store"):
        assert re.search(rf"^{part}:\s+reachable$", result.output, re.M), result.output
    app.config["JOBS_URL"] = "ftp://example.org/queue"
    app.extensions.pop("reportkit.queue", None)
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 1 and re.search(r"^queue:\s+NOT reachable: ConfigError", result.output, re.M)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_two_gunicorn_workers_sharing_one_secret_key(app, make_user, tmp_path):
    user = make_user()
    assert not (Path(app.instance_path) / "secret_key").exists()  # the served app makes its own, once
    port = _free_port()
    env = process_env(app, WTF_CSRF_ENABLED="false", RATELIMIT_ENABLED="false")
    env["GUNICORN_CMD_ARGS"] = "--access-logfile - --access-logformat 'served-by=%(p)s %(m)s %(U)s %(s)s'"
    server = subprocess.Popen([*REPORTKIT, "serve", "--workers", "2", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(server.stdout.readline, "")), daemon=True)
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=30) as resp:
                    assert json.load(resp) == {"status": "ok"}
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert server.poll() is None and time.monotonic() < deadline, "".join(lines)
                time.sleep(0.2)
        with urllib.request.urlopen(f"{base}/readyz", timeout=10) as resp:
            assert json.load(resp)["status"] == "ok"
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        form = urllib.parse.urlencode({"email": user.email, "password": PASSWORD}).encode()
        with browser.open(f"{base}/auth/login", data=form, timeout=10) as resp:  # follows the redirect
            assert resp.status == 200 and resp.url.endswith("/cases/"), resp.url
        # Each request on a new connection: one of the two workers takes it. Signed in on one, every page on
        # the other works too (one secret key, the sessions in the database).
        pids: set[str] = set()
        for _ in range(200):
            with browser.open(f"{base}/cases/", timeout=10) as resp:
                assert resp.status == 200 and resp.url.endswith("/cases/") and b"Your cases" in resp.read()
            pids = set(re.findall(r"served-by=<(\d+)> GET /cases/ 200", "".join(lines)))
            if len(pids) == 2:
                break
        assert len(pids) == 2, "".join(lines)
        assert len((Path(app.instance_path) / "secret_key").read_text().strip()) == 64

        # A reload (a deploy: SIGHUP) replaces the web workers and leaves the job consumer alone.
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        consumer = [pid for pid in children if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]
        assert len(consumer) == 1, children
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while len(set(re.findall(r"Booting worker with pid: (\d+)", "".join(lines))) - pids) < 2:
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        with browser.open(f"{base}/cases/", timeout=30) as resp:
            assert resp.status == 200 and resp.url.endswith("/cases/")
        assert consumer[0] in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    finally:
        stop(server, signal.SIGTERM)
        reader.join(timeout=10)
        server.stdout.close()
    assert server.returncode == 0, "".join(lines)


@pytest.fixture
def redis_url(tmp_path):
    """A throwaway Debian redis-server on a Unix socket (owner-only), no port, nothing saved."""
    sock = tmp_path / "redis.sock"
    server = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
                               "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not sock.exists():
        assert server.poll() is None and time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    yield f"unix://{sock}?db=0"
    server.terminate()
    server.wait(timeout=20)


def test_jobs_run_on_a_redis_queue(make_app, redis_url, make_user, make_case, tmp_path):
    from reportkit.services.queue import describe, queue_for

    app = make_app(JOBS_URL=redis_url)
    with app.app_context():
        assert type(queue_for(app)).__name__ == "RedisHuey" and describe(redis_url) == redis_url
        resp = app.test_client().get("/readyz")
        assert resp.status_code == 200 and resp.json["queue"] == "ok"
        user = make_user()
        case = make_case(user)
        entry = create_entry(user, case, "https://x.com/leader_en/status/1453347171011694596", {"text": "t"})
        add_violation(user, entry, "x/violent_content/violent_threats", "Calls for harm.")
        dossier = create_dossier(user, case, DossierOptions(approved_only=False))
        jobs.start_dossier(app, dossier.id)  # the embedded consumer, its queue in Redis
        wait_for(lambda: db.session.get(Dossier, dossier.id).status in ("done", "failed"), "the dossier")
        db.session.refresh(dossier)
        assert dossier.status == "done", dossier.error
        db.session.remove()
    broken = make_app(JOBS_URL=f"unix://{tmp_path / 'no-such.sock'}?db=0")
    assert broken.test_client().get("/readyz").json["queue"] == "failed"


def test_a_worker_runs_a_dossier_from_a_postgresql_queue(app, case_with_entries, tmp_path):  # noqa: F811
    """JOBS_URL=postgresql://...: Huey's SQL storage (peewee, psycopg 3); a separate worker takes the task."""
    from reportkit.services.queue import queue_for, stop_consumer

    from .postgres import Server

    user, case, _ = case_with_entries
    pg = Server().start()
    try:
        url = pg.create_database("rk_jobs")
        app.config["JOBS_URL"] = url
        stop_consumer(app)  # the app's queue is made again from the new setting
        dossier = queued_dossier(app, user, case)
        huey = queue_for(app)
        assert type(huey.storage).__name__ == "SqlStorage" and huey.pending_count() == 1  # waiting in PostgreSQL
        assert app.test_client().get("/readyz").json["queue"] == "ok"
        log = tmp_path / "worker.log"
        worker = start_worker(app, log, JOBS_URL=url)
        try:
            wait_for(lambda: db.session.get(Dossier, dossier.id).status in ("done", "failed"), "the dossier",
                     proc=worker, log=log)
        finally:
            stop(worker)
        db.session.refresh(dossier)
        assert dossier.status == "done", dossier.error
        # (the queue itself need not be empty: a starting worker queues a storage sweep, its scheduler periodic tasks)
        assert "worker(s) on postgresql+psycopg://postgres@/rk_jobs" in log.read_text()
    finally:
        stop_consumer(app)
        pg.stop()
