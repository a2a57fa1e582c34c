"""The review workflow. Each function takes the acting user and enforces the rules on the server:

- editors submit entries for review; reviewers and owners approve, request changes or reject;
- four eyes: whoever created an entry cannot approve it, and nobody approves the same round twice;
- a case can require one or two approvals; the last one seals the entry with the exact evidence hashes;
- a sealed entry changes only after a reopen with a reason, which sends it back to review.
"""

from sqlalchemy import select

from ..extensions import db
from ..models import PERMISSIONS, Annotation, Approval, Case, Entry, Membership, Region, Transition, User
from ..models._common import utcnow
from .access import role_in
from .custody import lock_case, record

# to -> (allowed from, permission needed, reason required)
RULES = {
    "ready": ({"draft", "changes_requested"}, "edit", False),
    "approved": ({"ready"}, "review", False),
    "changes_requested": ({"ready"}, "review", True),
    "rejected": ({"draft", "ready", "changes_requested"}, "review", True),
    "duplicate": ({"draft", "ready", "changes_requested"}, "review", False),
    "draft": ({"rejected", "duplicate"}, "edit", False),
}
REOPEN_PERMISSIONS = ("edit", "review")


class ReviewError(ValueError):
    """A move the workflow forbids; `status` is 403 for a missing right, 409 for a wrong state, 422 for input."""

    def __init__(self, message: str, status: int = 409, field: str | None = None):
        super().__init__(message)
        self.status, self.field = status, field


def allowed_moves(user: User, entry: Entry) -> list[str]:
    """The statuses this user may move the entry to now (for the buttons on the page)."""
    moves = []
    for target in [*RULES, "reopen"]:
        try:
            _check(user, entry, target, "x")
        except ReviewError:
            continue
        moves.append(target)
    return moves


def transition(user: User, entry: Entry, to: str, reason: str = "") -> Entry:
    reason = (reason or "").strip()
    lock_case(entry.case_id)  # two reviewers at once: the second sees the first's approval and status
    _check(user, entry, to, reason)
    if to == "approved":
        return _approve(user, entry, reason)
    if to == "reopen":
        entry.review_round += 1
        _move(user, entry, "ready", reason)
        entry.approved_at = None
    else:
        _move(user, entry, to, reason)
    if to == "changes_requested":
        entry.annotations.append(Annotation(user_id=user.id, kind="change_request", body=reason))
    if to in ("changes_requested", "rejected"):
        entry.review_round += 1  # approvals given so far no longer count
    db.session.commit()
    return entry


def withdraw_entry(user: User, entry: Entry, reason: str) -> None:
    """Entries are never deleted by normal use: a withdrawn entry leaves lists and dossiers, not the history."""
    if not PERMISSIONS.get(role_in(entry.case_id, user), frozenset()) & {"edit", "manage"}:
        raise ReviewError("Your role cannot withdraw entries.", 403)
    if not (reason or "").strip():
        raise ReviewError("Say why the entry is withdrawn.", 422, "reason")
    lock_case(entry.case_id)
    entry.withdrawn_at, entry.withdrawn_reason = utcnow(), reason.strip()
    record(user, entry.case_id, "entry.withdrawn", f"entry:{entry.number}", {"status": entry.status}, reason,
           entry_id=entry.id)
    db.session.commit()


def _check(user: User, entry: Entry, to: str, reason: str) -> None:
    role = role_in(entry.case_id, user)
    rights = PERMISSIONS.get(role, frozenset())
    if to == "reopen":
        if entry.status != "approved":
            raise ReviewError("Only an approved entry can be reopened.")
        if not any(p in rights for p in REOPEN_PERMISSIONS):
            raise ReviewError("Your role cannot reopen entries.", 403)
        if not reason:
            raise ReviewError("Say why the entry is reopened.", 422, "reason")
        return
    if to not in RULES:
        raise ReviewError(f"Unknown status “{to}”.", 422, "to")
    sources, permission, needs_reason = RULES[to]
    if permission not in rights:
        raise ReviewError(f"Your role ({role}) cannot move entries to “{to}”.", 403)
    if entry.status not in sources:
        raise ReviewError(f"An entry that is {entry.status.replace('_', ' ')} cannot move to "
                          f"{to.replace('_', ' ')}.")
    if needs_reason and not reason:
        raise ReviewError("Give a reason; the author will see it.", 422, "reason")
    if to == "approved":
        if entry.created_by_id == user.id:
            raise ReviewError("Four eyes: you created this entry, so someone else must approve it.", 403)
        if any(a.user_id == user.id for a in entry.current_approvals):
            raise ReviewError("You have already approved this entry in this round.", 409)
        if not entry.violations:
            raise ReviewError("Map at least one policy clause before approving.", 409)


def _approve(user: User, entry: Entry, note: str) -> Entry:
    hashes = sorted(ev.sha256 for ev in entry.evidence if ev.sha256)
    entry.approvals.append(Approval(user_id=user.id, review_round=entry.review_round, evidence_sha256=hashes))
    record(user, entry.case_id, "entry.approved", f"entry:{entry.number}",
           {"round": entry.review_round, "evidence_sha256": hashes}, note, entry_id=entry.id)
    if note:
        entry.annotations.append(Annotation(user_id=user.id, kind="approval_note", body=note))
    needed = db.session.get(Case, entry.case_id).required_approvals
    if len(entry.current_approvals) >= needed:
        _move(user, entry, "approved", note)
        entry.approved_at = utcnow()
    db.session.commit()
    return entry


def _move(user: User, entry: Entry, to: str, reason: str) -> None:
    record(user, entry.case_id, "status.changed", f"entry:{entry.number}", {"from": entry.status, "to": to},
           reason, entry_id=entry.id)
    entry.transitions.append(Transition(from_status=entry.status, to_status=to, user_id=user.id, reason=reason))
    entry.status = to
    if to == "ready":
        entry.submitted_at = utcnow()


def ensure_open(entry: Entry) -> None:
    """Refuse changes to a sealed entry. It takes the case's write lock first, so an approval committed a
    moment ago by someone else is seen (every change of an entry starts here)."""
    lock_case(entry.case_id)
    check_open(entry)


def check_open(entry: Entry) -> None:
    """The same refusal without the lock, for an early answer before slow work (the write calls `ensure_open`)."""
    if entry.sealed:
        raise ReviewError("This entry is approved and sealed. Reopen it with a reason to change it.", 409)


def annotate(user: User, entry: Entry, body: str, kind: str = "comment", include_in_dossier: bool = False
             ) -> Annotation:
    rights = PERMISSIONS.get(role_in(entry.case_id, user), frozenset())
    if "annotate" not in rights:
        raise ReviewError("Your role cannot annotate entries.", 403)
    if kind not in ("comment", "change_request", "approval_note"):
        raise ReviewError(f"Unknown kind “{kind}”.", 422, "kind")
    if kind != "comment" and "review" not in rights:
        raise ReviewError("Only reviewers and owners write change requests and approval notes.", 403)
    if include_in_dossier and "review" not in rights:
        raise ReviewError("Only reviewers and owners choose notes for the dossier.", 403)
    if not (body or "").strip():
        raise ReviewError("Write something.", 422, "body")
    note = Annotation(user_id=user.id, kind=kind, body=body.strip(), include_in_dossier=include_in_dossier)
    entry.annotations.append(note)
    record(user, entry.case_id, "annotation.added", f"entry:{entry.number}",
           {"kind": kind, "body": note.body, "include_in_dossier": include_in_dossier}, entry_id=entry.id)
    db.session.commit()
    return note


def resolve(user: User, entry: Entry, note: Annotation) -> None:
    rights = PERMISSIONS.get(role_in(entry.case_id, user), frozenset())
    if not rights & {"edit", "review"}:
        raise ReviewError("Your role cannot resolve change requests.", 403)
    if not note.open_request:
        raise ReviewError("Only an open change request can be resolved.")
    note.resolved_at, note.resolved_by_id = utcnow(), user.id
    record(user, entry.case_id, "annotation.resolved", f"annotation:{note.id}", {}, entry_id=entry.id)
    db.session.commit()


def set_in_dossier(user: User, entry: Entry, note: Annotation, include: bool) -> None:
    if "review" not in PERMISSIONS.get(role_in(entry.case_id, user), frozenset()):
        raise ReviewError("Only reviewers and owners choose notes for the dossier.", 403)
    note.include_in_dossier = include
    record(user, entry.case_id, "annotation.dossier", f"annotation:{note.id}", {"include": include},
           entry_id=entry.id)
    db.session.commit()


def review_queue(user: User) -> list[Entry]:
    """Entries waiting for this user's review across their cases, oldest first."""
    reviewer_cases = select(Membership.case_id).where(Membership.user_id == user.id,
                                                      Membership.role.in_(["owner", "reviewer"]))
    entries = db.session.scalars(select(Entry).where(Entry.case_id.in_(reviewer_cases), Entry.status == "ready")
                                 .order_by(Entry.submitted_at.asc(), Entry.id.asc())).all()
    return [e for e in entries if e.created_by_id != user.id and
            not any(a.user_id == user.id for a in e.current_approvals)]


def add_region(user: User, entry: Entry, evidence, kind: str, x: float, y: float, w: float, h: float,
               label: str = "") -> Region:
    if "annotate" not in PERMISSIONS.get(role_in(entry.case_id, user), frozenset()):
        raise ReviewError("Your role cannot mark screenshots.", 403)
    ensure_open(entry)
    if evidence.print_copy is None:
        raise ReviewError("Regions can be drawn on images only.", 422, "evidence")
    if kind not in ("highlight", "redact"):
        raise ReviewError("Choose highlight or redact.", 422, "kind")
    box = [max(0.0, min(1.0, v)) for v in (x, y)]
    size = [max(0.0, min(1.0 - box[0], w)), max(0.0, min(1.0 - box[1], h))]
    if size[0] < 0.005 or size[1] < 0.005:
        raise ReviewError("Draw a larger rectangle.", 422, "w")
    region = Region(evidence=evidence, user_id=user.id, kind=kind, label=(label or "").strip()[:120],
                    x=box[0], y=box[1], w=size[0], h=size[1])
    db.session.add(region)
    record(user, entry.case_id, "region.added", f"evidence:{evidence.id}",
           {"kind": kind, "label": region.label, "box": [region.x, region.y, region.w, region.h]}, entry_id=entry.id)
    db.session.commit()
    return region


def remove_region(user: User, evidence, region: Region) -> None:
    ensure_open(evidence.entry)
    record(user, evidence.entry.case_id, "region.removed", f"evidence:{evidence.id}",
           {"kind": region.kind, "label": region.label}, entry_id=evidence.entry_id)
    evidence.regions.remove(region)
