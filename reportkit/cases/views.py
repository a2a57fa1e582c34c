from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from .. import mail
from ..auth.guard import members_only
from ..entries.forms import BulkForm, EntryFilterForm
from ..extensions import db
from ..forms import EXPIRED, ConfirmForm, flash_errors, flash_refusal, refuse
from ..models import PERMISSIONS, ROLE_INFO, Case, Entry, Membership
from ..models.cases import role_label
from ..services import access, jobs
from ..services import cases as case_ops
from ..services import entries as entry_ops
from ..services.activity import describe_events
from ..services.custody import case_activity, last_verification
from ..services.disclosure import People
from ..services.errors import ServiceError
from ..services.search import clause_counts, entry_query, status_counts
from .forms import (
    AccountForm,
    AnswerForm,
    CaseEditForm,
    CaseForm,
    ExportNameForm,
    MemberForm,
    RoleForm,
    options,
)

bp = members_only(Blueprint("cases", __name__, url_prefix="/cases"))


@bp.route("/")
def index():
    rows = db.session.execute(
        select(Case, Membership.role, select(func.count(Entry.id)).where(Entry.case_id == Case.id).scalar_subquery())
        .join(Membership, Membership.case_id == Case.id)
        .where(Membership.user_id == current_user.id).order_by(Case.created_at.desc())
    ).all()
    return render_template("cases/index.html", rows=rows, invitations=case_ops.invitations_for(current_user),
                           answer=AnswerForm(), role_label=role_label)


@bp.route("/invitations/<int:invitation_id>", methods=["POST"])
def answer(invitation_id: int):
    """The invitee accepts or declines. Anyone else's invitation is a 404, like a missing one."""
    invitation = case_ops.invitation_for(current_user, invitation_id)
    form = AnswerForm()
    if invitation is None:
        abort(404)
    if not form.validate_on_submit() or form.accept.data == form.decline.data:
        abort(400, EXPIRED)
    try:
        if form.accept.data:
            membership = case_ops.accept_invitation(current_user, invitation)
            flash(f"You joined “{membership.case.title}” as {role_label(membership.role).lower()}.", "success")
            return redirect(url_for("cases.view", case_id=membership.case_id))
        case_ops.decline_invitation(current_user, invitation)
        flash("Invitation declined.", "info")
    except ServiceError as exc:
        flash_refusal(exc)
    return redirect(url_for("cases.index"))


@bp.route("/new", methods=["GET", "POST"])
def create():
    form = CaseForm()
    if form.validate_on_submit():
        accounts = [{k: v for k, v in sub.data.items() if k != "csrf_token"} for sub in form.accounts
                    if (sub.form.handle.data or "").strip()]
        try:
            case = case_ops.create_case(current_user, form.title.data, form.subject.data, form.summary.data,
                                        accounts, form.allow_new_accounts.data)
        except ServiceError as exc:
            refuse(form, exc, "accounts")
        else:
            flash("Case created. Add the first entry by pasting a post URL.", "success")
            return redirect(url_for("cases.view", case_id=case.id))
    return render_template("cases/create.html", form=form)


@bp.route("/<int:case_id>")
def view(case_id: int):
    case = access.case_for(current_user, case_id)
    role = access.role_in(case.id, current_user)
    filters = EntryFilterForm(request.args)
    filters.set_accounts(case.accounts)
    filters.validate()
    page = db.paginate(entry_query(case.id, filters.to_filter()), per_page=current_app.config["ENTRIES_PER_PAGE"],
                       max_per_page=200, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page"}
    bulk = BulkForm()
    bulk.account.choices = options([(a.id, a.label) for a in case.accounts])
    return render_template("cases/view.html", case=case, page=page, filters=filters, args=args, bulk=bulk,
                           counts=clause_counts(case.id), statuses_count=status_counts(case.id),
                           role=role, perms=PERMISSIONS[role], role_label=role_label)


@bp.route("/<int:case_id>/bulk", methods=["POST"])
def bulk(case_id: int):
    case = access.case_for(current_user, case_id, "edit")
    form = BulkForm()
    ids = [int(i) for i in request.form.getlist("entry_ids") if i.isdigit()]
    if not form.validate_on_submit() or not ids:
        flash("Select at least one entry, then an action.", "error")
        return redirect(url_for("cases.view", case_id=case.id))
    value = str(request.form.get("account", "")) if form.action.data == "account" else (form.value.data or "")
    if form.action.data == "tag" and not value.strip():
        flash("Type the tag to add.", "error")
        return redirect(url_for("cases.view", case_id=case.id))
    changed, skipped = entry_ops.bulk_update(current_user, case, ids, form.action.data, value)
    flash(f"{changed} entr{'y' if changed == 1 else 'ies'} changed"
          + (f", {skipped} skipped (sealed, or not in a state that allows it)" if skipped else "") + ".", "success")
    return redirect(url_for("cases.view", case_id=case.id))


@bp.route("/<int:case_id>/edit", methods=["GET", "POST"])
def edit(case_id: int):
    case = access.case_for(current_user, case_id, "manage")
    form = CaseEditForm(obj=case)
    if form.validate_on_submit():
        case_ops.update_case(current_user, case, **{k: v for k, v in form.data.items()
                                                    if k not in ("csrf_token", "submit")})
        flash("Case saved.", "success")
        return redirect(url_for("cases.view", case_id=case.id))
    return render_template("cases/edit.html", case=case, form=form, account_form=AccountForm())


@bp.route("/<int:case_id>/accounts", methods=["POST"])
def add_account(case_id: int):
    case = access.case_for(current_user, case_id, "manage")
    form = AccountForm()
    if form.validate_on_submit():
        try:
            case_ops.add_case_account(current_user, case, form.platform.data, form.handle.data,
                                      form.display_name.data, form.profile_url.data, form.platform_account_id.data)
            flash("Account added.", "success")
        except ServiceError as exc:
            flash_refusal(exc)
    else:
        flash_errors(form)
    return redirect(url_for("cases.edit", case_id=case.id))


@bp.route("/<int:case_id>/members", methods=["GET", "POST"])
def members(case_id: int):
    case = access.case_for(current_user, case_id)
    can_manage = access.can(current_user, case.id, "manage")
    form = MemberForm()
    if request.method == "POST":
        access.check(current_user, case.id, "manage")
        if form.validate_on_submit():
            try:  # the same answer whether or not the address has an account
                invitation = case_ops.invite_member(current_user, case, form.email.data, form.role.data)
                flash(f"Invited {invitation.email} as {role_label(invitation.role).lower()}. They join when they "
                      "accept.", "success")
                if not mail.send_invitation(invitation):  # after the commit: the invitation waits in the app anyway
                    flash("The email to them could not be sent: tell them yourself that an invitation waits on "
                          "their Cases page.", "warning")
                return redirect(url_for("cases.members", case_id=case.id))
            except ServiceError as exc:
                refuse(form, exc, "email")
    mine = next(m for m in case.memberships if m.user_id == current_user.id)
    return render_template("cases/members.html", case=case, form=form, can_manage=can_manage,
                           role_form=RoleForm(), confirm=ConfirmForm(), people=People.for_case(case),
                           name_form=ExportNameForm(export_name=mine.export_name), roles=ROLE_INFO,
                           role_label=role_label,
                           invitations=case_ops.waiting_invitations(case) if can_manage else [])


@bp.route("/<int:case_id>/invitations/<int:invitation_id>/withdraw", methods=["POST"])
def withdraw_invitation(case_id: int, invitation_id: int):
    case = access.case_for(current_user, case_id, "manage")
    invitation = next((i for i in case_ops.waiting_invitations(case) if i.id == invitation_id), None)
    if invitation is None:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            case_ops.withdraw_invitation(current_user, invitation)
            flash("Invitation withdrawn.", "info")
        except ServiceError as exc:
            flash_refusal(exc)
    return redirect(url_for("cases.members", case_id=case.id))


@bp.route("/<int:case_id>/export-name", methods=["POST"])
def export_name(case_id: int):
    """Any member, for themselves: the name printed for them in exports."""
    case = access.case_for(current_user, case_id)
    form = ExportNameForm()
    if form.validate_on_submit():
        mine = next(m for m in case.memberships if m.user_id == current_user.id)
        case_ops.set_export_name(current_user, case, mine, form.export_name.data)
        flash("Your name in exports is saved.", "success")
    else:
        flash_errors(form)
    return redirect(url_for("cases.members", case_id=case.id))


@bp.route("/<int:case_id>/members/<int:member_id>", methods=["POST"])
def change_member(case_id: int, member_id: int):
    case = access.case_for(current_user, case_id, "manage")
    membership = next((m for m in case.memberships if m.id == member_id), None)
    if membership is None:
        abort(404)
    form = RoleForm()
    try:
        if request.form.get("remove"):
            if ConfirmForm().validate_on_submit():
                case_ops.remove_member(current_user, case, membership)
                flash("Member removed.", "info")
        elif form.validate_on_submit():
            case_ops.set_role(current_user, case, membership, form.role.data)
            flash("Role changed.", "success")
    except ServiceError as exc:
        flash_refusal(exc)
    return redirect(url_for("cases.members", case_id=case.id))


@bp.route("/<int:case_id>/activity")
def activity(case_id: int):
    case = access.case_for(current_user, case_id)
    page = db.paginate(case_activity(case.id), per_page=100, error_out=False)
    raw = request.args.get("raw") == "1"  # the events as stored: action, target, JSON, hash
    return render_template("cases/activity.html", case=case, page=page, report=last_verification(case.id),
                           lines=[] if raw else describe_events(page.items), raw=raw,
                           can_verify=access.can(current_user, case.id, "manage"), confirm=ConfirmForm())


@bp.route("/<int:case_id>/verify", methods=["POST"])
def verify(case_id: int):
    case = access.case_for(current_user, case_id, "manage")
    if not ConfirmForm().validate_on_submit():
        abort(400, EXPIRED)
    jobs.start_verification(current_app._get_current_object(), case.id, current_user.id)
    flash("Verification started. Its result appears here when it ends (reload the page).", "info")
    return redirect(url_for("cases.activity", case_id=case.id))
