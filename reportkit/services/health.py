"""What is configured and what is reachable: /readyz and `reportkit doctor`."""


from flask import Flask
from sqlalchemy import text

from ..extensions import db
from . import queue


def check_database() -> None:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


def check_store(app: Flask) -> str:
    """The local folder is writable, or the S3 bucket answers (with Object Lock when it is asked for)."""
    from .storage import app_store

    return app_store(app).probe()


def readiness(app: Flask, details: dict | None = None) -> dict:
    """"ok" or "failed" for the database, the job queue and the evidence store; the errors go to `details`."""
    checks = {"database": lambda: check_database(), "queue": lambda: queue.check_queue(app),
              "store": lambda: check_store(app)}
    result = {}
    for name, check in checks.items():
        try:
            check()
            result[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - a probe reports, it never raises
            result[name] = "failed"
            if details is not None:
                details[name] = f"{type(exc).__name__}: {exc}"
            else:
                app.logger.warning("readyz: %s failed: %s: %s", name, type(exc).__name__, exc)
    return result
