from flask import current_app, g, request

from ..downloads import send_original
from ..evidence.views import store
from ..extensions import db
from ..models import EVIDENCE_KINDS
from ..services import access
from ..services.evidence import EvidenceError, Limits, add_evidence_file, record_download
from .base import APIError, bp

CODES = {413: "too_large", 415: "unsupported_media_type", 422: "unprocessable"}


@bp.post("/entries/<int:entry_id>/evidence")
def upload_evidence(entry_id: int):
    entry = access.entry_for(g.api_user, entry_id, "edit")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise APIError(400, "bad_request", "Send the file as multipart form field 'file'.", {"file": ["Missing."]})
    kind = request.form.get("kind") or None
    if kind and (kind not in EVIDENCE_KINDS or kind == "archive_link"):
        raise APIError(422, "validation_error", "Unknown kind.", {"kind": [f"One of: {', '.join(EVIDENCE_KINDS)}."]})
    try:
        ev = add_evidence_file(g.api_user, entry, upload.stream, upload.filename, store(),
                               Limits.from_config(current_app.config), kind)
    except EvidenceError as exc:
        db.session.rollback()
        raise APIError(exc.status, CODES[exc.status], str(exc), {"file": [str(exc)]})
    return {"id": ev.id, "sha256": ev.sha256, "size": ev.size, "mime": ev.mime, "kind": ev.kind}, 201


@bp.get("/evidence/<int:evidence_id>/original")
def evidence_original(evidence_id: int):
    evidence = access.evidence_for(g.api_user, evidence_id)
    response = send_original(evidence)
    record_download(g.api_user, evidence)
    return response
