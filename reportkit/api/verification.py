"""Verification of a case's files and history: owners start it (a background job, as the Activity page does:
re-hashing every stored file can take minutes), every member reads the last result, as the page shows it."""

from flask import current_app, g

from ..services import access, jobs
from ..services.custody import last_verification
from ..services.serialize import iso
from .base import bp


def result_row(ev) -> dict | None:
    if ev is None:
        return None
    data = ev.data if isinstance(ev.data, dict) else {}
    return {"event_id": ev.id, "finished_at": iso(ev.created_at), "by": ev.who, "ok": bool(data.get("ok")),
            "events_checked": data.get("events_checked"), "files_checked": data.get("files_checked"),
            "problems": data.get("problems") or [], "chain": data.get("chain")}


@bp.post("/cases/<int:case_id>/verification")
def start_verification(case_id: int):
    case = access.case_for(g.api_user, case_id, "manage")
    last = last_verification(case.id)
    jobs.start_verification(current_app._get_current_object(), case.id, g.api_user.id)
    return {"status": "started", "previous_event_id": last.id if last else None,
            "message": "The result is recorded as a verification.run event; read it at GET .../verification "
                       "when its event_id differs from previous_event_id."}, 202


@bp.get("/cases/<int:case_id>/verification")
def last_verification_result(case_id: int):
    case = access.case_for(g.api_user, case_id)
    return {"last": result_row(last_verification(case.id))}
