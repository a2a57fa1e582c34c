from flask import g

from ..services import access, serialize
from ..services import reviews as review_ops
from .base import APIError, bp, payload


@bp.post("/entries/<int:entry_id>/annotations")
def create_annotation(entry_id: int):
    entry = access.entry_for(g.api_user, entry_id)
    data = payload()
    body, kind = data.get("body"), data.get("kind", "comment")
    if not isinstance(body, str) or not isinstance(kind, str):
        raise APIError(422, "validation_error", "Give body and kind as strings.", {"body": ["Required text."]})
    include = data.get("include_in_dossier", False)
    if not isinstance(include, bool):  # "yes" is not silently read as false
        raise APIError(422, "validation_error", "Give include_in_dossier as true or false.",
                       {"include_in_dossier": ["Give true or false."]})
    note = review_ops.annotate(g.api_user, entry, body, kind, include)
    return serialize.annotation(note), 201


@bp.post("/entries/<int:entry_id>/transitions")
def create_transition(entry_id: int):
    entry = access.entry_for(g.api_user, entry_id)
    data = payload()
    to, reason = data.get("to"), data.get("reason") or ""
    if not isinstance(to, str) or not isinstance(reason, str):
        raise APIError(422, "validation_error", "Give `to` (and an optional `reason`) as strings.",
                       {"to": ["Required."]})
    review_ops.transition(g.api_user, entry, to, reason)
    return serialize.entry(entry)


@bp.get("/review-queue")
def review_queue():
    return {"entries": [serialize.entry(e) for e in review_ops.review_queue(g.api_user)]}
