"""Write operations on cases, accounts, memberships and invitations. Each takes the acting user explicitly.

People join a case from a page by invitation only: an owner invites an email address, and whoever logs in with
that address accepts or declines. The owner gets the same answer whether or not the address has an account, and
no event names the address (an event can leave the tool in a package). `add_member` adds directly, for the
command line and test fixtures.
"""

from datetime import timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import ROLES, Account, Case, Invitation, Membership, User
from ..models._common import utcnow
from ..models.cases import SETTINGS
from .custody import lock_case, record, reloaded
from .errors import ServiceError

INVITATION_LIFETIME = timedelta(days=14)


class CaseError(ServiceError):
    """Case, account or membership input refused (422 unless said; a 409 when the case changed meanwhile)."""

    @property
    def code(self) -> str:  # the API's error code follows the status
        return "conflict" if self.status == 409 else "validation_error"


def create_case(actor: User, title: str, subject: str, summary: str = "", accounts=(),
                allow_new_accounts: bool = True) -> Case:
    case = Case(title=title.strip(), subject=subject.strip(), summary=summary or "",
                allow_new_accounts=allow_new_accounts, created_by_id=actor.id)
    case.memberships.append(Membership(user_id=actor.id, role="owner"))
    db.session.add(case)
    for acc in accounts:
        try:
            add_account(case, **acc)
        except CaseError as exc:  # said about the list of accounts the case is created with
            raise CaseError(str(exc), "accounts") from exc
    db.session.flush()  # the case's id, for its first event
    record(actor, case.id, "case.created", f"case:{case.id}", {
        "title": case.title, "subject": case.subject, "accounts": [a.label for a in case.accounts],
        "settings": {name: getattr(case, name) for name in SETTINGS}})  # all of them: `verify` replays these
    db.session.commit()
    return case


def add_account(case: Case, platform: str, handle: str, display_name: str = "", profile_url: str = "",
                platform_account_id: str = "") -> Account:
    """A building block, not a unit of work: appends the account to the case (no lock, no event, no commit). Only
    `create_case`, `add_case_account` and entry creation call it, under their own lock and with their own event
    naming the account."""
    handle = handle.strip().lstrip("@")
    if not handle:
        raise CaseError("An account needs a handle.", "handle")
    key = handle.lower()
    if any(a.platform == platform and a.handle_key == key for a in case.accounts):
        raise CaseError(f"The case already has the account @{handle} on {platform}.", "handle")
    account = Account(platform=platform, handle=handle, handle_key=key, display_name=display_name or "",
                      profile_url=profile_url or "", platform_account_id=platform_account_id or "")
    case.accounts.append(account)
    return account


def add_case_account(actor: User | None, case: Case, platform: str, handle: str, display_name: str = "",
                     profile_url: str = "", platform_account_id: str = "") -> Account:
    """An owner adds an account of the case's subject (page and API): recorded as `account.added`. (`add_account`
    is the bare step inside `create_case` and entry creation, whose own events name the accounts.)"""
    lock_case(case.id)  # two adds of one handle at once: the second is told, not a 500 on the unique index
    db.session.refresh(case, ["accounts"])  # the accounts as committed now
    account = add_account(case, platform, handle, display_name, profile_url, platform_account_id)
    db.session.flush()
    record(actor, case.id, "account.added", f"account:{account.id}", _account_data(account))
    db.session.commit()
    return account


ACCOUNT_FIELDS = ("handle", "display_name", "profile_url", "platform_account_id")


def edit_account(actor: User | None, case: Case, account: Account, **fields) -> Account:
    """Change an account's handle, display name, profile address or stable id (its platform stays: entries point at
    it). Recorded as `account.edited` with the old and new values; nothing changed records nothing."""
    unknown = set(fields) - set(ACCOUNT_FIELDS)
    if unknown:
        raise CaseError(f"These fields of an account cannot be changed: {', '.join(sorted(unknown))}.")
    lock_case(case.id)
    account = reloaded(account)
    db.session.refresh(case, ["accounts"])
    if account is None or account.case_id != case.id:
        raise CaseError("This account was removed a moment ago.", "handle")
    if "handle" in fields:
        handle = (fields["handle"] or "").strip().lstrip("@")
        if not handle:
            raise CaseError("An account needs a handle.", "handle")
        key = handle.lower()
        if any(a.id != account.id and a.platform == account.platform and a.handle_key == key for a in case.accounts):
            raise CaseError(f"The case already has the account @{handle} on {account.platform}.", "handle")
        fields["handle"] = handle
    changed = {}
    for name, value in fields.items():
        value = value or ""
        if getattr(account, name) != value:
            changed[name] = [getattr(account, name), value]
            setattr(account, name, value)
    if "handle" in changed:
        account.handle_key = account.handle.lower()
    if changed:
        record(actor, case.id, "account.edited", f"account:{account.id}", changed)
    db.session.commit()
    return account


def _account_data(account: Account) -> dict:
    return {"platform": account.platform, "handle": account.handle, "display_name": account.display_name,
            "profile_url": account.profile_url, "platform_account_id": account.platform_account_id}


def update_case(actor: User | None, case: Case, **fields) -> Case:
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


def add_member(actor: User | None, case: Case, email: str, role: str) -> Membership:
    """Add a registered user directly, without asking them: the command line (an admin, `actor` None), the demo
    and test fixtures only."""
    _check_role(role)
    lock_case(case.id)  # two adds of one person at once: the second is told, not a 500
    user = db.session.scalar(select(User).where(func.lower(User.email) == _address(email)))
    if user is None:
        raise CaseError("No user has that email address. Ask them to register first.", "email")
    if case.role_of(user):
        raise CaseError(f"{user.email} is already a member of this case.", "email")
    membership = Membership(user_id=user.id, role=role)
    case.memberships.append(membership)
    record(actor, case.id, "member.added", f"user:{user.id}", {"role": role})
    db.session.commit()
    return membership


def invite_member(actor: User, case: Case, email: str, role: str) -> Invitation:
    """Invite whoever holds `email` to the case in `role`. The answer does not depend on whether the address has
    an account: one without waits until someone registers it. The event names the invitation, not the address."""
    _check_role(role)
    address = _address(email)
    if "@" not in address or len(address) > 254:
        raise CaseError("Enter an email address.", "email")
    lock_case(case.id)  # the members and open invitations read below are the ones committed last
    if any(m.user.email.lower() == address for m in case.memberships):
        raise CaseError("That address belongs to a member of this case already.", "email")
    now = utcnow().replace(microsecond=0)
    waiting = db.session.scalar(select(Invitation).where(Invitation.case_id == case.id, Invitation.email == address,
                                                         Invitation.answered_at.is_(None)))
    if waiting is not None:
        if waiting.is_open(now):
            raise CaseError("An invitation to that address is waiting already. Withdraw it to change the role.",
                            "email")
        waiting.answered_at, waiting.answer = now, "expired"
        db.session.flush()  # closed before the new one opens: one open invitation per address (unique index)
    invitation = Invitation(case_id=case.id, email=address, role=role, invited_by_id=actor.id, created_at=now,
                            expires_at=now + INVITATION_LIFETIME)
    db.session.add(invitation)
    db.session.flush()
    record(actor, case.id, "member.invited", f"invitation:{invitation.id}",
           {"role": role, "expires_at": invitation.expires_at.isoformat()})
    db.session.commit()
    return invitation


def invitations_for(user: User) -> list[Invitation]:
    """The open invitations addressed to this user's email, newest first."""
    return list(db.session.scalars(
        select(Invitation).where(Invitation.email == _address(user.email), Invitation.answered_at.is_(None),
                                 Invitation.expires_at > utcnow()).order_by(Invitation.id.desc())))


def invitation_for(user: User, invitation_id: int) -> Invitation | None:
    """The invitation if it is addressed to this user (None for anyone else's: the same as a missing one)."""
    invitation = db.session.get(Invitation, invitation_id)
    return invitation if invitation is not None and invitation.email == _address(user.email) else None


def waiting_invitations(case: Case) -> list[Invitation]:
    """The case's invitations nobody has answered or withdrawn (expired ones included, so an owner sees them)."""
    return list(db.session.scalars(select(Invitation).where(Invitation.case_id == case.id,
                                                            Invitation.answered_at.is_(None)).order_by(Invitation.id)))


def accept_invitation(actor: User, invitation: Invitation) -> Membership:
    """The invitee joins the case in the invited role (`member.added`, as for a direct add)."""
    invitation, case = _answerable(actor, invitation)
    membership = next((m for m in case.memberships if m.user_id == actor.id), None)
    if membership is None:  # not added directly from the command line in the meantime
        membership = Membership(user_id=actor.id, role=invitation.role)
        case.memberships.append(membership)
        record(actor, case.id, "member.added", f"user:{actor.id}",
               {"role": invitation.role, "invitation": invitation.id, "invited_by": invitation.invited_by_id})
    _close(invitation, "accepted", actor)
    db.session.commit()
    return membership


def decline_invitation(actor: User, invitation: Invitation) -> None:
    invitation, case = _answerable(actor, invitation)
    record(actor, case.id, "member.declined", f"invitation:{invitation.id}", {"role": invitation.role})
    _close(invitation, "declined", actor)
    db.session.commit()


def withdraw_invitation(actor: User, invitation: Invitation) -> None:
    """An owner takes back an invitation nobody has answered yet."""
    case_id = invitation.case_id
    lock_case(case_id)
    invitation = reloaded(invitation)
    if invitation is None or invitation.answered_at is not None:
        raise CaseError("This invitation was answered or withdrawn a moment ago.", status=409)
    record(actor, case_id, "invitation.withdrawn", f"invitation:{invitation.id}", {"role": invitation.role})
    _close(invitation, "withdrawn", actor)
    db.session.commit()


def _answerable(actor: User, invitation: Invitation) -> tuple[Invitation, Case]:
    lock_case(invitation.case_id)  # an owner withdrawing it, or a second click, at the same moment
    invitation = reloaded(invitation)
    if invitation is None or invitation.email != _address(actor.email):
        raise CaseError("This invitation is not addressed to you.")
    if invitation.answered_at is not None:
        raise CaseError("This invitation was withdrawn." if invitation.answer == "withdrawn"
                        else f"This invitation was {invitation.answer} already.")
    if not invitation.is_open():
        raise CaseError("This invitation has expired. Ask an owner of the case to invite you again.")
    return invitation, invitation.case


def _close(invitation: Invitation, answer: str, actor: User) -> None:
    invitation.answered_at, invitation.answer, invitation.answered_by_id = utcnow(), answer, actor.id


def _address(email: str) -> str:
    return (email or "").strip().lower()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise CaseError(f"Unknown role “{role}”.", "role")


def set_role(actor: User | None, case: Case, membership: Membership, role: str) -> None:
    _check_role(role)
    lock_case(case.id)  # two owners demoting each other at once must not leave the case without one
    membership = reloaded(membership)
    if membership is None:
        raise CaseError("This member was removed a moment ago.", "role")
    if membership.role == "owner" and role != "owner" and _owner_count(case) == 1:
        raise CaseError("A case needs at least one owner.", "role")
    record(actor, case.id, "member.role_changed", f"user:{membership.user_id}", {"role": [membership.role, role]})
    membership.role = role
    db.session.commit()


def set_export_name(actor: User, case: Case, membership: Membership, name: str) -> None:
    """A member's own choice of the name exports print for them (empty: a pseudonym)."""
    if membership.user_id != actor.id:
        raise CaseError("Each member chooses their own name for exports.", "export_name")
    name = " ".join((name or "").split())[:100]
    lock_case(case.id)
    if name != membership.export_name:
        record(actor, case.id, "member.export_name", f"user:{membership.user_id}", {"export_name": name})
        membership.export_name = name
    db.session.commit()


def remove_member(actor: User | None, case: Case, membership: Membership) -> None:
    lock_case(case.id)
    membership = reloaded(membership)
    if membership is None:
        raise CaseError("This member was removed a moment ago.", "member", 409)
    if membership.role == "owner" and _owner_count(case) == 1:
        raise CaseError("The last owner cannot be removed.", "member", 409)
    record(actor, case.id, "member.removed", f"user:{membership.user_id}", {"role": membership.role})
    db.session.delete(membership)
    db.session.commit()


def _owner_count(case: Case) -> int:
    return sum(1 for m in case.memberships if m.role == "owner")
