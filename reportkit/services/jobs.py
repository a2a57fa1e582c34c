"""Background jobs: dossiers (and evidence packages), imports and verifications, run by the job queue.

`start_*` put a task on the queue (services/queue.py: Huey); a consumer runs it: `reportkit worker`, or the
one embedded in the web process (`JOBS_IN_PROCESS`). A job's state and progress live on its database row, so
any page or API client can follow it, whichever process runs it.

- A task first claims its row with one conditional UPDATE (queued -> running): a task delivered twice, or a
  job already done, failed or taken by another worker, does nothing.
- While a worker holds a job, its heartbeat thread moves the row's heartbeat (updated_at) every
  JOBS_HEARTBEAT seconds; nothing else does. A running job whose heartbeat is older than JOBS_STALLED_AFTER
  lost its worker (kill -9, a crash, a machine gone): the sweeper marks it failed with the reason (an import:
  interrupted, resumable) and removes its partial files. A queued job no worker took for longer than any
  job may run is reported the same way (no worker running?).
"""

import shutil
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import func, or_, select, update

from ..extensions import db
from ..models import Dossier, Import
from ..models._common import utcnow
from . import queue

GRACE_SECONDS = 120  # on top of DOSSIER_TIMEOUT, the longest a queued job may wait for a worker


def _stalled_after(app: Flask) -> float:
    return float(app.config["JOBS_STALLED_AFTER"])


def expire_stalled(job: Dossier | Import, timeout: float) -> Dossier | Import:
    """Mark a job failed (an import: interrupted) when its worker stopped: running with no heartbeat for
    JOBS_STALLED_AFTER seconds, or queued for longer than `timeout` + GRACE_SECONDS.

    One conditional UPDATE: a page that read the row a moment before the job finished must not overwrite
    "done" with "failed" (a read-modify-write in Python did)."""
    if job.status not in ("queued", "running"):
        return job
    limit = _stalled_after(current_app) if job.status == "running" else timeout + GRACE_SECONDS
    quiet = (utcnow() - (job.updated_at or job.created_at)).total_seconds()
    if quiet <= limit:
        return job
    if job.status == "running":
        reason = (f"Interrupted: the worker running it stopped (no heartbeat for {int(quiet)} seconds); the server "
                  "may have restarted. Start it again.")
    else:
        reason = (f"Interrupted: no worker took it in {int(quiet // 60)} minutes (the server may have restarted, "
                  "or no worker is running). Start it again.")
    if isinstance(job, Import):
        from .intake import stop_import

        stop_import(job.id, job.attempt, "interrupted", reason, (job.status,),
                    before=utcnow() - timedelta(seconds=limit))
    else:
        cutoff = utcnow() - timedelta(seconds=limit)
        stopped = db.session.execute(update(Dossier).where(
            Dossier.id == job.id, Dossier.status == job.status,
            func.coalesce(Dossier.updated_at, Dossier.created_at) < cutoff).values(
            status="failed", stage="interrupted", error=reason, finished_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if stopped:
            remove_partial_files(current_app, job.document_id)
    db.session.refresh(job)
    return job


def remove_partial_files(app: Flask, document_id: str) -> list[Path]:
    """The scratch folders a killed dossier or package job left (named after its document id)."""
    from .storage import temp_root

    root, removed = temp_root(app), []
    for prefix in ("rk-pdf-", "rk-package-"):
        for path in root.glob(f"{prefix}{document_id}-*") if root.is_dir() else ():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def sweep_stalled(app: Flask) -> int:
    """The sweeper (a periodic task, and every heartbeat): expire every job whose worker stopped."""
    with app.app_context():
        try:
            running_cutoff = utcnow() - timedelta(seconds=_stalled_after(app))
            count = 0
            for model in (Dossier, Import):
                timeout = job_timeout(app, model)
                queued_cutoff = utcnow() - timedelta(seconds=timeout + GRACE_SECONDS)
                beat = func.coalesce(model.updated_at, model.created_at)
                for job in db.session.scalars(select(model).where(or_(
                        (model.status == "running") & (beat < running_cutoff),
                        (model.status == "queued") & (beat < queued_cutoff)))).all():
                    if expire_stalled(job, timeout).status not in ("queued", "running"):
                        app.logger.warning("%s %s: %s", model.__name__.lower(), job.id, job.error)
                        count += 1
            return count
        finally:
            db.session.remove()


def job_timeout(app: Flask, kind: type[Dossier] | type[Import]) -> float:
    """Each kind of job its own setting: DOSSIER_TIMEOUT (dossiers and packages), IMPORT_TIMEOUT (imports)."""
    return float(app.config["IMPORT_TIMEOUT"] if kind is Import else app.config["DOSSIER_TIMEOUT"])


def beat(app: Flask, held: list[tuple[str, int]]) -> None:
    """The heartbeat of the jobs this worker holds, and of no other row."""
    if not held:
        return
    with app.app_context():
        try:
            for kind, model in (("dossier", Dossier), ("import", Import)):
                ids = [job_id for k, job_id in held if k == kind]
                if ids:
                    db.session.execute(update(model).where(model.id.in_(ids), model.status == "running")
                                       .values(updated_at=utcnow()).execution_options(synchronize_session=False))
            db.session.commit()
        finally:
            db.session.remove()


@contextmanager
def holding(app: Flask, kind: str, job_id: int):
    """While a job runs here, this process's heartbeat holds its row: a consumer's, or, in a process that is
    none (`reportkit export-dossier`, `reportkit import`), a heartbeat thread of its own for the while."""
    heartbeat = queue.heartbeat_for(app)
    own = heartbeat is None
    if own:
        heartbeat = queue.Heartbeat(app, sweep=False)
        heartbeat.start()
    heartbeat.hold(kind, job_id)
    try:
        yield
    finally:
        heartbeat.release(kind, job_id)
        if own:
            heartbeat.stop()


def sweep_storage(app: Flask) -> None:
    """The periodic sweep of the evidence store (`reportkit gc`): when a consumer starts, then every 6 hours."""
    from .evidence import DEFAULT_GRACE_HOURS, collect_garbage
    from .storage import app_store, temp_root

    with app.app_context():
        try:
            removed = collect_garbage(app_store(app), temp_root(app), DEFAULT_GRACE_HOURS)
            if removed:
                app.logger.info("gc: removed %d item(s), %d bytes", len(removed), sum(g.size for g in removed))
        except Exception:  # noqa: BLE001 - log for the operator; the next sweep tries again
            app.logger.exception("gc sweep failed")
        finally:
            db.session.remove()


def start_dossier(app: Flask, dossier_id: int) -> None:
    queue.enqueue(app, "dossier", dossier_id)


def claim_dossier(dossier_id: int) -> bool:
    """Take a queued dossier job (queued -> running) in one conditional UPDATE; False: not ours to run."""
    taken = db.session.execute(update(Dossier).where(Dossier.id == dossier_id, Dossier.status == "queued").values(
        status="running", stage="starting", updated_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(taken)


def run_dossier(app: Flask, dossier_id: int) -> None:
    """The dossier task (with its evidence package when asked for)."""
    from .dossier.job import build_dossier
    from .package import build_package
    from .storage import app_store

    with app.app_context():
        try:
            if not claim_dossier(dossier_id):
                app.logger.info("dossier %s is not queued: nothing to do", dossier_id)
                return
            with holding(app, "dossier", dossier_id):
                dossier = db.session.get(Dossier, dossier_id)
                if dossier.with_package:
                    build_package(dossier, app_store(app), app.config)
                else:
                    build_dossier(dossier, app_store(app), app.config["DOSSIER_WORKERS"],
                                  app.config["DOSSIER_TIMEOUT"], on_progress=_test_hold(app))
        except Exception:  # noqa: BLE001 - recorded on the row by build_dossier; log for the operator
            app.logger.exception("dossier %s failed", dossier_id)
        finally:
            db.session.remove()


def _test_hold(app: Flask):
    """Tests only (JOBS_HOLD_FILE): once rendering has started, write `<file>.reached` and wait while the
    file exists, so a test can kill the worker at a known point of a job."""
    hold = app.config.get("JOBS_HOLD_FILE")
    if not hold:
        return None
    hold = Path(hold)

    def wait(stage: str, percent: int) -> None:
        if stage == "collecting entries":
            return
        Path(f"{hold}.reached").write_text(stage)
        while hold.exists():
            time.sleep(0.05)
    return wait


def start_import(app: Flask, import_id: int, actor_id: int) -> None:
    """Run a queued import (new or resumed) as the user who started it."""
    queue.enqueue(app, "import", import_id, actor_id)


def run_import_job(app: Flask, import_id: int, actor_id: int) -> None:
    """The import task: `import_rows` claims the job (queued -> running, a new attempt) or does nothing."""
    from .intake import Superseded
    from .storage import app_store

    with app.app_context():
        try:
            with holding(app, "import", import_id):
                run_import(import_id, actor_id, app_store(app))
        except Superseded as exc:  # another run has the job, or it is not queued: nothing to do
            app.logger.info("%s", exc)
        except Exception:  # noqa: BLE001 - recorded on the row; log for the operator
            app.logger.exception("import %s failed", import_id)
        finally:
            db.session.remove()


def run_import(import_id: int, actor_id: int, store, on_progress=None) -> Import:
    """Read the kept file again and import it with the job's mapping from its first row without a result.
    Each batch commits its entries, event, results and progress together."""
    from ..models import User
    from .intake import import_rows, read_table, stop_import
    from .storage import as_store

    job = db.session.get(Import, import_id)
    try:
        headers, rows = read_table(as_store(store).read_bytes(job.file_sha256))
    except Exception as exc:
        db.session.rollback()
        stop_import(job.id, job.attempt, "failed", f"{type(exc).__name__}: {exc}")
        raise
    progress = (lambda done: on_progress(min(99, 100 * done // max(1, len(rows))))) if on_progress else None
    return import_rows(db.session.get(User, actor_id), job.case, job, headers, rows, progress)


def start_verification(app: Flask, case_id: int, user_id: int | None) -> None:
    """Re-hashing every stored file can take minutes on a large case: never in a request."""
    queue.enqueue(app, "verification", case_id, user_id)


def run_verification_job(app: Flask, case_id: int, user_id: int | None) -> None:
    """The verification task: reading and hashing only, so running it twice records two verifications."""
    from ..models import User
    from .custody import run_verification
    from .storage import app_store

    with app.app_context():
        try:
            user = db.session.get(User, user_id) if user_id else None
            run_verification(user, case_id, app_store(app), Path(app.config["ANCHOR_LOG"]))
        except Exception:  # noqa: BLE001 - log for the operator; the page shows no new result
            app.logger.exception("verification of case %s failed", case_id)
        finally:
            db.session.remove()
