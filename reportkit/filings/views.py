"""Filings pages: record where entries were reported (from a finished dossier, or by hand), then the platform's
answer and the appeals. Thin: the service checks and writes (services/filings.py); a refusal goes on its field."""

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..auth.guard import members_only
from ..downloads import send_stored
from ..extensions import db
from ..forms import EXPIRED, ConfirmForm
from ..models import PLATFORMS, Appeal, Dossier, Entry, Filing, FilingFile
from ..services import access
from ..services import filings as filing_ops
from ..services.dates import zone_text
from ..services.queue import enqueue
from ..services.storage import app_store
from ..templating import viewer_zone
from .forms import AppealForm, AppealOutcomeForm, DecisionForm, FileForm, FilingEditForm, FilingForm

bp = members_only(Blueprint("filings", __name__, cli_group=None))  # `reportkit recheck`: commands.py


@bp.route("/cases/<int:case_id>/filings")
def index(case_id: int):
    case = access.case_for(current_user, case_id)
    filings = db.session.scalars(select(Filing).where(Filing.case_id == case.id)
                                 .order_by(Filing.filed_at.desc(), Filing.id.desc())).all()
    return render_template("filings/index.html", case=case, filings=filings, platforms=PLATFORMS)


@bp.route("/cases/<int:case_id>/filings/new", methods=["GET", "POST"])
def create(case_id: int):
    case = access.case_for(current_user, case_id, "edit")
    form = FilingForm()
    entries = db.session.scalars(select(Entry).where(Entry.case_id == case.id, Entry.withdrawn_at.is_(None))
                                 .order_by(Entry.number)).all()
    form.entry_ids.choices = [(e.id, f"#{e.number} {e.platform} {e.canonical_url or e.url}") for e in entries]
    dossier = _dossier(case.id, request.values.get("dossier", type=int) or
                       (int(form.dossier_id.data) if (form.dossier_id.data or "").isdigit() else None))
    one = request.args.get("entry", type=int)
    if request.method == "GET" and dossier is None and one in {e.id for e in entries}:  # from an entry's page
        form.entry_ids.data = [one]
        form.platform.data = next(e.platform for e in entries if e.id == one)
    if request.method == "GET" and dossier is not None:
        numbers = filing_ops.dossier_entry_numbers(dossier)
        form.entry_ids.data = [e.id for e in entries if e.number in numbers]
        form.platform.data = filing_ops.main_platform([e for e in entries if e.number in numbers]) or "x"
        form.dossier_id.data = str(dossier.id)
    if form.validate_on_submit():
        try:
            filing = filing_ops.record_filing(
                current_user, case.id, form.platform.data, form.channel.data, form.entry_ids.data,
                dossier.id if dossier else None, form.filed_at.instant, form.reference.data,
                form.requested_action.data, form.notes.data)
        except filing_ops.FilingError as exc:
            db.session.rollback()
            _on_field(form, exc)
        else:
            flash("Filing recorded.", "success")
            return redirect(url_for("filings.view", filing_id=filing.id))
    return render_template("filings/new.html", case=case, form=form, dossier=dossier), \
        422 if form.errors else 200


@bp.route("/filings/<int:filing_id>", methods=["GET"])
def view(filing_id: int):
    filing, case = _filing(filing_id)
    return _page(filing, case, FilingEditForm(obj=filing, formdata=None), DecisionForm(formdata=None),
                 AppealForm(formdata=None))


@bp.route("/filings/<int:filing_id>/edit", methods=["POST"])
def edit(filing_id: int):
    filing, case = _filing(filing_id, "edit")
    form = FilingEditForm()
    if form.validate_on_submit():
        changes = {"reference": form.reference.data, "notes": form.notes.data,
                   "confirmed_at": form.confirmed_at.instant}
        if _saved(form, lambda: filing_ops.update_filing(current_user, filing, changes)):
            return redirect(url_for("filings.view", filing_id=filing.id))
    return _page(filing, case, form, DecisionForm(formdata=None), AppealForm(formdata=None), 422)


@bp.route("/filings/<int:filing_id>/decisions", methods=["POST"])
def decide(filing_id: int):
    filing, case = _filing(filing_id, "edit")
    form = DecisionForm()
    form.entry_ids.choices = _entry_choices(filing)
    if form.validate_on_submit() and _saved(form, lambda: filing_ops.record_decision(current_user, filing,
                                                                                     form.to_data())):
        return redirect(url_for("filings.view", filing_id=filing.id))
    return _page(filing, case, FilingEditForm(obj=filing, formdata=None), form, AppealForm(formdata=None), 422)


@bp.route("/filings/<int:filing_id>/appeals", methods=["POST"])
def appeal(filing_id: int):
    filing, case = _filing(filing_id, "edit")
    form = AppealForm()
    form.entry_id.choices = [(0, "All entries of the filing")] + _entry_choices(filing)
    if form.validate_on_submit():
        data = {"kind": form.kind.data, "entry_id": form.entry_id.data or None, "filed_at": form.filed_at.instant,
                "reference": form.reference.data, "outcome": form.outcome.data,
                "outcome_at": form.outcome_at.instant, "notes": form.notes.data}
        if _saved(form, lambda: filing_ops.record_appeal(current_user, filing, data)):
            return redirect(url_for("filings.view", filing_id=filing.id))
    return _page(filing, case, FilingEditForm(obj=filing, formdata=None), DecisionForm(formdata=None), form, 422)


def _page(filing, case, edit_form, decision_form, appeal_form, status: int = 200):
    decision_form.entry_ids.choices = _entry_choices(filing)
    if not decision_form.entry_ids.data:
        decision_form.entry_ids.data = [e.id for e in filing.entries]
    appeal_form.entry_id.choices = [(0, "All entries of the filing")] + _entry_choices(filing)
    statuses = {e.id: filing_ops.entry_status(e.id) for e in filing.entries}
    if edit_form.confirmed_at.data is None or not isinstance(edit_form.confirmed_at.data, str):
        edit_form.confirmed_at.data = zone_text(filing.confirmed_at, viewer_zone()) if filing.confirmed_at else ""
    file_form = FileForm(formdata=None)
    file_form.decision_id.choices = [(0, "The filing")] + [
        (d.id, f"The answer about #{next((e.number for e in filing.entries if e.id == d.entry_id), '?')}")
        for d in filing.decisions]
    return render_template("filings/view.html", case=case, filing=filing, edit_form=edit_form, platforms=PLATFORMS,
                           file_form=file_form, outcome_form=AppealOutcomeForm(formdata=None),
                           follow_up_count=len(filing_ops.unanswered_numbers(case.id, filing.id) or []),
                           decision_form=decision_form, appeal_form=appeal_form, statuses=statuses,
                           window=filing_ops.complaint_window_closes, label=filing_ops.decision_label), status


def _saved(form, write) -> bool:
    try:
        write()
    except filing_ops.FilingError as exc:
        db.session.rollback()
        _on_field(form, exc)
        return False
    flash("Saved.", "success")
    return True


def _on_field(form, exc) -> None:
    field = getattr(form, exc.field or "", None)
    if field is None and exc.field in ("visibility", "no_action", "no_answer"):
        field = getattr(form, "answer", None)
    (field.errors if field is not None else form.form_errors).append(str(exc))


def _entry_choices(filing: Filing) -> list[tuple[int, str]]:
    return [(e.id, f"#{e.number} {e.canonical_url or e.url}") for e in filing.entries]


def _filing(filing_id: int, right: str = "read"):
    filing = db.session.get(Filing, filing_id)
    if filing is None:
        abort(404)
    case = access.case_for(current_user, filing.case_id, right)
    return filing, case


def _dossier(case_id: int, dossier_id: int | None) -> Dossier | None:
    dossier = db.session.get(Dossier, dossier_id) if dossier_id else None
    return dossier if dossier is not None and dossier.case_id == case_id and dossier.status == "done" else None


@bp.route("/filings/<int:filing_id>/files", methods=["POST"])
def add_file(filing_id: int):
    filing, case = _filing(filing_id, "edit")
    form = FileForm()
    if form.validate_on_submit():
        try:
            filing_ops.add_filing_file(current_user, filing, form.file.data.stream, form.file.data.filename,
                                       form.kind.data, app_store(), current_app.config["MAX_CONTENT_LENGTH"],
                                       form.decision_id.data or None)
        except filing_ops.FilingError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash("File kept.", "success")
    else:
        flash(" ".join(m for msgs in form.errors.values() for m in msgs), "error")
    return redirect(url_for("filings.view", filing_id=filing.id, _anchor="files"))


@bp.route("/filings/files/<int:file_id>")
def file(file_id: int):
    """Always a download (a saved page or mail is never shown inline), checked against its hash first."""
    row = db.session.get(FilingFile, file_id)
    if row is None:
        abort(404)
    _filing(row.filing_id)
    return send_stored(row.sha256, row.mime, row.name or f"filing-file-{row.id}")


@bp.route("/entries/<int:entry_id>/recheck", methods=["POST"])
def recheck(entry_id: int):
    """"Re-check now" on an entry's page: queued (it asks the platform); the page shows the outcome when done."""
    entry = access.entry_for(current_user, entry_id, "edit")
    if not ConfirmForm().validate_on_submit():
        abort(400, EXPIRED)
    enqueue(current_app._get_current_object(), "recheck", entry.id, current_user.id)
    flash("Re-check queued: reload the page in a moment to see what the platform answered.", "success")
    return redirect(url_for("entries.view", entry_id=entry.id, _anchor="reporting"))


@bp.route("/filings/<int:filing_id>/follow-up", methods=["POST"])
def follow_up(filing_id: int):
    """A follow-up dossier for the entries the platform did nothing about: the dossier pipeline and history."""
    from ..services import jobs
    from ..services.dossier.job import DossierRefused, create_dossier
    from ..services.dossier.options import OptionsError, read_options

    filing, case = _filing(filing_id, "annotate")  # who may export a dossier
    if not ConfirmForm().validate_on_submit():
        abort(400, EXPIRED)
    mode = "dsa" if filing.channel in ("dsa_notice", "trusted_flagger") else "rules"
    try:
        options = read_options(case, {"follow_up_filing": filing.id, "mode": mode, "approved_only": False})
        dossier = create_dossier(current_user, case, options)
    except (OptionsError, DossierRefused) as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("filings.view", filing_id=filing.id))
    jobs.start_dossier(current_app._get_current_object(), dossier.id)
    return redirect(url_for("dossiers.view", dossier_id=dossier.id))


@bp.route("/appeals/<int:appeal_id>/outcome", methods=["POST"])
def appeal_outcome(appeal_id: int):
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None:
        abort(404)
    filing, _case = _filing(appeal.filing_id, "edit")
    form = AppealOutcomeForm()
    if form.validate_on_submit():
        outcome_at = form.outcome_at.instant or (datetime.now(UTC) if form.outcome.data != "pending" else None)
        _saved(form, lambda: filing_ops.update_appeal(current_user, appeal, {"outcome": form.outcome.data,
                                                                             "outcome_at": outcome_at}))
        for message in form.outcome.errors + form.outcome_at.errors + form.form_errors:
            flash(message, "error")
    else:
        flash(" ".join(m for msgs in form.errors.values() for m in msgs), "error")
    return redirect(url_for("filings.view", filing_id=filing.id))
