"""Who may see and change what. Outsiders get 404 so a case's existence is never revealed; a member of a case
that requires two-factor sign-in gets `TwoFactorRequired` (403) until they turn it on."""

from sqlalchemy import false, select
from werkzeug.exceptions import Forbidden, HTTPException, NotFound

from ..extensions import db
from ..models import PERMISSIONS, Case, Dossier, Entry, Evidence, Import, Membership
from ..models.twofactor import has_two_factor


class TwoFactorRequired(Forbidden):
    """The case's owners require two-factor sign-in and this member has not turned it on. Pages answer with a
    page that says how (auth/views.py), the API with a 403 JSON error."""

    description = ("This case requires two-factor sign-in: turn it on in Settings (it takes a couple of minutes "
                   "and an authenticator app), then open the case again.")


def role_in(case_id: int, user) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Membership.role).where(Membership.case_id == case_id, Membership.user_id == user.id)
    )


def closed_case_ids(user):
    """The cases `user` may not open now because they require two-factor and the user has none: a subquery for
    the lists that span cases (review queue, API case list), which `check` does not see."""
    if has_two_factor(user.id):
        return select(Case.id).where(false())
    return select(Case.id).where(Case.require_two_factor.is_(True))


def can(user, case_id: int, permission: str) -> bool:
    role = role_in(case_id, user)
    return role is not None and permission in PERMISSIONS[role]


def may(user, case_id: int, permission: str) -> bool:
    """`check` as a yes or no, two-factor rule included: for overviews across cases (outcomes, follow-ups, the
    digest), which leave out a case the user cannot open now. (`can` says what a role holds, for templates.)"""
    try:
        check(user, case_id, permission)
    except HTTPException:
        return False
    return True


def check(user, case_id: int, permission: str) -> str:
    """Return the user's role or raise: NotFound for outsiders, TwoFactorRequired for members without two-factor
    when the case requires it, Forbidden for members lacking the right."""
    row = None
    if user is not None and getattr(user, "is_authenticated", False):
        row = db.session.execute(select(Membership.role, Case.require_two_factor)
                                 .join(Case, Case.id == Membership.case_id)
                                 .where(Membership.case_id == case_id, Membership.user_id == user.id)).first()
    if row is None:
        raise NotFound()
    role, requires_factor = row
    if requires_factor and not has_two_factor(user.id):
        raise TwoFactorRequired()
    if permission not in PERMISSIONS[role]:
        raise Forbidden(f"Your role in this case ({role}) does not allow this.")
    return role


def case_for(user, case_id: int, permission: str = "read") -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound()
    check(user, case.id, permission)
    return case


def entry_for(user, entry_id: int, permission: str = "read") -> Entry:
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        raise NotFound()
    check(user, entry.case_id, permission)
    return entry


def evidence_for(user, evidence_id: int, permission: str = "read") -> Evidence:
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None:
        raise NotFound()
    check(user, evidence.entry.case_id, permission)
    return evidence


def import_for(user, import_id: int, permission: str = "read") -> Import:
    """An import of a case the user may `permission`: NotFound (the same 404 body for "no such import" and
    "not yours") otherwise, for the import pages and the API alike."""
    job = db.session.get(Import, import_id)
    if job is None:
        raise NotFound()
    check(user, job.case_id, permission)
    return job


def dossier_for(user, dossier_id: int, permission: str = "read") -> Dossier:
    """A dossier of a case the user may `permission`: NotFound (the same 404 body for "no such dossier" and
    "not yours") otherwise, for the dossier pages, the downloads and the API alike."""
    dossier = db.session.get(Dossier, dossier_id)
    if dossier is None:
        raise NotFound()
    check(user, dossier.case_id, permission)
    return dossier
