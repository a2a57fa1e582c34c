"""Server-side capture (issue #18's contract): `POST /entries/<id>/captures` queues one (202, `edit`: it makes
the server fetch an address and adds evidence); `GET /captures/<id>` says how it went (`read`)."""

from flask import g, url_for

from ..extensions import db
from ..models import Capture
from ..services import access
from ..services import capture as capture_ops
from .base import APIError, bp, payload


@bp.post("/entries/<int:entry_id>/captures")
def start_capture(entry_id: int):
    entry = access.entry_for(g.api_user, entry_id, "edit")
    data = payload()
    unknown = sorted(set(data) - {"keep_diagnostic"})
    if unknown:
        raise APIError(422, "validation_error", "Unknown fields.", {k: ["Unknown field."] for k in unknown})
    keep = data.get("keep_diagnostic", False)
    if not isinstance(keep, bool):
        raise APIError(422, "validation_error", "Some fields are not valid.", {"keep_diagnostic": ["true or false."]})
    capture = capture_ops.request_capture(g.api_user, entry, keep)
    return {**capture_ops.capture_row(capture), "job_id": capture.id,
            "poll": url_for("api.get_capture", capture_id=capture.id)}, 202


@bp.get("/captures/<int:capture_id>")
def get_capture(capture_id: int):
    capture = db.session.get(Capture, capture_id)
    if capture is None:
        raise APIError(404, "not_found", "")
    access.entry_for(g.api_user, capture.entry_id)  # the same 404 for another team's capture
    return capture_ops.capture_row(capture_ops.expire_stalled(capture))
