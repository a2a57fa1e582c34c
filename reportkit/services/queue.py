"""The job queue: Huey, with its storage in `instance/jobs.db` (SQLite) by default, or Redis or PostgreSQL by
`JOBS_URL`.

Every long job (a dossier or evidence package, an import, a verification) is a Huey task; its state and
progress stay on its database row (services/jobs.py). A consumer runs the tasks: `reportkit worker` on its
own, or, with `JOBS_IN_PROCESS` (the default), one started in the web process itself at the first job (or,
under `reportkit serve`, as a child process next to gunicorn). Each consumer process keeps a heartbeat on the
rows of the jobs it holds, and sweeps jobs whose heartbeat stopped (their worker died): see `Heartbeat`.
"""

import logging
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import Flask
from huey import Huey, SqliteHuey, crontab
from huey.consumer import Consumer

from ..config import ConfigError

log = logging.getLogger("reportkit.queue")

QUEUE_NAME = "reportkit"


def jobs_url(app: Flask) -> str:
    return app.config.get("JOBS_URL") or f"sqlite:///{Path(app.instance_path) / 'jobs.db'}"


def make_queue(app: Flask) -> Huey:
    """A Huey for this app, its tasks bound to it. `sqlite:///relative/or/absolute.db`, `redis://host:port/db`
    or `unix:///path/redis.sock` (Redis needs the `redis` package), `postgresql://user@host/database` (peewee)."""
    url = jobs_url(app)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else ""
        if not path:
            raise ConfigError(f"REPORTKIT_JOBS_URL is {url!r}: expected sqlite:///path/to/jobs.db")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(QUEUE_NAME, filename=path, results=False, utc=True)
    elif parts.scheme in ("redis", "rediss", "unix"):
        try:
            import redis  # noqa: F401 - only needed for this storage
            from huey import RedisHuey
        except ImportError as exc:
            raise ConfigError(f"REPORTKIT_JOBS_URL is a Redis URL but the redis package is missing "
                              f"(pip install redis): {exc}") from exc
        huey = RedisHuey(QUEUE_NAME, url=url, results=False, utc=True)
    elif parts.scheme in POSTGRES:
        huey = _postgres_queue(url)
    else:
        raise ConfigError(f"REPORTKIT_JOBS_URL is {_masked(url)!r}: expected sqlite:///path/to/jobs.db, "
                          "redis://host:port/0 or postgresql://user@host/database")
    _register_tasks(huey, app)
    return huey


POSTGRES = ("postgresql", "postgres", "postgresql+psycopg")


def _postgres_queue(url: str) -> Huey:
    """Huey's SQL storage (peewee) on PostgreSQL through psycopg 3, the driver the app uses: its tables `kv`,
    `schedule`, `task` and `counter` are made at the first start; workers take tasks with FOR UPDATE SKIP LOCKED.
    Give the queue a database of its own (e.g. `reportkit_jobs`): those table names are generic."""
    try:
        from huey.contrib.sql_huey import SqlHuey
        from playhouse.db_url import connect
    except ImportError as exc:
        raise ConfigError(f"REPORTKIT_JOBS_URL is a PostgreSQL URL but peewee is missing "
                          f"(pip install -e '.[postgres]'): {exc}") from exc
    database = connect("psycopg3://" + url.split("://", 1)[1])
    huey = SqlHuey(QUEUE_NAME, database=database, results=False, utc=True, create_tables=False)
    storage = huey.storage
    with database.connection_context(), database.atomic():  # processes starting at once: one makes the tables
        database.execute_sql("SELECT pg_advisory_xact_lock(hashtext('reportkit huey tables'))")
        database.create_tables([storage.KV, storage.Schedule, storage.Task, storage.Counter])
    return huey


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def describe(url: str) -> str:
    """A URL fit to print (no password)."""
    return _masked(url)


def _register_tasks(huey: Huey, app: Flask) -> None:
    from . import capture, digest, jobs, recheck

    tasks = {
        "dossier": huey.task(name="dossier")(lambda dossier_id: jobs.run_dossier(app, dossier_id)),
        "import": huey.task(name="import")(lambda import_id, actor_id: jobs.run_import_job(app, import_id, actor_id)),
        "verification": huey.task(name="verification")(
            lambda case_id, user_id: jobs.run_verification_job(app, case_id, user_id)),
        "sweep_storage": huey.task(name="sweep-storage")(lambda: jobs.sweep_storage(app)),
        "recheck": huey.task(name="recheck")(lambda entry_id, user_id: recheck.run_recheck_job(app, entry_id,
                                                                                              user_id)),
        "capture": huey.task(name="capture")(lambda capture_id: capture.run_capture_job(app, capture_id)),
    }
    # The queue's own scheduler: stalled jobs every minute (the heartbeat thread also sweeps every few
    # seconds), the evidence store's leftovers every six hours (and when a consumer starts).
    huey.periodic_task(crontab(), name="sweep-stalled")(lambda: jobs.sweep_stalled(app))
    huey.periodic_task(crontab(minute="17", hour="*/6"), name="sweep-storage-periodic")(
        lambda: jobs.sweep_storage(app))
    # Filed posts: is each still up? Hourly, each post at most every RECHECK_EVERY_HOURS (services/recheck.py).
    huey.periodic_task(crontab(minute="41"), name="recheck-due")(lambda: recheck.run_recheck_due(app))
    # Mondays 07:05 (the consumer's clock): a mail to each person with follow-ups, when mail is configured.
    huey.periodic_task(crontab(day_of_week="1", hour="7", minute="5"), name="follow-up-digest")(
        lambda: digest.run_digest(app))
    huey.reportkit_tasks = tasks


def queue_for(app: Flask) -> Huey:
    """The app's queue (made once per app)."""
    huey = app.extensions.get("reportkit.queue")
    if huey is None:
        with _lock:
            huey = app.extensions.get("reportkit.queue")
            if huey is None:
                huey = app.extensions["reportkit.queue"] = make_queue(app)
    return huey


def enqueue(app: Flask, name: str, *args) -> None:
    """Put a task on the queue; with JOBS_IN_PROCESS, make sure this process runs a consumer."""
    huey = queue_for(app)
    huey.reportkit_tasks[name](*args)
    if app.config["JOBS_IN_PROCESS"]:
        ensure_consumer(app)


_lock = threading.Lock()


class _Consumer(Consumer):
    """Huey's consumer; in a thread of the web process it leaves the signal handlers to the server."""

    def _set_signal_handlers(self):
        if threading.current_thread() is threading.main_thread():
            super()._set_signal_handlers()


class Heartbeat:
    """One per consumer process: every JOBS_HEARTBEAT seconds it moves the heartbeat (updated_at) of the rows
    of the jobs this process holds, and only those, then sweeps jobs whose heartbeat stopped."""

    def __init__(self, app: Flask, sweep: bool = True):
        self.app, self.sweep = app, sweep
        self.held: dict[tuple[str, int], int] = {}  # job -> how many holders (a package holds its dossier too)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reportkit-heartbeat", daemon=True)

    def hold(self, kind: str, job_id: int) -> None:
        with self._lock:
            self.held[kind, job_id] = self.held.get((kind, job_id), 0) + 1

    def release(self, kind: str, job_id: int) -> None:
        with self._lock:
            left = self.held.pop((kind, job_id), 1) - 1
            if left > 0:
                self.held[kind, job_id] = left

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        from . import jobs

        every = float(self.app.config["JOBS_HEARTBEAT"])
        while not self._stop.wait(every):
            with self._lock:
                held = sorted(self.held)
            try:
                jobs.beat(self.app, held)
                if self.sweep:
                    jobs.sweep_stalled(self.app)
            except Exception:  # noqa: BLE001 - the next beat tries again; a database restart must not end it
                self.app.logger.exception("job heartbeat failed")


def heartbeat_for(app: Flask) -> Heartbeat | None:
    return app.extensions.get("reportkit.heartbeat")


def start_consumer(app: Flask, workers: int = 1) -> Consumer:
    """Start the consumer's worker threads, its scheduler and this process's heartbeat; return the consumer
    (run `consumer.run()` in the main thread to block and handle signals, as `reportkit worker` does)."""
    huey = queue_for(app)
    heartbeat = app.extensions.setdefault("reportkit.heartbeat", Heartbeat(app))
    consumer = _Consumer(huey, workers=workers, worker_type="thread", periodic=True, initial_delay=0.1,
                         max_delay=1.0, scheduler_interval=1, check_worker_health=True)
    heartbeat.start()
    huey.reportkit_tasks["sweep_storage"]()  # a consumer that starts sweeps what killed ones left
    return consumer


def ensure_consumer(app: Flask) -> None:
    """The embedded consumer: one per app, in threads of this process, started at the first job."""
    if app.extensions.get("reportkit.consumer") is not None:
        return
    with _lock:
        if app.extensions.get("reportkit.consumer") is not None:
            return
        consumer = start_consumer(app, 1)
        consumer.start()
        app.extensions["reportkit.consumer"] = consumer


def stop_consumer(app: Flask, graceful: bool = True) -> None:
    """Stop the embedded consumer (tests, shutdown): running tasks finish first when graceful."""
    consumer = app.extensions.pop("reportkit.consumer", None)
    if consumer is not None:
        consumer.stop(graceful=graceful)
    heartbeat = app.extensions.pop("reportkit.heartbeat", None)
    if heartbeat is not None:
        heartbeat.stop()
    huey = app.extensions.pop("reportkit.queue", None)
    if huey is not None:
        huey.storage.close()
        pool = getattr(huey.storage, "pool", None)  # Redis: its connection pool
        if pool is not None:
            pool.disconnect()


def check_queue(app: Flask) -> int:
    """Reach the queue's storage; the number of tasks waiting (raises if it cannot be reached)."""
    return queue_for(app).pending_count()
