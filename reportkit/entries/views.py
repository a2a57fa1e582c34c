from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from ..auth.guard import members_only
from ..evidence.forms import RetireForm
from ..extensions import db
from ..forms import ConfirmForm
from ..services import access
from ..services import entries as entry_ops
from ..services import reviews as review_ops
from ..services.dates import id_time_warning
from ..services.language import guess_language
from .forms import MAX_TEXT, EntryCreateForm, EntryForm, local_naive, user_zone
from .page import render_entry, violation_form

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
            if entry.platform == "other":  # typed on purpose, one at a time: kept, and said
                flash("This address is not a post of a platform reportkit knows: it was added as “other”.", "info")
            if entry.posted_at_conflict:
                flash(id_time_warning(*entry.posted_at_conflict, user_zone()), "warning")
            return redirect(url_for("entries.view", entry_id=entry.id))
    return render_template("entries/create.html", case=case, form=form)


@bp.route("/<int:entry_id>")
def view(entry_id: int):
    return render_entry(access.entry_for(current_user, entry_id))


@bp.route("/<int:entry_id>/edit", methods=["GET", "POST"])
def edit(entry_id: int):
    entry = access.entry_for(current_user, entry_id, "edit")
    form = EntryForm(data=_form_data(entry))  # no obj=: the model's tags and times are not form values
    form.set_accounts(entry.case.accounts)
    if request.method == "GET" and entry.text and not entry.language:
        form.language.data = guess_language(entry.text)  # prefilled, shown, saved only if the person saves
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
            if entry.posted_at_conflict:
                flash(id_time_warning(*entry.posted_at_conflict, user_zone()), "warning")
            return redirect(url_for("entries.view", entry_id=entry.id))
    return render_template("entries/edit.html", entry=entry, case=entry.case, form=form)


@bp.route("/<int:entry_id>/violations", methods=["GET", "POST"])
def add_violation(entry_id: int):
    """A refused mapping is the entry page again (422), scrolled to the form, with what was typed and the error
    next to its field; typed words that name one clause of the post's platform are taken for its key."""
    entry = access.entry_for(current_user, entry_id, "edit")
    if request.method == "GET":  # a reload of the refused form's page
        return redirect(url_for("entries.view", entry_id=entry.id, _anchor="violations"))
    form = violation_form(entry)
    if form.validate_on_submit():
        try:
            entry_ops.add_violation(current_user, entry, form.clause_key, form.rationale.data)
        except entry_ops.EntryError as exc:
            db.session.rollback()
            form[exc.field if exc.field in ("clause", "rationale") else "clause"].errors.append(str(exc))
        else:
            flash("Clause mapped.", "success")
            return redirect(url_for("entries.view", entry_id=entry.id, _anchor="violations"))
    elif "csrf_token" in form.errors:
        form.clause.errors.append("The form expired: send it again.")
    return render_entry(access.entry_for(current_user, entry_id, "edit"), 422, violation_form=form)


@bp.route("/<int:entry_id>/violations/<int:violation_id>/delete", methods=["POST"])
def delete_violation(entry_id: int, violation_id: int):
    entry = access.entry_for(current_user, entry_id, "edit")
    violation = next((v for v in entry.violations if v.id == violation_id), None)
    if violation is None or not ConfirmForm().validate_on_submit():
        abort(404 if violation is None else 400)
    heading = violation.clause.heading
    entry_ops.remove_violation(current_user, entry, violation)
    flash(f"Clause mapping removed: {heading}", "info")
    return redirect(url_for("entries.view", entry_id=entry.id, _anchor="violations"))


def _naive(value):
    return local_naive(value)  # the form shows the user's local time


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


@bp.post("/language")
def language():
    """The language guessed from a text, for the entry form's field as the person types (signed-in users;
    the page's CSRF token). Nothing is stored or recorded; the guess is empty when the text says too little."""
    return {"language": guess_language(request.form.get("text", "")[:MAX_TEXT])}
