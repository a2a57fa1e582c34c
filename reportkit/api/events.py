"""A case's custody log, as its Activity page shows it to every member: each event as stored (action, target,
data, hashes) and as the page's sentence. Newest first by pages, or oldest first after a cursor for scripts
that follow the log."""

import re

from flask import g, request
from sqlalchemy import select

from ..extensions import db
from ..models import Event
from ..services import access
from ..services.activity import describe_events
from ..services.serialize import iso
from .base import APIError, bp, page_args

KIND = re.compile(r"^[a-z_]+(\.[a-z_]+)?\.?$")  # "entry.created", or a family: "entry." / "entry"


def event_row(line) -> dict:
    ev = line.event
    return {"id": ev.id, "created_at": iso(ev.created_at), "action": ev.action, "target": ev.target,
            "entry_id": ev.entry_id, "actor": {"id": ev.actor_id, "name": ev.who}, "via_token": ev.token_id is not None,
            "data": ev.data, "explanation": ev.explanation, "text": line.text, "prev_hash": ev.prev_hash,
            "hash": ev.hash}


@bp.get("/cases/<int:case_id>/events")
def list_events(case_id: int):
    """Filters: `kind` (an action such as status.changed, or a family such as entry.), `entry` (an entry id),
    `actor` (a user id). Paging: `page`/`per_page` (newest first, at most 200 a page), or `after_id` (the events
    after that one, oldest first; `next_after_id` continues)."""
    case = access.case_for(g.api_user, case_id)
    query = select(Event).where(Event.case_id == case.id)
    kind = request.args.get("kind", "").strip()
    if kind:
        if not KIND.match(kind):
            raise APIError(422, "validation_error", "Invalid kind.",
                           {"kind": ["An action such as status.changed, or a family such as entry."]})
        family = kind.rstrip(".")
        query = query.where(Event.action == kind if "." in family
                            else Event.action.startswith(f"{family}.", autoescape=True))
    for name, column in (("entry", Event.entry_id), ("actor", Event.actor_id)):
        value = _whole(name)
        if value is not None:
            query = query.where(column == value)
    after_id = _whole("after_id")
    page, per_page = page_args()
    if after_id is not None:
        events = db.session.scalars(query.where(Event.id > after_id).order_by(Event.id.asc()).limit(per_page)).all()
        return {"events": [event_row(line) for line in describe_events(list(events))], "per_page": per_page,
                "next_after_id": events[-1].id if events else after_id}
    result = db.paginate(query.order_by(Event.id.desc()), page=page, per_page=per_page, error_out=False)
    return {"events": [event_row(line) for line in describe_events(list(result.items))], "page": result.page,
            "per_page": result.per_page, "total": result.total, "pages": result.pages}


def _whole(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise APIError(422, "validation_error", f"Invalid {name}.", {name: ["A whole number (an id)."]})
    return int(raw)
