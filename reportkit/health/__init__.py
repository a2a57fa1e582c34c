"""/healthz (the process answers) and /readyz (its database, job queue and evidence store are reachable)."""

from .views import bp  # noqa: F401
