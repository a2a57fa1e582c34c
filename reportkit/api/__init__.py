"""JSON API v1. Importing the route modules registers them on the blueprint; openapi.py describes them all."""

from . import (accounts, cases, dossiers, entries, events, evidence, exports, imports, members, openapi,  # noqa: F401
               policies, regions, reviews, tokens, verification, violations)
from .base import bp  # noqa: F401
