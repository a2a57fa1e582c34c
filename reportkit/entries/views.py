from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from ..auth.guard import members_only
from ..cases.forms import ConfirmForm
from ..evidence.forms import ArchiveLinkForm, RetireForm, UploadForm
from ..extensions import db
from ..models import PERMISSIONS, Clause, Policy
from ..reviews.forms import AnnotationForm, RegionForm, TransitionForm
from ..services import access
from ..services import entries as entry_ops
from ..services import reviews as review_ops
from ..services.custody import entry_history
from ..services.evidence import near_duplicates
from .forms import EntryCreateForm, EntryForm, ViolationForm

bp = members_only(Blueprint("entries", __name__, url_prefix="/entries"))


@bp.route("/new/<int:case_id>", methods=["GET", "POST"])
def create(case_id: int):
    case = access.case_for(current_user, case_id, "edit")
    form = EntryCreateForm()
    form.set_accounts(case.accounts)
    if form.validate_on_submit():
        try:
            entry = entry_ops.create_entry(current_user, case, form.url.data, form.service_fields())
        except entry_ops.DuplicateEntry as exc:
            db.session.rollback()
            link = url_for("entries.view", entry_id=exc.existing.id)
            form.url.errors.append(Markup('{} <a href="{}">Open it</a>.').format(str(exc), link))
        except entry_ops.EntryError as exc:
            db.session.rollback()
            form[exc.field or "url"].errors.append(str(exc))
        else:
            flash(f"Entry #{entry.number} added. Now upload the screenshot and map the clause.", "success")
            return redirect(url_for("entries.view", entry_id=entry.id))
    return render_template("entries/create.html", case=case, form=form)


@bp.route("/<int:entry_id>")
def view(entry_id: int):
    entry = access.entry_for(current_user, entry_id)
    role = access.role_in(entry.case_id, current_user)
    rights = PERMISSIONS[role]
    return render_template("entries/view.html", entry=entry, case=entry.case, role=role,
                           can_edit="edit" in rights and not entry.sealed, can_annotate="annotate" in rights,
                           can_review="review" in rights, moves=review_ops.allowed_moves(current_user, entry),
                           upload_form=UploadForm(), link_form=ArchiveLinkForm(), violation_form=ViolationForm(),
                           transition_form=TransitionForm(), note_form=AnnotationForm(), region_form=RegionForm(),
                           confirm=ConfirmForm(), clauses=_clause_choices(entry.platform),
                           near={ev.id: near_duplicates(ev) for ev in entry.evidence if ev.phash},
                           retire=RetireForm(), history=entry_history(entry.id))


@bp.route("/<int:entry_id>/edit", methods=["GET", "POST"])
def edit(entry_id: int):
    entry = access.entry_for(current_user, entry_id, "edit")
    form = EntryForm(data=_form_data(entry))  # no obj=: the model's tags and times are not form values
    form.set_accounts(entry.case.accounts)
    if form.validate_on_submit():
        fields = form.service_fields()
        if _same_minute(fields["posted_at"], entry.posted_at):
            fields.pop("posted_at")  # untouched (the field shows minutes): keep the exact time and its source
        if _same_minute(fields["captured_at"], entry.captured_at):
            fields.pop("captured_at")
        try:
            entry_ops.update_entry(current_user, entry, fields)
        except entry_ops.EntryError as exc:
            db.session.rollback()
            form[exc.field].errors.append(str(exc)) if exc.field in form else flash(str(exc), "error")
        else:
            flash("Entry saved.", "success")
            return redirect(url_for("entries.view", entry_id=entry.id))
    return render_template("entries/edit.html", entry=entry, case=entry.case, form=form)


@bp.route("/<int:entry_id>/violations", methods=["POST"])
def add_violation(entry_id: int):
    entry = access.entry_for(current_user, entry_id, "edit")
    form = ViolationForm()
    if form.validate_on_submit():
        try:
            entry_ops.add_violation(current_user, entry, form.clause.data, form.rationale.data)
            flash("Clause mapped.", "success")
        except entry_ops.EntryError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    else:
        flash("; ".join(f"{form[k].label.text}: {v[0]}" for k, v in form.errors.items()), "error")
    return redirect(url_for("entries.view", entry_id=entry.id, _anchor="violations"))


@bp.route("/<int:entry_id>/violations/<int:violation_id>/delete", methods=["POST"])
def delete_violation(entry_id: int, violation_id: int):
    entry = access.entry_for(current_user, entry_id, "edit")
    violation = next((v for v in entry.violations if v.id == violation_id), None)
    if violation is None or not ConfirmForm().validate_on_submit():
        abort(404 if violation is None else 400)
    heading = violation.clause.heading
    entry_ops.remove_violation(entry, violation, current_user)
    flash(f"Clause mapping removed: {heading}", "info")
    return redirect(url_for("entries.view", entry_id=entry.id, _anchor="violations"))


def _clause_choices(platform: str) -> list[Clause]:
    """Every clause, the entry's own platform first, so the picker's top suggestions fit the post."""
    policy_platform = {"facebook": "meta", "instagram": "meta", "threads": "meta"}.get(platform, platform)
    clauses = db.session.scalars(select(Clause).join(Policy).order_by(Clause.id)).all()
    return sorted(clauses, key=lambda c: c.policy.platform.key != policy_platform)


def _naive(value):
    return value.replace(tzinfo=None) if value else None


def _same_minute(submitted, stored) -> bool:
    if submitted is None or stored is None:
        return submitted is None and stored is None
    return submitted == stored.replace(second=0, microsecond=0)


def _form_data(entry) -> dict:
    data = {name: getattr(entry, name) for name in entry_ops.EDITABLE}
    data.update(tags=", ".join(entry.tag_names), account_id=entry.account_id or 0,
                posted_at=_naive(entry.posted_at), captured_at=_naive(entry.captured_at))
    return data


@bp.route("/<int:entry_id>/withdraw", methods=["POST"])
def withdraw(entry_id: int):
    entry = access.entry_for(current_user, entry_id, "edit")
    form = RetireForm()
    if form.validate_on_submit():
        review_ops.withdraw_entry(current_user, entry, form.reason.data)
        flash(f"Entry #{entry.number} withdrawn. It stays in the history but leaves lists and dossiers.", "info")
        return redirect(url_for("cases.view", case_id=entry.case_id))
    flash("Say why the entry is withdrawn.", "error")
    return redirect(url_for("entries.view", entry_id=entry.id))
