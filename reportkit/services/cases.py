"""Write operations on cases, accounts and memberships. Each takes the acting user explicitly."""

from sqlalchemy import func, select

from ..extensions import db
from ..models import ROLES, Account, Case, Membership, User
from ..models.cases import SETTINGS
from .custody import lock_case, record, reloaded


class CaseError(ValueError):
    pass


def create_case(actor: User, title: str, subject: str, summary: str = "", accounts=(),
                allow_new_accounts: bool = True) -> Case:
    case = Case(title=title.strip(), subject=subject.strip(), summary=summary or "",
                allow_new_accounts=allow_new_accounts, created_by_id=actor.id)
    case.memberships.append(Membership(user_id=actor.id, role="owner"))
    db.session.add(case)
    for acc in accounts:
        add_account(case, **acc)
    db.session.flush()  # the case's id, for its first event
    record(actor, case.id, "case.created", f"case:{case.id}", {
        "title": case.title, "subject": case.subject, "accounts": [a.label for a in case.accounts],
        "settings": {name: getattr(case, name) for name in SETTINGS}})  # all of them: `verify` replays these
    db.session.commit()
    return case


def add_account(case: Case, platform: str, handle: str, display_name: str = "", profile_url: str = "",
                platform_account_id: str = "") -> Account:
    handle = handle.strip().lstrip("@")
    if not handle:
        raise CaseError("An account needs a handle.")
    key = handle.lower()
    if any(a.platform == platform and a.handle_key == key for a in case.accounts):
        raise CaseError(f"The case already has the account @{handle} on {platform}.")
    account = Account(platform=platform, handle=handle, handle_key=key, display_name=display_name or "",
                      profile_url=profile_url or "", platform_account_id=platform_account_id or "")
    case.accounts.append(account)
    return account


def update_case(case: Case, actor: User | None = None, **fields) -> Case:
    lock_case(case.id)  # the old values the event records are the ones committed last
    before = {name: getattr(case, name) for name in fields if hasattr(case, name)}
    for name in SETTINGS:
        if name in fields and fields[name] is not None:
            setattr(case, name, fields[name])
    changed = {k: [v, getattr(case, k)] for k, v in before.items() if getattr(case, k) != v}
    if changed:
        record(actor, case.id, "case.edited", f"case:{case.id}", changed)
    db.session.commit()
    return case


def add_member(case: Case, email: str, role: str, actor: User | None = None) -> Membership:
    if role not in ROLES:
        raise CaseError(f"Unknown role “{role}”.")
    lock_case(case.id)  # two adds of one person at once: the second is told, not a 500
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise CaseError("No user has that email address. Ask them to register first.")
    if case.role_of(user):
        raise CaseError(f"{user.email} is already a member of this case.")
    membership = Membership(user_id=user.id, role=role)
    case.memberships.append(membership)
    record(actor, case.id, "member.added", f"user:{user.id}", {"email": user.email, "role": role})
    db.session.commit()
    return membership


def set_role(case: Case, membership: Membership, role: str, actor: User | None = None) -> None:
    if role not in ROLES:
        raise CaseError(f"Unknown role “{role}”.")
    lock_case(case.id)  # two owners demoting each other at once must not leave the case without one
    membership = reloaded(membership)
    if membership is None:
        raise CaseError("This member was removed a moment ago.")
    if membership.role == "owner" and role != "owner" and _owner_count(case) == 1:
        raise CaseError("A case needs at least one owner.")
    record(actor, case.id, "member.role_changed", f"user:{membership.user_id}",
           {"email": membership.user.email, "role": [membership.role, role]})
    membership.role = role
    db.session.commit()


def set_export_name(case: Case, membership: Membership, name: str, actor: User) -> None:
    """A member's own choice of the name exports print for them (empty: a pseudonym)."""
    if membership.user_id != actor.id:
        raise CaseError("Each member chooses their own name for exports.")
    name = " ".join((name or "").split())[:100]
    lock_case(case.id)
    if name != membership.export_name:
        record(actor, case.id, "member.export_name", f"user:{membership.user_id}", {"export_name": name})
        membership.export_name = name
    db.session.commit()


def remove_member(case: Case, membership: Membership, actor: User | None = None) -> None:
    lock_case(case.id)
    membership = reloaded(membership)
    if membership is None:
        raise CaseError("This member was removed a moment ago.")
    if membership.role == "owner" and _owner_count(case) == 1:
        raise CaseError("The last owner cannot be removed.")
    record(actor, case.id, "member.removed", f"user:{membership.user_id}",
           {"email": membership.user.email, "role": membership.role})
    db.session.delete(membership)
    db.session.commit()


def _owner_count(case: Case) -> int:
    return sum(1 for m in case.memberships if m.role == "owner")
