import json

from flask import current_app, g, request

from ..extensions import db
from ..models import Import
from ..services import access, jobs
from ..services.dates import CALENDARS
from ..services.intake import TARGETS, TableError, guess_mapping, paste_urls, read_table, resume_import
from ..services.intake.tables import zone
from ..services.storage import app_store
from .base import APIError, bp


def _allow_other(value) -> bool:
    """`allow_other`: add addresses that are not posts of a known platform as "other" (true/false)."""
    if value in (True, "true", "1", "yes", "on"):
        return True
    if value in (False, "false", "0", "no", "off", ""):
        return False
    raise APIError(422, "validation_error", "allow_other is true or false.", {"allow_other": ["true or false."]})


@bp.post("/cases/<int:case_id>/imports")
def create_import(case_id: int):
    case = access.case_for(g.api_user, case_id, "edit")
    if request.is_json:
        data = request.get_json(silent=True)
        allow_other = _allow_other(data.get("allow_other", False) if isinstance(data, dict) else False)
        if isinstance(data, dict) and isinstance(data.get("urls"), list):
            try:
                job = paste_urls(g.api_user, case, "\n".join(str(u) for u in data["urls"]), allow_other)
            except TableError as exc:
                raise APIError(422, "validation_error", str(exc), {"urls": [str(exc)]})
            return _state(job), 202
        if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
            raise APIError(400, "bad_request", "Send {urls: [...]}, {rows: [...], mapping?}, or a multipart file.")
        raw, name, mapping, tz = json.dumps(data["rows"]).encode(), "rows.json", data.get("mapping"), data.get(
            "timezone", "UTC")
        calendar = data.get("calendar", "auto")
    else:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise APIError(400, "bad_request", "Send the file as multipart field 'file'.", {"file": ["Missing."]})
        raw, name, tz = upload.read(), upload.filename, request.form.get("timezone", "UTC")
        calendar = request.form.get("calendar", "auto")
        allow_other = _allow_other(request.form.get("allow_other", "false").strip().lower())
        try:
            mapping = json.loads(request.form["mapping"]) if request.form.get("mapping") else None
        except (json.JSONDecodeError, RecursionError):  # a mapping nested thousands deep is not a mapping
            raise APIError(422, "validation_error", "mapping must be a JSON object.", {"mapping": ["Not JSON."]})
    if not isinstance(calendar, str) or calendar not in CALENDARS:
        raise APIError(422, "validation_error", "Unknown calendar.", {"calendar": [f"One of {', '.join(CALENDARS)}."]})
    try:
        headers, rows = read_table(raw)
        zone(tz)
    except TableError as exc:
        raise APIError(422, "validation_error", str(exc), {"file": [str(exc)]})
    mapping = mapping if isinstance(mapping, dict) else guess_mapping(headers)
    bad = {k: ["Not a column of the file, or not a field."] for k, v in mapping.items()
           if k not in TARGETS or v not in headers}
    if bad or "url" not in mapping:
        raise APIError(422, "validation_error", "Map the columns: {field: column}.", bad or {"url": ["Required."]})
    sha, _ = app_store().put_bytes(raw)
    job = Import(case_id=case.id, kind="json" if raw.lstrip()[:1] in (b"[", b"{") else "csv", filename=name[:255],
                 file_sha256=sha, mapping=mapping, timezone=tz, calendar=calendar, status="queued", total=len(rows),
                 allow_other=allow_other,
                 created_by_id=g.api_user.id)
    db.session.add(job)
    db.session.commit()
    jobs.start_import(current_app._get_current_object(), job.id, g.api_user.id)
    return _state(job), 202


@bp.get("/imports/<int:import_id>")
def get_import(import_id: int):
    return _state(_job(import_id, "read"))


@bp.post("/imports/<int:import_id>/resume")
def resume(import_id: int):
    """Continue a failed or interrupted import from its first row without a result."""
    job = _job(import_id, "edit")
    if not resume_import(job):
        raise APIError(409, "conflict", "This import cannot be resumed: it is running, finished, or has no file.")
    jobs.start_import(current_app._get_current_object(), job.id, g.api_user.id)
    db.session.refresh(job)
    return _state(job), 202


def _job(import_id: int, permission: str) -> Import:
    job = db.session.get(Import, import_id)
    if job is None:
        raise APIError(404, "not_found", "No such import.")
    access.check(g.api_user, job.case_id, permission)
    return jobs.expire_stalled(job, current_app.config["DOSSIER_TIMEOUT"])


def _state(job: Import) -> dict:
    return {"id": job.id, "case_id": job.case_id, "kind": job.kind, "status": job.status, "progress": job.progress,
            "total": job.total, "rows_done": len(job.results), "created": job.created, "duplicates": job.duplicates,
            "failed": job.failed, "resumable": job.resumable, "mapping": job.mapping, "error": job.error or None,
            "results": job.results}
