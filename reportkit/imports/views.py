import csv
import io

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from ..auth.guard import members_only
from ..extensions import db
from ..models import Import
from ..models.imports import RESULTS
from ..services import access, jobs
from ..services.exports import safe_cell
from ..services.intake import (
    TARGETS,
    TableError,
    create_import,
    paste_urls,
    preview_rows,
    read_table,
    resume_import,
    set_mapping,
)
from ..services.storage import app_store
from .forms import PasteForm, UploadTableForm, mapping_form

bp = members_only(Blueprint("imports", __name__, url_prefix="/imports"))


@bp.route("/new/<int:case_id>", methods=["GET", "POST"])
def create(case_id: int):
    case = access.case_for(current_user, case_id, "edit")
    paste, upload = PasteForm(prefix="paste"), UploadTableForm(prefix="upload")
    if paste.submit.data and paste.validate_on_submit():
        try:
            job = paste_urls(current_user, case, paste.text.data, allow_other=paste.allow_other.data)
            return redirect(url_for("imports.view", import_id=job.id))
        except TableError as exc:  # refused before anything is written (too many addresses)
            paste.text.errors.append(str(exc))
    elif upload.submit.data and upload.validate_on_submit():
        job = _upload(case, upload)
        if job is not None:
            return redirect(url_for("imports.map_columns", import_id=job.id))
    history = db.session.scalars(select(Import).where(Import.case_id == case.id).order_by(Import.id.desc())
                                 .limit(20)).all()
    return render_template("imports/create.html", case=case, paste=paste, upload=upload, history=history)


def _upload(case, form) -> Import | None:
    file = form.file.data
    if not file or not file.filename:
        form.file.errors.append("Choose a file.")
        return None
    try:
        return create_import(current_user, case, file.filename, file.read())
    except TableError as exc:
        form.file.errors.append(str(exc))
        return None


@bp.route("/<int:import_id>/map", methods=["GET", "POST"])
def map_columns(import_id: int):
    job = _job(import_id, "edit")
    if job.status != "mapping":
        return redirect(url_for("imports.view", import_id=job.id))
    try:
        headers, rows = read_table(app_store().path_for(job.file_sha256).read_bytes())
    except TableError as exc:  # a file stored before today's limits (e.g. more columns than can be mapped)
        abort(422, str(exc))
    form = mapping_form(headers, job.mapping, job.timezone, job.calendar, job.allow_other)
    shown = job  # the settings the preview shows: the saved ones, or those just sent
    if form.validate_on_submit():
        mapping = {t: form[f"map_{t}"].data for t in TARGETS if form[f"map_{t}"].data in headers}
        settings = {"mapping": mapping, "timezone": form.timezone.data.strip(), "calendar": form.calendar.data,
                    "allow_other": bool(form.allow_other.data)}
        try:
            queued = set_mapping(current_user, job, headers, start=bool(form.submit.data), **settings)
        except TableError as exc:  # nothing saved: the form keeps what was chosen, the error by its field
            field = {"url": form.map_url, "calendar": form.calendar}.get(exc.field, form.timezone)
            field.errors = [*field.errors, str(exc)]
            shown = Import(**settings)  # not added to the session: only read by the preview
        else:
            if queued and form.submit.data:
                jobs.start_import(current_app._get_current_object(), job.id, current_user.id)
            if job.status != "mapping":
                return redirect(url_for("imports.view", import_id=job.id))
    unreadable = form.timezone.errors or form.calendar.errors
    preview = [] if unreadable else preview_rows(job.case, shown, headers, rows[:20])
    return render_template("imports/map.html", job=job, case=job.case, form=form, headers=headers, preview=preview,
                           rows=len(rows))


@bp.route("/<int:import_id>")
def view(import_id: int):
    job = _job(import_id)
    return render_template("imports/view.html", job=job, case=job.case, labels=RESULTS,
                           can_resume=job.resumable and access.can(current_user, job.case_id, "edit"))


@bp.post("/<int:import_id>/resume")
def resume(import_id: int):
    job = _job(import_id, "edit")
    if resume_import(current_user, job):
        jobs.start_import(current_app._get_current_object(), job.id, current_user.id)
    else:
        flash("This import cannot be resumed now: it is running, finished, or has no file to read again.")
    return redirect(url_for("imports.view", import_id=job.id))


@bp.route("/<int:import_id>/status.json")
def status(import_id: int):
    job = _job(import_id)
    return {"id": job.id, "status": job.status, "stage": f"{job.status}: {len(job.results)} of {job.total} rows",
            "progress": job.progress, "rows_done": len(job.results), "created": job.created,
            "duplicates": job.duplicates, "failed": job.failed, "resumable": job.resumable, "error": job.error or None}


@bp.route("/<int:import_id>/<any(results, errors):which>.csv")
def download(import_id: int, which: str):
    job = _job(import_id)
    rows = job.results if which == "results" else [r for r in job.results if r["status"] not in ("created",
                                                                                                "duplicate")]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["line", "input", "url", "result", "reason", "entry_number"])
    for r in rows:
        writer.writerow([safe_cell(v) for v in (r["line"], r["input"], r["url"], RESULTS.get(r["status"]),
                                                 r["reason"], r.get("entry_number") or "")])
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="import-{job.id}-{which}.csv"'})


def _job(import_id: int, permission: str = "read") -> Import:
    return jobs.expire_stalled(access.import_for(current_user, import_id, permission),
                               current_app.config["IMPORT_TIMEOUT"])
