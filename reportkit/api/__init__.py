"""JSON API v1. Importing the route modules registers them on the blueprint; openapi.py describes them all."""

from . import (  # noqa: F401
               accounts,
               captures,
               cases,
               dossiers,
               entries,
               events,
               evidence,
               exports,
               filings,
               imports,
               lookup,
               members,
               openapi,
               policies,
               regions,
               reviews,
               tokens,
               verification,
               violations,
)
from .base import bp  # noqa: F401
