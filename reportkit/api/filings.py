"""Filings, the platform's decisions and appeals (issue #17's contract). Reading needs `read` on the case,
recording needs `edit`; every write is a custody event; refusals come back as `FilingError` (422) with the field."""

from flask import current_app, g, url_for
from sqlalchemy import select

from ..extensions import db
from ..models import Appeal, Filing
from ..services import access, recheck
from ..services import filings as filing_ops
from ..services.outcomes import outcomes
from ..services.queue import enqueue
from .base import APIError, bp, parse_time, payload

TIMES = ("filed_at", "confirmed_at", "decided_at", "outcome_at")


def _iso(value):
    return value.isoformat() if value else None


def decision_row(d) -> dict:
    return {"id": d.id, "entry_id": d.entry_id, "decided_at": _iso(d.decided_at), "visibility": d.visibility or None,
            "account": d.account or None, "monetary": d.monetary or None, "provision": d.provision or None,
            "territorial_scope": d.territorial_scope, "ground": d.ground or None, "explanation": d.explanation,
            "automated": d.automated, "no_action": d.no_action, "no_answer": d.no_answer,
            "statement_id": d.statement_id or None, "label": filing_ops.decision_label(d),
            "complaint_window_closes": _iso(filing_ops.complaint_window_closes(d))}


def appeal_row(a) -> dict:
    return {"id": a.id, "entry_id": a.entry_id, "kind": a.kind, "filed_at": _iso(a.filed_at),
            "reference": a.reference, "outcome": a.outcome, "outcome_at": _iso(a.outcome_at), "notes": a.notes}


def filing_row(f: Filing, full: bool = False) -> dict:
    row = {"id": f.id, "case_id": f.case_id, "platform": f.platform, "channel": f.channel,
           "filed_at": _iso(f.filed_at), "filed_by": f.filed_by.email if f.filed_by else None,
           "reference": f.reference, "dossier_id": f.dossier_id, "document_id": f.document_id or None,
           "document_sha256": f.document_sha256 or None, "requested_action": f.requested_action or None,
           "confirmed_at": _iso(f.confirmed_at), "entry_ids": [e.id for e in f.entries]}
    if full:
        row.update(notes=f.notes, decisions=[decision_row(d) for d in f.decisions],
                   appeals=[appeal_row(a) for a in f.appeals])
    return row


def _times(data: dict) -> dict:
    """The API's rule for times (ISO 8601 with a zone) before the service sees them."""
    return {**data, **{key: parse_time(data, key) for key in TIMES if key in data and data[key] is not None}}


def filing_for(user, filing_id: int, permission: str = "read") -> Filing:
    filing = db.session.get(Filing, filing_id)
    if filing is None:
        raise APIError(404, "not_found", "")
    access.check(user, filing.case_id, permission)
    return filing


@bp.get("/cases/<int:case_id>/filings")
def list_filings(case_id: int):
    access.case_for(g.api_user, case_id)
    rows = db.session.scalars(select(Filing).where(Filing.case_id == case_id).order_by(Filing.filed_at.desc(),
                                                                                         Filing.id.desc()))
    return {"filings": [filing_row(f) for f in rows]}


@bp.post("/cases/<int:case_id>/filings")
def create_filing(case_id: int):
    access.case_for(g.api_user, case_id, "edit")
    data = _times(payload())
    unknown = sorted(set(data) - {"platform", "channel", "entry_ids", "dossier_id", "filed_at", "reference",
                                  "requested_action", "notes"})
    if unknown:
        raise APIError(422, "validation_error", "Unknown fields.", {k: ["Unknown field."] for k in unknown})
    filing = filing_ops.record_filing(g.api_user, case_id, data.get("platform"), data.get("channel"),
                                      data.get("entry_ids"), data.get("dossier_id"), data.get("filed_at"),
                                      data.get("reference"), data.get("requested_action"), data.get("notes"))
    return filing_row(filing, full=True), 201


@bp.get("/filings/<int:filing_id>")
def get_filing(filing_id: int):
    return filing_row(filing_for(g.api_user, filing_id), full=True)


@bp.patch("/filings/<int:filing_id>")
def change_filing(filing_id: int):
    filing = filing_for(g.api_user, filing_id, "edit")
    filing_ops.update_filing(g.api_user, filing, _times(payload()))
    return filing_row(filing, full=True)


@bp.post("/filings/<int:filing_id>/decisions")
def add_decision(filing_id: int):
    filing = filing_for(g.api_user, filing_id, "edit")
    data = _times(payload())
    unknown = sorted(set(data) - {"entry_ids", "decided_at", "visibility", "account", "monetary", "provision",
                                  "territorial_scope", "ground", "explanation", "automated", "no_action",
                                  "no_answer", "statement_id"})
    if unknown:
        raise APIError(422, "validation_error", "Unknown fields.", {k: ["Unknown field."] for k in unknown})
    rows = filing_ops.record_decision(g.api_user, filing, data)
    return {"decisions": [decision_row(d) for d in rows]}, 201


@bp.post("/filings/<int:filing_id>/appeals")
def add_appeal(filing_id: int):
    filing = filing_for(g.api_user, filing_id, "edit")
    data = _times(payload())
    unknown = sorted(set(data) - {"kind", "entry_id", "filed_at", "reference", "outcome", "outcome_at", "notes"})
    if unknown:
        raise APIError(422, "validation_error", "Unknown fields.", {k: ["Unknown field."] for k in unknown})
    appeal = filing_ops.record_appeal(g.api_user, filing, data)
    return appeal_row(appeal), 201


def observation_row(o) -> dict:
    return {"id": o.id, "checked_at": _iso(o.checked_at), "outcome": o.outcome, "http_status": o.http_status,
            "body_sha256": o.body_sha256 or None, "endpoint": o.endpoint, "detail": o.detail,
            "back_online": o.back_online}


@bp.get("/entries/<int:entry_id>/observations")
def list_observations(entry_id: int):
    entry = access.entry_for(g.api_user, entry_id)
    return {"observations": [observation_row(o) for o in recheck.observations_of(entry.id)]}


@bp.post("/entries/<int:entry_id>/recheck")
def ask_recheck(entry_id: int):
    """Queue a check now (it asks the platform, so it needs `edit`); its observation appears when done."""
    entry = access.entry_for(g.api_user, entry_id, "edit")
    enqueue(current_app._get_current_object(), "recheck", entry.id, g.api_user.id)
    return {"queued": True, "entry_id": entry.id,
            "observations": url_for("api.list_observations", entry_id=entry.id)}, 202


@bp.get("/cases/<int:case_id>/outcomes")
def case_outcomes(case_id: int):
    """Per platform: the figures and the ids of the entries behind each one."""
    access.case_for(g.api_user, case_id)
    return {"case_id": case_id, "platforms": [
        {"platform": r.platform, "filed": r.count("filed"), "confirmed": r.count("confirmed"),
         "decided": r.count("decided"), "actions": {k: len(v) for k, v in sorted(r.actions.items())},
         "no_action": r.count("no_action"), "no_answer": r.count("no_answer"),
         "median_days_to_decision": r.median_days, "still_online": r.count("still_online"),
         "entry_ids": {**{k: sorted(v) for k, v in r.entries.items()},
                       **{f"action:{k}": sorted(v) for k, v in r.actions.items()}}}
        for r in outcomes([case_id])]}


@bp.patch("/appeals/<int:appeal_id>")
def change_appeal(appeal_id: int):
    """The outcome of an appeal or escalation when it comes (`outcome`, `outcome_at`), its reference, notes."""
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None:
        raise APIError(404, "not_found", "")
    access.check(g.api_user, appeal.filing.case_id, "edit")
    filing_ops.update_appeal(g.api_user, appeal, _times(payload()))
    return appeal_row(appeal)
