"""Stored files sent to a browser or a script: dossier PDFs, evidence packages, originals, print copies.

Every download re-hashes the stored file first (`EvidenceStore.open_verified`) and sends the bytes it hashed.
A file missing or changed on disk raises StoredFileMissing or StoredFileChanged, which errors.py turns into
a clear page or JSON error; the altered bytes are never sent. Hashing comes first, not while streaming:
a response already half-sent cannot become an error. The pages and the API both call these.
"""

import os
from pathlib import Path

from flask import abort, request, send_file
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from .models import Dossier, Evidence
from .services.storage import app_store


def send_pdf(dossier: Dossier):
    return _send_export(dossier, dossier.sha256, "application/pdf", dossier.filename,
                        "The dossier is not ready yet.")


def send_package(dossier: Dossier):
    return _send_export(dossier, dossier.package_sha256, "application/zip", dossier.package_filename,
                        "The evidence package is not ready.")


def send_original(evidence: Evidence):
    """Always an attachment with nosniff: saved HTML or SVG must never run in our origin."""
    if not evidence.is_file:
        abort(404)
    response = send_stored(evidence.sha256, "application/octet-stream", download_name=download_name(evidence))
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# The extension of a download is the type its bytes were found to be (services/sniff.py, Evidence.mime), never
# the uploader's: a PNG that is also an HTML page, uploaded as shot.html, downloads as shot.png.
EXTENSIONS = {
    "image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif",
    "application/pdf": ".pdf", "text/html": ".html", "multipart/related": ".mhtml", "application/warc": ".warc",
    "application/wacz": ".wacz", "video/mp4": ".mp4", "video/webm": ".webm",
}


def download_name(evidence: Evidence) -> str:
    """The uploaded name without its extension, kept to letters, digits and a few marks, plus the detected
    type's extension."""
    stem = Path(evidence.original_name or "").stem if "." in (evidence.original_name or "") else \
        evidence.original_name or ""
    stem = "".join(ch if ch.isalnum() or ch in " -_.()+" else "_" for ch in stem).strip(" ._")[:100]
    return f"{stem or 'evidence-' + (evidence.sha256 or '')[:12]}{EXTENSIONS.get(evidence.mime, '.bin')}"


def send_print_copy(evidence: Evidence):
    copy = evidence.print_copy
    if copy is None:
        abort(404)
    # shown on the entry page, and no more kept by a browser than the page is (security.py)
    return send_stored(copy.sha256, "image/jpeg")


def send_stored(sha256: str, mimetype: str, download_name: str | None = None, cache: str = "private, no-store"):
    """The stored file whose bytes hash to `sha256`, checked before sending; byte ranges work (resumable
    downloads), and the ETag is the hash itself."""
    fh = app_store().open_verified(sha256)
    stat = os.fstat(fh.fileno())
    response = send_file(fh, mimetype=mimetype, as_attachment=download_name is not None,
                         download_name=download_name, conditional=False, etag=sha256, last_modified=stat.st_mtime)
    response.content_length = stat.st_size
    response.headers["Cache-Control"] = cache
    try:
        return response.make_conditional(request.environ, accept_ranges=True, complete_length=stat.st_size)
    except RequestedRangeNotSatisfiable:
        fh.close()
        raise


def _send_export(dossier: Dossier, sha256: str | None, mimetype: str, name: str, not_ready: str):
    if dossier.status != "done" or not sha256:
        abort(409, not_ready)
    return send_stored(sha256, mimetype, download_name=name)
