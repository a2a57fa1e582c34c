"""An entry's evidence: upload, list (hashes and the derived print and marked copies), download the original
(recorded), withdraw (the file stays stored and in the history, and leaves the dossier)."""

import re

from flask import current_app, g, request

from ..downloads import send_original
from ..extensions import db
from ..models import EVIDENCE_KINDS, Evidence
from ..services import access, serialize
from ..services.evidence import EvidenceError, Limits, add_evidence_file, record_download, withdraw_evidence
from ..services.storage import app_store
from .base import APIError, bp, payload

CODES = {413: "too_large", 415: "unsupported_media_type", 422: "unprocessable"}
SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def evidence_row(e: Evidence) -> dict:
    return {**serialize.evidence(e), "withdrawn_at": serialize.iso(e.withdrawn_at),
            "withdrawn_reason": e.withdrawn_reason or None, "purged_at": serialize.iso(e.purged_at),
            "regions": len(e.regions),
            "derivatives": [{"purpose": d.purpose, "sha256": d.sha256, "parent_sha256": d.parent_sha256,
                             "mime": d.mime, "size": d.size, "width": d.width, "height": d.height,
                             "operations": d.operations, "created_at": serialize.iso(d.created_at)}
                            for d in sorted(e.derivatives, key=lambda d: d.id)]}


@bp.post("/entries/<int:entry_id>/evidence")
def upload_evidence(entry_id: int):
    entry = access.entry_for(g.api_user, entry_id, "edit")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise APIError(400, "bad_request", "Send the file as multipart form field 'file'.", {"file": ["Missing."]})
    kind = request.form.get("kind") or None
    if kind and (kind not in EVIDENCE_KINDS or kind == "archive_link"):
        raise APIError(422, "validation_error", "Unknown kind.", {"kind": [f"One of: {', '.join(EVIDENCE_KINDS)}."]})
    sha256 = request.form.get("sha256") or None  # the sender's hash (the browser extension): checked, not trusted
    if sha256 is not None and not SHA256.fullmatch(sha256):
        raise APIError(422, "validation_error", "The sha256 field is not a SHA-256.",
                       {"sha256": ["64 hexadecimal characters, or leave it out."]})
    try:
        ev = add_evidence_file(g.api_user, entry, upload.stream, upload.filename, app_store(),
                               Limits.from_config(current_app.config), kind, sha256)
    except EvidenceError as exc:
        db.session.rollback()
        raise APIError(exc.status, CODES[exc.status], str(exc), {exc.field or "file": [str(exc)]}) from None
    return {"id": ev.id, "sha256": ev.sha256, "size": ev.size, "mime": ev.mime, "kind": ev.kind}, 201


@bp.get("/entries/<int:entry_id>/evidence")
def list_evidence(entry_id: int):
    """Every file and link of the entry, withdrawn and purged ones included (marked so), oldest first."""
    entry = access.entry_for(g.api_user, entry_id)
    return {"evidence": [evidence_row(e) for e in sorted(entry.evidence, key=lambda e: e.id)]}


@bp.get("/evidence/<int:evidence_id>/original")
def evidence_original(evidence_id: int):
    evidence = access.evidence_for(g.api_user, evidence_id)
    response = send_original(evidence)
    record_download(g.api_user, evidence)
    return response


@bp.post("/evidence/<int:evidence_id>/withdraw")
def withdraw(evidence_id: int):
    evidence = access.evidence_for(g.api_user, evidence_id, "edit")
    reason = payload().get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise APIError(422, "validation_error", "Say why the file is withdrawn.", {"reason": ["Required text."]})
    if len(reason) > 2000:
        raise APIError(422, "validation_error", "The reason is too long.", {"reason": ["At most 2,000 characters."]})
    if evidence.withdrawn_at is not None:
        raise APIError(409, "conflict", "This file was withdrawn already.", {"reason": ["Withdrawn already."]})
    try:
        withdraw_evidence(g.api_user, evidence, reason)
    except EvidenceError as exc:
        db.session.rollback()
        raise APIError(422, "validation_error", str(exc), {"reason": [str(exc)]}) from None
    return evidence_row(db.session.get(Evidence, evidence_id))
