"""Background jobs in a thread of the web process: no extra server to run.

One job runs at a time (a dossier already uses both cores through its worker processes). A job's
progress lives on its database row, so any page or API client can follow it.
"""

from concurrent.futures import Future, ThreadPoolExecutor

from flask import Flask

from ..extensions import db
from ..models import Dossier

_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reportkit-job")
    return _executor


def start_dossier(app: Flask, dossier_id: int) -> Future:
    return _pool().submit(_build, app, dossier_id)


def _build(app: Flask, dossier_id: int) -> None:
    from .dossier import build_dossier

    with app.app_context():
        try:
            dossier = db.session.get(Dossier, dossier_id)
            build_dossier(dossier, app.config["EVIDENCE_DIR"], app.config["DOSSIER_WORKERS"],
                          app.config["DOSSIER_TIMEOUT"])
        except Exception:  # noqa: BLE001 - recorded on the row by build_dossier; log for the operator
            app.logger.exception("dossier %s failed", dossier_id)
        finally:
            db.session.remove()
