from dataclasses import replace
from datetime import UTC

from flask import g, request, url_for

from ..entries.forms import EntryCreateForm, EntryFilterForm, EntryForm
from ..extensions import db
from ..services import access, serialize
from ..services import entries as entry_ops
from ..services.search import entry_query
from ..services.urls import URLError
from .base import APIError, bp, form_data, page_args, parse_time, payload, validate

TIMES = ("posted_at", "captured_at")
LISTS = ("tags", "violations")
PATCHABLE = set(entry_ops.EDITABLE) | {"posted_at", "tags", "account_id", "confirm_posted_at"}


@bp.post("/cases/<int:case_id>/entries")
def create_entry(case_id: int):
    case = access.case_for(g.api_user, case_id, "edit")
    data = payload()
    form = _entry_form(EntryCreateForm, data, case)
    fields = _fields(form, data)
    violations = _violations(data.get("violations") or [])
    try:
        entry = entry_ops.create_entry(g.api_user, case, form.url.data, fields, violations)
    except entry_ops.DuplicateEntry as exc:  # other refusals are answered by the one handler (errors.py)
        db.session.rollback()
        raise APIError(409, "duplicate", str(exc), {"url": [str(exc)], "existing_entry_id": exc.existing.id,
                                                    "existing_entry_url": url_for("entries.view",
                                                                                  entry_id=exc.existing.id)}) from None
    except URLError as exc:
        db.session.rollback()
        raise APIError(422, "validation_error", str(exc), {"url": [str(exc)]}) from None
    return _with_warnings(serialize.entry(entry), entry), 201


@bp.get("/cases/<int:case_id>/entries")
def list_entries(case_id: int):
    case = access.case_for(g.api_user, case_id)
    filters = EntryFilterForm(request.args, meta={"csrf": False})
    filters.set_accounts(case.accounts)
    validate(filters)
    page, per_page = page_args()
    days_in_utc = replace(filters.to_filter(), zone=UTC)  # the API's dates are UTC days, whoever asks
    result = db.paginate(entry_query(case.id, days_in_utc), page=page, per_page=per_page, error_out=False)
    return {"entries": [serialize.entry(e) for e in result.items], "page": result.page,
            "per_page": result.per_page, "total": result.total, "pages": result.pages}


@bp.get("/entries/<int:entry_id>")
def get_entry(entry_id: int):
    return serialize.entry(access.entry_for(g.api_user, entry_id))


@bp.patch("/entries/<int:entry_id>")
def update_entry(entry_id: int):
    entry = access.entry_for(g.api_user, entry_id, "edit")
    data = payload()
    unknown = set(data) - PATCHABLE
    if unknown:
        raise APIError(422, "validation_error", "Unknown or read-only fields.",
                       {k: ["This field cannot be changed."] for k in sorted(unknown)})
    merged = {**_current(entry), **data}
    form = _entry_form(EntryForm, merged, entry.case)
    fields = {k: v for k, v in _fields(form, merged).items() if k in data}
    entry_ops.update_entry(g.api_user, entry, fields)  # a refusal is answered by the one handler (errors.py)
    return _with_warnings(serialize.entry(entry), entry)


def _with_warnings(row: dict, entry) -> dict:
    """A write that kept the post id's time over a typed one says so (send confirm_posted_at to keep yours)."""
    if entry.posted_at_warning:
        row["warnings"] = {"posted_at": [entry.posted_at_warning]}
    return row


def _entry_form(form_cls, data: dict, case):
    form = form_cls(formdata=form_data(data, skip=TIMES + LISTS), meta={"csrf": False})
    form.set_accounts(case.accounts)
    validate(form)
    return form


def _fields(form, data: dict) -> dict:
    fields = form.service_fields()
    for key in TIMES:
        fields[key] = parse_time(data, key)
    tags = data.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        raise APIError(422, "validation_error", "Invalid tags.", {"tags": ["Give a list of strings."]})
    fields["tags"] = tags or []
    return fields


def _violations(items) -> list[tuple[str, str]]:
    if not isinstance(items, list) or not all(isinstance(v, dict) for v in items):
        raise APIError(422, "validation_error", "Invalid violations.",
                       {"violations": ["Give a list of {clause, rationale[, rationale_en]}."]})
    return [(str(v.get("clause") or ""), str(v.get("rationale") or ""), str(v.get("rationale_en") or ""))
            for v in items]


def _current(entry) -> dict:
    values = {name: getattr(entry, name) for name in entry_ops.EDITABLE}
    values.update(account_id=entry.account_id or 0, posted_at=entry.posted_at, tags=entry.tag_names)
    return {k: serialize.iso(v) if hasattr(v, "isoformat") else v for k, v in values.items()}
