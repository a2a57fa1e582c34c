"""CSV and JSON exports of a selection of entries (the dossier page's, or the API's): CSV in UTF-8 with a BOM, safe
to open in Excel; people by their export names and addresses without tracking parameters (services/disclosure.py).
The PDF dossier is services/dossier/ (its job: dossier/job.py)."""

import csv
import io

from ..models import Case, Entry
from . import serialize
from .disclosure import People, case_for_export, entry_for_export, public_url

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ["number", "platform", "account", "canonical_url", "submitted_url", "post_id", "posted_at",
           "posted_at_source", "language", "text", "translation", "translation_method", "translator", "clauses",
           "rationales", "legal_ground", "captured_at", "captured_by", "capture_method", "tags", "evidence_sha256",
           "requested_action", "action_countries", "severity", "status"]


def safe_cell(value) -> str:
    """A cell that starts like a formula is prefixed with ' so a spreadsheet shows it as text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def entries_csv(entries: list[Entry]) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # Excel shows Arabic script correctly only with a byte-order mark
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for e in entries:
        row = serialize.entry(e)
        writer.writerow([safe_cell(v) for v in (
            e.number, e.platform, e.account.label if e.account else e.handle, e.canonical_url,
            public_url(e.submitted_url), e.post_id, row["posted_at"], row["posted_at_source"], e.language, e.text,
            e.translation, e.translation_method, e.translator, "; ".join(v.clause.key for v in e.violations),
            " | ".join(v.rationale for v in e.violations),
            " ".join(x for x in (e.legal_country, e.legal_law, e.legal_article) if x), row["capture"]["captured_at"],
            e.captured_by, e.capture_method, ", ".join(e.tag_names),
            " ".join(ev.sha256 for ev in e.evidence if ev.sha256), e.requested_action, e.action_countries,
            e.severity or "", e.status)])
    return out.getvalue()


def entries_json(case: Case, entries: list[Entry]) -> dict:
    people = People.for_case(case)
    return {"case": case_for_export(case), "entries": [entry_for_export(e, people) for e in entries]}
