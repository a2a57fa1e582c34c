"""Background jobs in a thread of the web process: no extra server to run.

One job runs at a time (a dossier already uses both cores through its worker processes). A job's
progress lives on its database row, so any page or API client can follow it. A row also keeps a
heartbeat (updated_at): a restart of the server loses the jobs it was running, and a job with no sign
of life for longer than any job may run is then shown as interrupted, not as a bar that never moves.
"""

import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import func, update

from ..extensions import db
from ..models import Dossier, Import
from ..models._common import utcnow

GRACE_SECONDS = 120  # on top of DOSSIER_TIMEOUT, the longest a job may go without progress
SWEEP_EVERY = 6 * 3600  # seconds: the evidence store is swept (`reportkit gc`) at most this often

_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reportkit-job")
    return _executor


def expire_stalled(job: Dossier | Import, timeout: float) -> Dossier | Import:
    """Mark a queued or running job failed when it has shown no progress for longer than it may run.

    One conditional UPDATE: a page that read the row a moment before the job finished must not overwrite
    "done" with "failed" (a read-modify-write in Python did)."""
    if isinstance(job, Import):
        return _expire_import(job, timeout)
    if job.status in ("queued", "running"):
        cutoff = utcnow() - timedelta(seconds=timeout + GRACE_SECONDS)
        quiet = (utcnow() - (job.updated_at or job.created_at)).total_seconds()
        db.session.execute(update(Dossier).where(
            Dossier.id == job.id, Dossier.status.in_(("queued", "running")),
            func.coalesce(Dossier.updated_at, Dossier.created_at) < cutoff).values(
            status="failed", stage="interrupted",
            error=(f"Interrupted: no progress for {int(quiet // 60)} minutes; the server may have restarted. "
                   "Start it again.")).execution_options(synchronize_session=False))
        db.session.commit()
        db.session.refresh(job)
    return job


def _expire_import(job: Import, timeout: float) -> Import:
    """An import whose run died (kill -9, a restart) is interrupted; its committed batches stay, with their
    events and counts, and it can be resumed. A running import commits a batch every few seconds, so two
    minutes without one means it is dead; a queued one may wait behind a dossier for `timeout`.
    One conditional UPDATE, so a batch committed meanwhile wins."""
    from .intake import stop_import

    limit = GRACE_SECONDS if job.status == "running" else timeout + GRACE_SECONDS
    if job.status in ("queued", "running"):
        quiet = (utcnow() - (job.updated_at or job.created_at)).total_seconds()
        if quiet > limit:
            stop_import(job.id, job.attempt, "interrupted",
                        f"Interrupted: no progress for {int(quiet // 60)} minutes; the server may have restarted.",
                        ("running",) if job.status == "running" else ("queued",),
                        before=utcnow() - timedelta(seconds=limit))
            db.session.refresh(job)
    return job


def _still_waiting() -> None:
    """The queue is alive: queued jobs get a heartbeat each time a job starts."""
    for model in (Dossier, Import):
        db.session.execute(update(model).where(model.status == "queued").values(updated_at=utcnow()))
    db.session.commit()
    _sweep_when_due()


def _sweep_when_due() -> None:
    """The periodic sweep: at the first job since the app started, then at most every SWEEP_EVERY seconds,
    `reportkit gc` runs in the job thread, queued behind the job that is starting."""
    app = current_app._get_current_object()
    last = app.extensions.get("reportkit.last_sweep")
    if last is not None and time.monotonic() - last < SWEEP_EVERY:
        return
    app.extensions["reportkit.last_sweep"] = time.monotonic()
    _pool().submit(_sweep, app)


def _sweep(app: Flask) -> None:
    from .evidence import DEFAULT_GRACE_HOURS, collect_garbage
    from .storage import EvidenceStore, temp_root

    with app.app_context():
        try:
            removed = collect_garbage(EvidenceStore(app.config["EVIDENCE_DIR"]), temp_root(app), DEFAULT_GRACE_HOURS)
            if removed:
                app.logger.info("gc: removed %d item(s), %d bytes", len(removed), sum(g.size for g in removed))
        except Exception:  # noqa: BLE001 - log for the operator; the next sweep tries again
            app.logger.exception("gc sweep failed")
        finally:
            db.session.remove()


def start_dossier(app: Flask, dossier_id: int) -> Future:
    return _pool().submit(_build, app, dossier_id)


def _build(app: Flask, dossier_id: int) -> None:
    from .dossier.export import build_dossier
    from .package import build_package

    with app.app_context():
        try:
            _still_waiting()
            dossier = db.session.get(Dossier, dossier_id)
            if dossier.with_package:
                build_package(dossier, app.config["EVIDENCE_DIR"], app.config)
            else:
                build_dossier(dossier, app.config["EVIDENCE_DIR"], app.config["DOSSIER_WORKERS"],
                              app.config["DOSSIER_TIMEOUT"])
        except Exception:  # noqa: BLE001 - recorded on the row by build_dossier; log for the operator
            app.logger.exception("dossier %s failed", dossier_id)
        finally:
            db.session.remove()


def start_import(app: Flask, import_id: int, actor_id: int) -> Future:
    """Run a queued import (new or resumed) as the user who started it."""
    return _pool().submit(_import, app, import_id, actor_id)


def _import(app: Flask, import_id: int, actor_id: int) -> None:
    from .intake import Superseded

    with app.app_context():
        try:
            _still_waiting()
            run_import(import_id, actor_id, app.config["EVIDENCE_DIR"])
        except Superseded as exc:  # another run has the job: nothing to do
            app.logger.info("%s", exc)
        except Exception:  # noqa: BLE001 - recorded on the row; log for the operator
            app.logger.exception("import %s failed", import_id)
        finally:
            db.session.remove()


def run_import(import_id: int, actor_id: int, evidence_dir: str, on_progress=None) -> Import:
    """Read the kept file again and import it with the job's mapping from its first row without a result.
    Each batch commits its entries, event, results and progress together (the heartbeat moves with it)."""
    from ..models import User
    from .intake import import_rows, read_table, stop_import
    from .storage import EvidenceStore

    job = db.session.get(Import, import_id)
    try:
        headers, rows = read_table(EvidenceStore(evidence_dir).path_for(job.file_sha256).read_bytes())
    except Exception as exc:
        db.session.rollback()
        stop_import(job.id, job.attempt, "failed", f"{type(exc).__name__}: {exc}")
        raise
    progress = (lambda done: on_progress(min(99, 100 * done // max(1, len(rows))))) if on_progress else None
    return import_rows(db.session.get(User, actor_id), job.case, job, headers, rows, progress)


def start_verification(app: Flask, case_id: int, user_id: int | None) -> Future:
    """Re-hashing every stored file can take minutes on a large case: never in a request."""
    return _pool().submit(_verify, app, case_id, user_id)


def _verify(app: Flask, case_id: int, user_id: int | None) -> None:
    from ..models import User
    from .custody import run_verification
    from .storage import EvidenceStore

    with app.app_context():
        try:
            user = db.session.get(User, user_id) if user_id else None
            run_verification(user, case_id, EvidenceStore(app.config["EVIDENCE_DIR"]), Path(app.config["ANCHOR_LOG"]))
        except Exception:  # noqa: BLE001 - log for the operator; the page shows no new result
            app.logger.exception("verification of case %s failed", case_id)
        finally:
            db.session.remove()
