"""JSON API v1. Importing the route modules registers them on the blueprint."""

from . import cases, dossiers, entries, evidence, imports, policies, reviews  # noqa: F401
from .base import bp  # noqa: F401
