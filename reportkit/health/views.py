"""Probes for a load balancer or a process supervisor: no login, GET only, nothing but "ok" or "failed" per
part (no paths, addresses or error texts: anyone can call them)."""

from flask import Blueprint, current_app, jsonify

from ..services.health import readiness

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = readiness(current_app)
    ready = all(state == "ok" for state in checks.values())
    return jsonify(status="ok" if ready else "failed", **checks), 200 if ready else 503
