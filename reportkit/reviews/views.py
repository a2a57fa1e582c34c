from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from ..auth.guard import members_only
from ..extensions import db
from ..forms import EXPIRED, ConfirmForm, flash_errors, flash_refusal
from ..models import PLATFORMS, Annotation, Region
from ..services import access
from ..services import reviews as review_ops
from ..services.errors import ServiceError
from ..services.evidence import refresh_marked_copy
from ..services.policies import clause_misfit
from ..services.storage import app_store
from .forms import AnnotationForm, RegionForm, TransitionForm

bp = members_only(Blueprint("reviews", __name__, url_prefix="/reviews"))


@bp.route("/")
def index():
    entries = review_ops.review_queue(current_user)
    # A clause of another platform's rules is shown as such: the reviewer sees platform and clause together.
    misfits = {v.id: clause_misfit(v.clause, e.platform, urlsplit(e.canonical_url).hostname or "")
               for e in entries for v in e.violations}
    return render_template("reviews/index.html", entries=entries, platforms=PLATFORMS, misfits=misfits)


@bp.route("/entries/<int:entry_id>/transition", methods=["POST"])
def transition(entry_id: int):
    entry = access.entry_for(current_user, entry_id)
    form = TransitionForm()
    if not form.validate_on_submit():
        abort(400, EXPIRED)
    try:
        review_ops.transition(current_user, entry, form.to.data, form.reason.data)
        flash(f"Entry #{entry.number}: {entry.status.replace('_', ' ')}"
              + (f" ({len(entry.current_approvals)} of {entry.case.required_approvals} approvals)"
                 if form.to.data == "approved" and entry.status != "approved" else "") + ".", "success")
    except ServiceError as exc:
        flash_refusal(exc)
    return redirect(url_for("entries.view", entry_id=entry.id, _anchor="review"))


@bp.route("/entries/<int:entry_id>/annotations", methods=["POST"])
def annotate(entry_id: int):
    entry = access.entry_for(current_user, entry_id)
    form = AnnotationForm()
    if form.validate_on_submit():
        try:
            review_ops.annotate(current_user, entry, form.body.data, form.kind.data, form.include_in_dossier.data)
            flash("Note added.", "success")
        except ServiceError as exc:
            flash_refusal(exc)
    else:
        flash_errors(form, labels=False)
    return redirect(url_for("entries.view", entry_id=entry.id, _anchor="notes"))


@bp.route("/annotations/<int:note_id>/<any(resolve, include, exclude):action>", methods=["POST"])
def note_action(note_id: int, action: str):
    note = db.session.get(Annotation, note_id) or abort(404)
    entry = access.entry_for(current_user, note.entry_id)
    if not ConfirmForm().validate_on_submit():
        abort(400, EXPIRED)
    try:
        if action == "resolve":
            review_ops.resolve(current_user, entry, note)
        else:
            review_ops.set_in_dossier(current_user, entry, note, action == "include")
    except ServiceError as exc:
        flash_refusal(exc)
    return redirect(url_for("entries.view", entry_id=entry.id, _anchor=f"note-{note.id}"))


@bp.route("/evidence/<int:evidence_id>/regions", methods=["POST"])
def add_region(evidence_id: int):
    evidence = access.evidence_for(current_user, evidence_id)
    form = RegionForm()
    if form.validate_on_submit():
        try:
            review_ops.add_region(current_user, evidence.entry, evidence, form.kind.data, form.x.data / 100,
                                  form.y.data / 100, form.w.data / 100, form.h.data / 100, form.label.data)
            refresh_marked_copy(current_user, evidence, app_store(), current_app.config["PRINT_MAX_WIDTH"])
            flash("Region saved. The dossier will show the marked copy; the original is unchanged.", "success")
        except ServiceError as exc:
            flash_refusal(exc)
    else:
        flash_errors(form)
    return redirect(url_for("entries.view", entry_id=evidence.entry_id, _anchor=f"evidence-{evidence.id}"))


@bp.route("/regions/<int:region_id>/delete", methods=["POST"])
def delete_region(region_id: int):
    region = db.session.get(Region, region_id) or abort(404)
    evidence = access.evidence_for(current_user, region.evidence_id, "annotate")
    if not ConfirmForm().validate_on_submit():
        abort(400, EXPIRED)
    review_ops.remove_region(current_user, evidence, region)
    refresh_marked_copy(current_user, evidence, app_store(), current_app.config["PRINT_MAX_WIDTH"])
    flash("Region removed.", "info")
    return redirect(url_for("entries.view", entry_id=evidence.entry_id, _anchor=f"evidence-{evidence.id}"))

