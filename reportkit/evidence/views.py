from flask import Blueprint, abort, current_app, flash, jsonify, redirect, url_for
from flask_login import current_user

from ..auth.guard import members_only
from ..downloads import send_original, send_print_copy
from ..errors import wants_json
from ..extensions import db
from ..services import access
from ..services.evidence import EvidenceError, Limits, add_archive_link, add_evidence_file, near_duplicates, \
    purge_evidence, record_download, withdraw_evidence
from ..services.storage import EvidenceStore, StorageFull
from ..services.urls import URLError
from .forms import ArchiveLinkForm, RetireForm, UploadForm

bp = members_only(Blueprint("evidence", __name__, url_prefix="/evidence"))


def store() -> EvidenceStore:
    return EvidenceStore(current_app.config["EVIDENCE_DIR"])


@bp.route("/upload/<int:entry_id>", methods=["POST"])
def upload(entry_id: int):
    entry = access.entry_for(current_user, entry_id, "edit")
    form = UploadForm()
    if not form.validate_on_submit():
        abort(400, "The form expired. Reload the page and try again.")
    files = [f for f in form.files.data or [] if f and f.filename]
    if not files:
        flash("Choose at least one file.", "error")
    results = []
    for upload_file in files:
        try:
            ev = add_evidence_file(current_user, entry, upload_file.stream, upload_file.filename, store(),
                                   Limits.from_config(current_app.config), form.kind.data or None)
            results.append({"name": ev.original_name, "ok": True, "sha256": ev.sha256, "id": ev.id})
            flash(f"Stored {ev.original_name} (SHA-256 {ev.sha256[:16]}…).", "success")
            for other in near_duplicates(ev):
                flash(f"{ev.original_name} looks like the screenshot of entry #{other.entry.number}: "
                      "is this the same post?", "warning")
        except EvidenceError as exc:
            db.session.rollback()
            results.append({"name": upload_file.filename, "ok": False, "error": str(exc), "status": exc.status})
            flash(f"{upload_file.filename}: {exc}", "error")
        except StorageFull:
            if not any(r["ok"] for r in results):
                raise  # nothing of this request was kept: the 507 page or JSON says so
            message = "The server's storage is full: this file and the ones after it were not saved."
            results.append({"name": upload_file.filename, "ok": False, "error": message, "status": 507})
            flash(f"{upload_file.filename}: {message}", "error")
            break
    if wants_json():
        failed = [r for r in results if not r["ok"]]
        return jsonify({"results": results}), (failed[0]["status"] if failed and len(failed) == len(results) else 200)
    return redirect(url_for("entries.view", entry_id=entry.id, _anchor="evidence"))


@bp.route("/link/<int:entry_id>", methods=["POST"])
def link(entry_id: int):
    entry = access.entry_for(current_user, entry_id, "edit")
    form = ArchiveLinkForm()
    if form.validate_on_submit():
        try:
            add_archive_link(current_user, entry, form.url.data)
            flash("Archive link added.", "success")
        except URLError as exc:
            flash(str(exc), "error")
    else:
        flash("; ".join(v[0] for v in form.errors.values()), "error")
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
                done = purge_evidence(current_user, evidence, form.reason.data, store())
                # Said the same whether or not other cases hold the same bytes: nothing about other teams.
                if done.complete:
                    flash("The file was purged from this case; its hash and your reason stay in the history.",
                          "info")
                else:
                    entries = ", ".join(f"#{n}" for n in done.same_case_entries)
                    flash(f"The file left this entry, but entries {entries} of this case hold the same bytes: "
                          "purge it there too to remove it from this case.", "error")
            else:
                withdraw_evidence(current_user, evidence, form.reason.data)
                flash("File withdrawn: it stays stored and in the history, but leaves the dossier.", "info")
        except EvidenceError as exc:
            flash(str(exc), "error")
    return redirect(url_for("entries.view", entry_id=evidence.entry_id, _anchor="evidence"))
