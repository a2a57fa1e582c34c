from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..auth.guard import members_only
from ..downloads import send_original, send_print_copy
from ..errors import json_error, wants_json
from ..extensions import db
from ..forms import EXPIRED, ConfirmForm, flash_errors, flash_refusal
from ..services import access
from ..services.duplicates import DuplicateError, dismiss_finding
from ..services.evidence import (
    EvidenceError,
    Limits,
    add_archive_link,
    add_evidence_file,
    near_duplicates,
    purge_evidence,
    record_download,
    withdraw_evidence,
)
from ..services.storage import StorageFull, app_store
from ..services.urls import URLError
from ..templating import filesize
from .forms import ArchiveLinkForm, RetireForm, UploadForm

bp = members_only(Blueprint("evidence", __name__, url_prefix="/evidence"))


@bp.route("/upload/<int:entry_id>", methods=["POST"])
def upload(entry_id: int):
    """Each file is stored or refused on its own. A refusal is said next to the file field: the entry page is
    shown again (with the status of the refusal when nothing was stored); the page's script gets JSON."""
    entry = access.entry_for(current_user, entry_id, "edit")
    form = UploadForm()
    if not form.validate_on_submit():
        if not form.is_submitted() or "csrf_token" in form.errors:
            abort(400, EXPIRED)
        fields = {k: [str(m) for m in v] for k, v in form.errors.items()}  # e.g. a kind that is not one
        if wants_json():
            return json_error(422, "validation_error", "Some fields are not valid.", fields)
        from ..entries.page import render_entry

        return render_entry(entry, 422, upload_form=form)
    files = [f for f in form.files.data or [] if f and f.filename]
    results, notes = [], []
    for upload_file in files:
        try:
            ev = add_evidence_file(current_user, entry, upload_file.stream, upload_file.filename, app_store(),
                                   Limits.from_config(current_app.config), form.kind.data or None)
            results.append({"name": ev.original_name, "ok": True, "sha256": ev.sha256, "id": ev.id})
            notes.append((f"Stored {ev.original_name} (SHA-256 {ev.sha256[:16]}…).", "success"))
            alike = sorted({other.entry.number for other in near_duplicates(ev)})
            if alike:  # one line per file; the entry page lists them once, each with "not the same post"
                notes.append((f"{ev.original_name} looks like the screenshot of entr{'ies' if len(alike) > 1 else 'y'} "
                              f"{', '.join(f'#{n}' for n in alike)}: is this the same post?", "warning"))
        except EvidenceError as exc:
            db.session.rollback()
            results.append({"name": upload_file.filename, "ok": False, "error": str(exc), "status": exc.status})
        except StorageFull:
            if not any(r["ok"] for r in results):
                raise  # nothing of this request was kept: the 507 page or JSON says so
            message = "The server's storage is full: this file and the ones after it were not saved."
            results.append({"name": upload_file.filename, "ok": False, "error": message, "status": 507})
            break
    failed = [r for r in results if not r["ok"]]
    stored = len(results) - len(failed)
    if wants_json():  # the page's script: it reloads the page when something was stored, else says why here
        for message, category in notes if stored else ():
            flash(message, category)
        for r in failed if stored else ():
            flash(f"{r['name']}: {r['error']}", "error")
        return jsonify({"results": results}), (failed[0]["status"] if failed and not stored else 200)
    for message, category in notes:
        flash(message, category)
    if failed or not files:
        from ..entries.page import render_entry  # here: reviews.views imports this module's app_store()

        form.files.errors = [f"{r['name']}: {r['error']}" for r in failed] or ["Choose at least one file."]
        status = 200 if stored else (failed[0]["status"] if failed else 422)
        return render_entry(access.entry_for(current_user, entry_id, "edit"), status, upload_form=form)
    return redirect(url_for("entries.view", entry_id=entry.id, _anchor="evidence"))


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    """An upload over the limit is refused before its body is read (no file is kept, no CSRF token read). The
    plain form gets the entry page again with the size and the limit next to the file field; scripts JSON."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    sent = request.content_length
    message = (f"This upload ({filesize(sent)}) is larger than the {filesize(limit)} limit per upload (all files "
               "together). Nothing was saved: send fewer or smaller files." if sent and sent > limit else
               f"The upload is larger than the {filesize(limit)} limit. Nothing was saved.")
    if wants_json():
        return json_error(413, "request_entity_too_large", message)
    entry_id = (request.view_args or {}).get("entry_id") if request.endpoint == "evidence.upload" else None
    try:
        entry = access.entry_for(current_user, entry_id, "edit") if entry_id else None
    except HTTPException:
        entry = None  # not a member: the same plain page as for anyone else, nothing about the entry
    if entry is None:
        return render_template("errors/error.html", status=413, title="Too large", message=message), 413
    from ..entries.page import render_entry  # here: reviews.views imports this module's app_store()

    form = UploadForm(formdata=None)
    form.files.errors = [message]
    return render_entry(entry, 413, upload_form=form)


@bp.route("/link/<int:entry_id>", methods=["POST"])
def link(entry_id: int):
    entry = access.entry_for(current_user, entry_id, "edit")
    form = ArchiveLinkForm()
    if form.validate_on_submit():
        try:
            add_archive_link(current_user, entry, form.url.data)
            flash("Archive link added.", "success")
        except URLError as exc:  # refused before anything was written
            flash(str(exc), "error")
    else:
        flash_errors(form, labels=False)
    return redirect(url_for("entries.view", entry_id=entry.id, _anchor="evidence"))


@bp.route("/<int:evidence_id>/original")
def original(evidence_id: int):
    evidence = access.evidence_for(current_user, evidence_id)
    response = send_original(evidence)
    record_download(current_user, evidence)
    return response


@bp.route("/<int:evidence_id>/print")
def print_copy(evidence_id: int):
    return send_print_copy(access.evidence_for(current_user, evidence_id))


@bp.route("/<int:evidence_id>/<any(withdraw, purge):action>", methods=["POST"])
def retire(evidence_id: int, action: str):
    """Withdraw (editors) keeps the file; purge (owners, after confirmation) removes its bytes but not its hash."""
    evidence = access.evidence_for(current_user, evidence_id, "manage" if action == "purge" else "edit")
    form = RetireForm()
    if not form.validate_on_submit():
        flash("Say why.", "error")
    else:
        try:
            if action == "purge":
                done = purge_evidence(current_user, evidence, form.reason.data, app_store())
                # Said the same whether or not other cases hold the same bytes: nothing about other teams.
                if done.complete:
                    flash("The file was purged from this case; its hash and your reason stay in the history.",
                          "info")
                else:
                    entries = ", ".join(f"#{n}" for n in done.same_case_entries)
                    flash(f"The file left this entry, but entries {entries} of this case hold the same bytes: "
                          "purge it there too to remove it from this case.", "error")
                if done.locked_until:  # S3 Object Lock (S3_OBJECT_LOCK_DAYS)
                    flash(f"The store keeps the file's bytes under Object Lock until {done.locked_until:%Y-%m-%d} "
                          "UTC: nobody, not even an administrator, can delete them before then. They are no longer "
                          "shown or exported; the storage sweep removes them after that date.", "info")
            else:
                withdraw_evidence(current_user, evidence, form.reason.data)
                flash("File withdrawn: it stays stored and in the history, but leaves the dossier.", "info")
        except EvidenceError as exc:
            flash_refusal(exc)
    return redirect(url_for("entries.view", entry_id=evidence.entry_id, _anchor="evidence"))


@bp.post("/not-same/<int:entry_id>/<int:finding_id>")
def not_same(entry_id: int, finding_id: int):
    """A person with edit rights says two alike screenshots are not of the same post: the warning goes for good."""
    entry = access.entry_for(current_user, entry_id, "edit")
    if not ConfirmForm().validate_on_submit():
        abort(400, EXPIRED)
    try:
        dismiss_finding(current_user, entry, finding_id)
    except DuplicateError:
        abort(404)
    flash("Marked as not the same post; the warning is gone from both entries.", "info")
    return redirect(url_for("entries.view", entry_id=entry.id, _anchor="evidence"))
