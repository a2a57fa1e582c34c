from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..auth.guard import members_only
from ..extensions import db
from ..forms import flash_errors, flash_refusal, refuse
from ..models import Clause, Platform, Policy
from ..services.errors import ServiceError
from ..services.policies import (
    add_custom_clause,
    add_server_rules,
    catalogue_log,
    delete_server_rules,
    edit_server_rules,
    may_add_server_rules,
    may_change_server_rules,
    server_policy,
)
from .forms import CustomClauseForm, ServerRulesEditForm, ServerRulesForm

bp = members_only(Blueprint("policies", __name__, url_prefix="/policies"))


@bp.route("/")
def index():
    return _index(ServerRulesForm() if may_add_server_rules(current_user) else None)


def _index(server_form, status: int = 200):
    q = request.args.get("q", "").strip()[:200]
    platforms = db.session.scalars(select(Platform).order_by(Platform.id).options(
        selectinload(Platform.policies).selectinload(Policy.clauses))).all()
    matches = None
    if q:
        like = f"%{q}%"
        matches = set(db.session.scalars(select(Clause.id).join(Policy).where(or_(
            Clause.heading.ilike(like), Clause.summary.ilike(like), Clause.key.ilike(like),
            Policy.title.ilike(like)))).all())
    form = CustomClauseForm() if current_user.is_admin else None
    servers = [pol for p in platforms for pol in p.policies if pol.server_host is not None]
    changeable = {pol.id for pol in servers if may_change_server_rules(current_user, pol)}
    log = catalogue_log(current_user) if server_form is not None else []
    return render_template("policies/index.html", platforms=platforms, q=q, matches=matches, form=form,
                           server_form=server_form, changeable=changeable, log=log), status


@bp.route("/servers", methods=["POST"])
def create_server():
    if not may_add_server_rules(current_user):
        abort(403)
    form = ServerRulesForm()
    if not form.validate_on_submit():
        return _index(form, 422)
    try:
        policy = add_server_rules(current_user, form.host.data, form.url.data, form.checked_on.data, form.rules.data)
    except ServiceError as exc:
        refuse(form, exc, "host")
        return _index(form, exc.status)
    flash(f"The rules of {policy.server_host} are in the catalogue ({len(policy.clauses)} rules).", "success")
    return redirect(url_for("policies.index", _anchor=f"policy-{policy.id}"))


@bp.route("/servers/<int:policy_id>/edit", methods=["GET", "POST"])
def edit(policy_id: int):
    policy = _changeable(policy_id)
    form = ServerRulesEditForm(data=None if request.method == "POST" else {
        "url": policy.url, "checked_on": None,
        "rules": "\n".join(f"{c.heading}: {c.summary}" if c.summary else c.heading for c in policy.clauses)})
    if not form.validate_on_submit():
        return render_template("policies/edit.html", policy=policy, form=form), 422 if form.is_submitted() else 200
    try:
        edit_server_rules(current_user, policy, form.url.data, form.checked_on.data, form.rules.data)
    except ServiceError as exc:
        db.session.rollback()
        policy = server_policy(policy_id)
        if policy is None:  # removed meanwhile
            flash(str(exc), "error")
            return redirect(url_for("policies.index"))
        if exc.field in form:  # a value the rules refuse: said next to it
            refuse(form, exc)
            return render_template("policies/edit.html", policy=policy, form=form), exc.status
        return render_template("policies/edit.html", policy=policy, form=form, refused=str(exc)), exc.status
    flash(f"The rules of {policy.server_host} were saved.", "success")
    return redirect(url_for("policies.index", _anchor=f"policy-{policy.id}"))


@bp.route("/servers/<int:policy_id>/delete", methods=["POST"])
def delete(policy_id: int):
    policy = _changeable(policy_id)
    host = delete_server_rules(current_user, policy)  # a refusal (rules in use) is the error handler's page
    flash(f"The rules of {host} were removed from the catalogue.", "info")
    return redirect(url_for("policies.index"))


def _changeable(policy_id: int):
    """The server's rules, or 404 (no such server policy) / 403 (not an admin, nor the owner who added them)."""
    policy = server_policy(policy_id)
    if policy is None:
        abort(404)
    if not may_change_server_rules(current_user, policy):
        abort(403)
    return policy


@bp.route("/clauses", methods=["POST"])
def create():
    if not current_user.is_admin:
        abort(403)
    form = CustomClauseForm()
    if form.validate_on_submit():
        try:
            clause = add_custom_clause(current_user, **{k: v for k, v in form.data.items()
                                                        if k not in ("submit", "csrf_token")})
            flash(f"Clause {clause.key} added.", "success")
        except ServiceError as exc:
            flash_refusal(exc)
    else:
        flash_errors(form)
    return redirect(url_for("policies.index"))
