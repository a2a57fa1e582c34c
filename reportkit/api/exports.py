"""CSV and JSON exports of a case's entries: the same selection and the same disclosure rules as the export on
the dossier page (services/exports.py, services/disclosure.py): members by their export names or
pseudonyms, never emails; addresses without tracking parameters; rejected, duplicate and withdrawn entries never,
entries not yet approved only with `include_unapproved`. A script gets nothing here that the page's export hides."""

from dataclasses import replace

from flask import Response, current_app, g, request
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ..dossiers.forms import DossierForm
from ..extensions import db
from ..models import Entry
from ..services import access
from ..services.dossier.data import select_entries
from ..services.exports import entries_csv, entries_json
from .base import APIError, bp

FILTERS = ("mode", "account", "clause", "tag", "date_from", "date_to", "include_unapproved")
MAX_IDS = 5000


@bp.get("/cases/<int:case_id>/exports.csv")
def export_csv(case_id: int):
    case, entries = _selection(case_id)
    return Response(entries_csv(entries), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="reportkit-case-{case.id}.csv"'})


@bp.get("/cases/<int:case_id>/exports.json")
def export_json(case_id: int):
    case, entries = _selection(case_id)
    response = current_app.json.response(entries_json(case, entries))
    response.headers["Content-Disposition"] = f'attachment; filename="reportkit-case-{case.id}.json"'
    return response


def _selection(case_id: int):
    """`entries=1,2,3` (entry ids of this case) narrows the selection; the page's filters apply as well."""
    case = access.case_for(g.api_user, case_id)
    unknown = sorted(set(request.args) - set(FILTERS) - {"entries"})
    if unknown:
        raise APIError(422, "validation_error", "Unknown parameters.",
                       {k: [f"Not a filter here; use: entries, {', '.join(FILTERS)}."] for k in unknown})
    args = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k in FILTERS])
    if args.get("include_unapproved") in ("0", "false", "no", ""):
        args.pop("include_unapproved")
    form = DossierForm(formdata=args, meta={"csrf": False})
    form.set_accounts(case.accounts)
    options = form.read(case)  # the dossier options' one check; OptionsError names these parameters (422)
    ids = _ids(request.args.get("entries"))
    if ids is not None:
        numbers = dict(db.session.execute(select(Entry.id, Entry.number).where(Entry.case_id == case.id,
                                                                                Entry.id.in_(ids))).all())
        missing = [i for i in ids if i not in numbers]
        if missing:  # an id of another case reads like one that does not exist
            raise APIError(422, "validation_error", "Some entries are not in this case.",
                           {"entries": [f"Not entries of this case: {', '.join(map(str, missing[:20]))}."]})
        options = replace(options, entry_numbers=sorted(numbers.values()))
    return case, select_entries(case, options)


def _ids(raw: str | None) -> list[int] | None:
    if raw is None:
        return None
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts or len(parts) > MAX_IDS or not all(p.isascii() and p.isdigit() and len(p) < 19 for p in parts):
        raise APIError(422, "validation_error", "Invalid entries.",
                       {"entries": [f"Entry ids separated by commas, e.g. 12,15,18 (at most {MAX_IDS})."]})
    return list(dict.fromkeys(int(p) for p in parts))
