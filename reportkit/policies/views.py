from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..auth.guard import members_only
from ..extensions import db
from ..models import Clause, Platform, Policy
from ..services.policies import PolicyError, add_custom_clause
from .forms import CustomClauseForm

bp = members_only(Blueprint("policies", __name__, url_prefix="/policies"))


@bp.route("/")
def index():
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
    return render_template("policies/index.html", platforms=platforms, q=q, matches=matches, form=form)


@bp.route("/clauses", methods=["POST"])
def create():
    if not current_user.is_admin:
        abort(403)
    form = CustomClauseForm()
    if form.validate_on_submit():
        try:
            clause = add_custom_clause(**{k: v for k, v in form.data.items() if k not in ("submit", "csrf_token")})
            flash(f"Clause {clause.key} added.", "success")
        except PolicyError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    else:
        flash("; ".join(f"{form[k].label.text}: {v[0]}" for k, v in form.errors.items()), "error")
    return redirect(url_for("policies.index"))
