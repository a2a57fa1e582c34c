import json

from flask import current_app, g, request

from ..extensions import db
from ..models import Import
from ..services import access, jobs
from ..services import intake as intake_ops
from ..services.intake import TableError, paste_urls, resume_import
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
                raise APIError(422, "validation_error", str(exc), {"urls": [str(exc)]}) from None
            return _state(job), 202
        if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
            raise APIError(400, "bad_request", "Send {urls: [...]}, {rows: [...], mapping?}, or a multipart file.")
        raw, name, mapping = json.dumps(data["rows"]).encode(), "rows.json", data.get("mapping")
        tz, calendar = data.get("timezone", "UTC"), data.get("calendar", "auto")
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
            raise APIError(422, "validation_error", "mapping must be a JSON object.", {"mapping": ["Not JSON."]}
                           ) from None
    # a refused file or setting (TableError) is answered by the one handler, naming its field (errors.py)
    job = intake_ops.create_import(g.api_user, case, name, raw, mapping, tz, calendar, allow_other, start=True)
    jobs.start_import(current_app._get_current_object(), job.id, g.api_user.id)
    return _state(job), 202


@bp.get("/imports/<int:import_id>")
def get_import(import_id: int):
    return _state(_job(import_id, "read"))


@bp.post("/imports/<int:import_id>/resume")
def resume(import_id: int):
    """Continue a failed or interrupted import from its first row without a result."""
    job = _job(import_id, "edit")
    if not resume_import(g.api_user, job):
        raise APIError(409, "conflict", "This import cannot be resumed: it is running, finished, or has no file.")
    jobs.start_import(current_app._get_current_object(), job.id, g.api_user.id)
    db.session.refresh(job)
    return _state(job), 202


def _job(import_id: int, permission: str) -> Import:
    return jobs.expire_stalled(access.import_for(g.api_user, import_id, permission),
                               current_app.config["IMPORT_TIMEOUT"])


def _state(job: Import) -> dict:
    return {"id": job.id, "case_id": job.case_id, "kind": job.kind, "status": job.status, "progress": job.progress,
            "total": job.total, "rows_done": len(job.results), "created": job.created, "duplicates": job.duplicates,
            "failed": job.failed, "resumable": job.resumable, "mapping": job.mapping, "error": job.error or None,
            "results": job.results}
