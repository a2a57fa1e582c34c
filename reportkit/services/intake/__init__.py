"""Bulk intake: paste a list of addresses, or import a CSV or JSON file with a column mapping."""

from .create import create_import, set_mapping
from .extract import extract_urls
from .run import (
                  MAX_PASTE,
                  DuplicateIndex,
                  Superseded,
                  import_rows,
                  paste_urls,
                  preview_rows,
                  resume_import,
                  stop_import,
)
from .tables import TARGETS, TableError, guess_mapping, read_table

__all__ = ["MAX_PASTE", "TARGETS", "DuplicateIndex", "Superseded", "TableError", "create_import", "extract_urls",
           "guess_mapping", "import_rows", "paste_urls", "preview_rows", "read_table", "resume_import", "set_mapping",
           "stop_import"]
