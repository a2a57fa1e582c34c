"""The clauses mapped onto an entry: list, map (with the same validation as the entry page's form and the
service's fit check), change the English rationale, remove. Each write is a custody event and resets the review
round, as on the page."""

from urllib.parse import urlsplit

from flask import g

from ..entries.forms import ViolationForm
from ..extensions import db
from ..models import PLATFORMS, Entry, Violation
from ..services import access
from ..services import entries as entry_ops
from ..services.policies import clauses_for
from .base import APIError, bp, form_data, payload, validate


def violation_row(v: Violation) -> dict:
    return {"id": v.id, "clause": v.clause.key, "heading": v.clause.heading, "policy": v.clause.policy.title,
            "rationale": v.rationale, "rationale_en": v.rationale_en}


@bp.get("/entries/<int:entry_id>/violations")
def list_violations(entry_id: int):
    entry = access.entry_for(g.api_user, entry_id)
    return {"violations": [violation_row(v) for v in entry.violations]}


@bp.post("/entries/<int:entry_id>/violations")
def map_violation(entry_id: int):
    """`clause`: a clause key (GET /policies), or words that name exactly one clause fitting the post."""
    entry = access.entry_for(g.api_user, entry_id, "edit")
    data = payload()
    rationale_en = data.get("rationale_en") or ""
    if not isinstance(rationale_en, str):
        raise APIError(422, "validation_error", "Invalid rationale_en.", {"rationale_en": ["Give text."]})
    form = ViolationForm(formdata=form_data(data, skip=("rationale_en",)), meta={"csrf": False},
                         clauses=clauses_for(entry.platform, urlsplit(entry.canonical_url or "").hostname or ""),
                         platform_name=PLATFORMS.get(entry.platform, entry.platform))
    validate(form)
    violation = entry_ops.add_violation(g.api_user, entry, form.clause_key, form.rationale.data,
                                        rationale_en=rationale_en)  # a refusal: the one handler (errors.py)
    return violation_row(violation), 201


@bp.patch("/entries/<int:entry_id>/violations/<int:violation_id>")
def change_violation(entry_id: int, violation_id: int):
    """Only the English version of the rationale changes; to change the rationale, remove and map again."""
    entry, violation = _violation(entry_id, violation_id)
    data = payload()
    unknown = set(data) - {"rationale_en"}
    if unknown or not isinstance(data.get("rationale_en"), str):
        raise APIError(422, "validation_error", "Send rationale_en as text; nothing else of a mapping changes.",
                       {k: ["This field cannot be changed."] for k in sorted(unknown)} or
                       {"rationale_en": ["Give text (empty to clear it)."]})
    entry_ops.set_rationale_en(g.api_user, entry, violation, data["rationale_en"])  # refusals: errors.py
    return violation_row(db.session.get(Violation, violation_id))


@bp.delete("/entries/<int:entry_id>/violations/<int:violation_id>")
def remove_violation(entry_id: int, violation_id: int):
    entry, violation = _violation(entry_id, violation_id)
    try:
        entry_ops.remove_violation(g.api_user, entry, violation)
    except entry_ops.EntryError as exc:  # removed a moment ago by another request: a conflict, not bad input
        db.session.rollback()
        raise APIError(409, "conflict", str(exc), {exc.field or "clause": [str(exc)]}) from None
    return {"id": violation_id, "removed": True}


def _violation(entry_id: int, violation_id: int) -> tuple[Entry, Violation]:
    entry = access.entry_for(g.api_user, entry_id, "edit")
    violation = next((v for v in entry.violations if v.id == violation_id), None)
    if violation is None:
        raise APIError(404, "not_found", "")
    return entry, violation
