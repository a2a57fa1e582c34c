"""Outcomes (per case and across a user's cases) and Follow-ups (what needs me): read-only pages over
services/outcomes.py. Every figure links to the entries behind it."""

from datetime import date

from flask import Response, abort, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import PLATFORMS, Case, Membership
from ..models.cases import PERMISSIONS
from ..services import access
from ..services.outcomes import FIGURES, annual_report_csv, by_month, entries_behind, follow_ups, outcomes, outcomes_csv
from .views import bp


def _my_cases(right: str = "read") -> list[Case]:
    roles = [role for role, rights in PERMISSIONS.items() if right in rights]
    return list(db.session.scalars(select(Case).join(Membership, Membership.case_id == Case.id)
                                   .where(Membership.user_id == current_user.id, Membership.role.in_(roles))
                                   .order_by(Case.title)))


def _case_ids(case_id: int | None) -> tuple[list[int], Case | None]:
    if case_id is None:
        cases = [c for c in _my_cases() if access.may(current_user, c.id, "read")]  # a case requiring two-factor too
        return [c.id for c in cases], None
    case = access.case_for(current_user, case_id)
    return [case.id], case


@bp.route("/outcomes", defaults={"case_id": None})
@bp.route("/cases/<int:case_id>/outcomes")
def outcomes_page(case_id: int | None):
    ids, case = _case_ids(case_id)
    rows = outcomes(ids)
    months = by_month(ids)
    return render_template("filings/outcomes.html", case=case, rows=rows, months=months,
                           top=max([m[1] for m in months] + [1]))


@bp.route("/outcomes.csv", defaults={"case_id": None})
@bp.route("/cases/<int:case_id>/outcomes.csv")
def outcomes_download(case_id: int | None):
    ids, case = _case_ids(case_id)
    name = f"outcomes-case-{case.id}.csv" if case else "outcomes.csv"
    return Response(outcomes_csv(outcomes(ids)), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}", "Cache-Control": "no-store"})


@bp.route("/outcomes/entries", defaults={"case_id": None})
@bp.route("/cases/<int:case_id>/outcomes/entries")
def outcome_entries(case_id: int | None):
    ids, case = _case_ids(case_id)
    platform, figure = request.args.get("platform", ""), request.args.get("figure", "")
    if not platform or not figure or len(figure) > 60:
        abort(400, "Name a platform and a figure.")
    entries = entries_behind(ids, platform, figure)
    return render_template("filings/outcome_entries.html", case=case, entries=entries, platform=platform,
                           platforms=PLATFORMS,
                           figure=figure if figure not in FIGURES else figure.replace("_", " "))


@bp.route("/follow-ups")
def follow_ups_page():
    cases = [c for c in _my_cases("edit") if access.may(current_user, c.id, "edit")]
    items = follow_ups([c.id for c in cases], expected_days=current_app.config["ANSWER_EXPECTED_DAYS"],
                       online_after_days=current_app.config["FOLLOWUP_ONLINE_DAYS"])
    return render_template("filings/follow_ups.html", items=items, cases={c.id: c for c in cases})


@bp.route("/outcomes/annual.csv", defaults={"case_id": None})
@bp.route("/cases/<int:case_id>/outcomes/annual.csv")
def annual_report(case_id: int | None):
    """The yearly report a trusted flagger publishes (DSA Art. 22), as CSV."""
    ids, case = _case_ids(case_id)
    year = request.args.get("year", type=int) or date.today().year
    if not 2000 <= year <= 2100:
        abort(400, "Give a year, e.g. ?year=2026.")
    name = f"notices-{year}" + (f"-case-{case.id}" if case else "") + ".csv"
    return Response(annual_report_csv(ids, year), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}", "Cache-Control": "no-store"})
