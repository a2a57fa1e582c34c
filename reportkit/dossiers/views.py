from dataclasses import replace

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..auth.guard import members_only
from ..downloads import send_package, send_pdf
from ..extensions import db
from ..models import Dossier, Event, Violation
from ..services import access, jobs
from ..services import entries as entry_ops
from ..services.dossier.data import language_warnings, left_out_lines, selection
from ..services.dossier.job import DossierRefused, create_dossier, select_entries
from ..services.exports import entries_csv, entries_json
from ..services.package import OriginalsRefused, check_originals, may_include_originals, originals_exposure
from ..services.reviews import ReviewError
from ..services.storage import app_store
from .forms import DossierForm, RationaleEnglishForm

bp = members_only(Blueprint("dossiers", __name__, url_prefix="/dossiers"))


@bp.route("/new/<int:case_id>", methods=["GET", "POST"])
def create(case_id: int):
    case = access.case_for(current_user, case_id)
    form = DossierForm()
    form.set_accounts(case.accounts)
    problems, exposure, options, status = [], None, None, 200
    if form.validate_on_submit():
        access.check(current_user, case.id, "annotate")
        options = form.read_or_show(case)  # the one check of dossier options (services/dossier/options.py)
    if form.errors:
        status = 422
    elif options is not None:
        try:
            check_originals(current_user, case, options)
        except OriginalsRefused as exc:
            abort(403, str(exc))
        if options.include_originals and not form.confirm_originals.data:  # say what leaves, then ask again
            exposure = originals_exposure(select_entries(case, options), app_store())
        else:
            try:
                dossier = create_dossier(current_user, case, options, with_package=form.with_package.data)
            except DossierRefused as exc:
                problems = exc.problems
            else:
                jobs.start_dossier(current_app._get_current_object(), dossier.id)
                return redirect(url_for("dossiers.view", dossier_id=dossier.id))
    history = [jobs.expire_stalled(d, current_app.config["DOSSIER_TIMEOUT"]) for d in db.session.scalars(
        select(Dossier).where(Dossier.case_id == case.id).order_by(Dossier.id.desc()).limit(50))]
    chosen = options or DossierForm(formdata=None).read(case)  # the page describes what was sent, or the defaults
    printed = selection(case, chosen)
    with_unapproved = selection(case, replace(chosen, approved_only=False))
    form.count_unapproved(with_unapproved.unapproved)
    return render_template("dossiers/create.html", case=case, form=form, problems=problems, history=history,
                           exposure=exposure,
                           can_include_originals=may_include_originals(current_user, case),
                           printed=len(printed.entries), left_out=left_out_lines(printed.left_out),
                           warnings=language_warnings(with_unapproved.entries)), status  # before approval seals them


@bp.route("/<int:dossier_id>")
def view(dossier_id: int):
    dossier = _dossier(dossier_id)
    packages = db.session.scalars(select(Event).where(
        Event.case_id == dossier.case_id, Event.action == "package.exported")) if dossier.package_sha256 else []
    timestamps = next((e.data.get("timestamps", []) for e in packages if e.data.get("dossier") == dossier.document_id),
                      [])
    return render_template("dossiers/view.html", dossier=dossier, case=dossier.case, timestamps=timestamps)


@bp.route("/<int:dossier_id>/status.json")
def status(dossier_id: int):
    d = _dossier(dossier_id)
    return {"id": d.id, "status": d.status, "stage": d.stage, "progress": d.progress, "pages": d.pages,
            "sha256": d.sha256, "error": d.error or None}


@bp.route("/<int:dossier_id>/pdf")
def pdf(dossier_id: int):
    return send_pdf(_dossier(dossier_id))


@bp.route("/<int:dossier_id>/package")
def package(dossier_id: int):
    return send_package(_dossier(dossier_id))


@bp.route("/export/<int:case_id>.<any(csv, json):fmt>")
def export(case_id: int, fmt: str):
    case = access.case_for(current_user, case_id)
    form = DossierForm(request.args, meta={"csrf": False})
    form.set_accounts(case.accounts)
    entries = select_entries(case, form.read(case))  # options that are not valid: 422, said (errors.py)
    name = f"reportkit-case-{case.id}"
    if fmt == "csv":
        return Response(entries_csv(entries), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    response = current_app.json.response(entries_json(case, entries))
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return response


@bp.route("/rationales/<int:violation_id>/english", methods=["GET", "POST"])
def rationale_english(violation_id: int):
    """Add the English version of a rationale written in another language (the export page links here)."""
    violation = db.session.get(Violation, violation_id) or abort(404)
    entry = access.entry_for(current_user, violation.entry_id, "edit")
    form = RationaleEnglishForm(data={"rationale_en": violation.rationale_en})
    if form.validate_on_submit():
        try:
            entry_ops.set_rationale_en(current_user, entry, violation, form.rationale_en.data)
        except (entry_ops.EntryError, ReviewError) as exc:
            db.session.rollback()
            form.rationale_en.errors.append(str(exc))
        else:
            flash(f"Entry #{entry.number}: English version saved.", "success")
            return redirect(url_for("dossiers.create", case_id=entry.case_id, _anchor="language"))
    return render_template("dossiers/english.html", case=entry.case, entry=entry, violation=violation, form=form)


def _dossier(dossier_id: int) -> Dossier:
    return jobs.expire_stalled(access.dossier_for(current_user, dossier_id), current_app.config["DOSSIER_TIMEOUT"])
