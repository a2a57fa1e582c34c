"""Who may see and change what. Outsiders get 404 so a case's existence is never revealed."""

from sqlalchemy import select
from werkzeug.exceptions import Forbidden, NotFound

from ..extensions import db
from ..models import PERMISSIONS, Case, Entry, Evidence, Membership


def role_in(case_id: int, user) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Membership.role).where(Membership.case_id == case_id, Membership.user_id == user.id)
    )


def can(user, case_id: int, permission: str) -> bool:
    role = role_in(case_id, user)
    return role is not None and permission in PERMISSIONS[role]


def check(user, case_id: int, permission: str) -> str:
    """Return the user's role or raise: NotFound for outsiders, Forbidden for members lacking the right."""
    role = role_in(case_id, user)
    if role is None:
        raise NotFound()
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
