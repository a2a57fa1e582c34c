"""The review workflow. Each function takes the acting user and enforces the rules on the server:

- editors submit entries for review, once they have a mapped clause and an evidence file; reviewers and owners
  approve, request changes or reject;
- four eyes: nobody who shaped what an approval would seal (created the entry, or changed its text, fields,
  files or clauses since it was last sealed) may approve it, and nobody approves the same round twice;
- a change to the text, fields, files or clauses during review starts a new round: approvals given so far no
  longer count (`reset_round`, a "review.reset" event says why);
- no approval while a change request is open;
- a case can require one or two approvals; the last one seals the entry with the exact evidence hashes;
- a sealed entry changes (or is withdrawn) only after a reopen with a reason, which sends it back to review.
"""

from sqlalchemy import select

from ..extensions import db
from ..models import (
    ANNOTATION_KINDS,
    PERMISSIONS,
    REGION_KINDS,
    Annotation,
    Approval,
    Case,
    Entry,
    Event,
    Membership,
    Region,
    Transition,
    User,
)
from ..models._common import utcnow
from ..models.entries import CAPTURED_AT_SOURCES
from .access import closed_case_ids, role_in
from .custody import lock_case, record, reloaded
from .errors import ServiceError

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
# The events that change what an approval seals (text and fields, clauses, files), with what they did.
CONTENT_EVENTS = {"entry.created": "created it", "entry.edited": "edited its fields",
                  "clause.mapped": "mapped a clause", "clause.unmapped": "removed a clause",
                  "evidence.uploaded": "uploaded a file", "evidence.linked": "added an archive link",
                  "evidence.withdrawn": "withdrew a file", "evidence.purged": "purged a file"}


class ReviewError(ServiceError):
    """A move the workflow forbids; `status` is 403 for a missing right, 409 for a wrong state, 422 for input."""

    status, code, title = 409, "workflow", "Not allowed now"


class Moves(list):
    """The statuses a user may move an entry to now; `refused` says, for a submit or an approval the user's role
    could make from this status, why it is refused now (what is missing), so the page can say it."""

    def __init__(self, moves=(), refused: dict[str, str] | None = None):
        super().__init__(moves)
        self.refused = refused or {}


def allowed_moves(user: User, entry: Entry) -> Moves:
    """The statuses this user may move the entry to now (for the buttons on the page)."""
    moves = Moves()
    rights = PERMISSIONS.get(role_in(entry.case_id, user), frozenset())
    for target in [*RULES, "reopen"]:
        try:
            _check(user, entry, target, "x")
        except ReviewError as exc:
            if target in ("ready", "approved") and RULES[target][1] in rights and entry.status in RULES[target][0]:
                moves.refused[target] = str(exc)
            continue
        moves.append(target)
    return moves


def transition(actor: User, entry: Entry, to: str, reason: str = "") -> Entry:
    reason = (reason or "").strip()
    lock_case(entry.case_id)  # two reviewers at once: the second sees the first's approval and status
    _check(actor, entry, to, reason)
    if to == "approved":
        return _approve(actor, entry, reason)
    if to == "reopen":
        entry.review_round += 1
        _move(actor, entry, "ready", reason, {"filings": filed_in(entry.id)} if filed_in(entry.id) else None)
        entry.approved_at = None
    else:
        _move(actor, entry, to, reason)
    if to == "changes_requested":
        entry.annotations.append(Annotation(user_id=actor.id, kind="change_request", body=reason))
    if to in ("changes_requested", "rejected"):
        entry.review_round += 1  # approvals given so far no longer count
    db.session.commit()
    return entry


def withdraw_entry(actor: User, entry: Entry, reason: str) -> None:
    """Entries are never deleted by normal use: a withdrawn entry leaves lists and dossiers, not the history."""
    if not PERMISSIONS.get(role_in(entry.case_id, actor), frozenset()) & {"edit", "manage"}:
        raise ReviewError("Your role cannot withdraw entries.", status=403)
    if not (reason or "").strip():
        raise ReviewError("Say why the entry is withdrawn.", "reason", 422)
    lock_case(entry.case_id)
    if entry.sealed:
        raise ReviewError("This entry is approved and sealed. Reopen it with a reason before withdrawing it.")
    entry.withdrawn_at, entry.withdrawn_reason = utcnow(), reason.strip()
    record(actor, entry.case_id, "entry.withdrawn", f"entry:{entry.number}", {"status": entry.status}, reason,
           entry_id=entry.id)
    db.session.commit()


def _check(user: User, entry: Entry, to: str, reason: str) -> None:
    role = role_in(entry.case_id, user)
    rights = PERMISSIONS.get(role, frozenset())
    if to == "reopen":
        if entry.status != "approved":
            raise ReviewError("Only an approved entry can be reopened.")
        if not any(p in rights for p in REOPEN_PERMISSIONS):
            raise ReviewError("Your role cannot reopen entries.", status=403)
        if not reason:
            raise ReviewError("Say why the entry is reopened.", "reason", 422)
        return
    if to not in RULES:
        raise ReviewError(f"Unknown status “{to}”.", "to", 422)
    sources, permission, needs_reason = RULES[to]
    if permission not in rights:
        raise ReviewError(f"Your role ({role}) cannot move entries to “{to}”.", status=403)
    if entry.status not in sources:
        raise ReviewError(f"An entry that is {entry.status.replace('_', ' ')} cannot move to "
                          f"{to.replace('_', ' ')}.")
    if needs_reason and not reason:
        raise ReviewError("Give a reason; the author will see it.", "reason", 422)
    if to == "ready" and (missing := _missing(entry)):
        raise ReviewError(f"It cannot be submitted for review yet: {missing}.")
    if to == "approved":
        if entry.created_by_id == user.id:
            raise ReviewError("Four eyes: you created this entry, so someone else must approve it.", status=403)
        if shaped := shaped_by(entry).get(user.id):
            raise ReviewError(f"Four eyes: you {_and(shaped)}, and this approval would seal that, so someone who "
                              "did not change the entry must approve it.", status=403)
        if any(a.user_id == user.id for a in entry.current_approvals):
            raise ReviewError("You have already approved this entry in this round.")
        if requests := [n for n in entry.annotations if n.open_request]:
            raise ReviewError(f"{_count(len(requests), 'change request')} on this entry "
                              f"{'is' if len(requests) == 1 else 'are'} still open: resolve "
                              f"{'it' if len(requests) == 1 else 'them'} before approving.")
        if missing := _missing(entry):
            raise ReviewError(f"It cannot be approved yet: {missing}.")


def _missing(entry: Entry) -> str:
    """What an entry lacks to be reviewed: a mapped clause and an evidence file in use ("" when nothing)."""
    missing = []
    if not entry.violations:
        missing.append("map at least one policy clause")
    if not any(ev.is_file and ev.active for ev in entry.evidence):
        missing.append("upload at least one evidence file")
    return _and(missing)


def _and(items: list[str]) -> str:
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + (items[-1] if items else "")


def _count(n: int, noun: str) -> str:
    return f"{'One' if n == 1 else n} {noun}{'' if n == 1 else 's'}"


def shaped_by(entry: Entry) -> dict[int, list[str]]:
    """Who shaped what an approval now would seal, and how (user id -> what they did), from the custody log:
    the entry's creator, and everyone who changed its text, fields, files or clauses since it was last sealed.
    What was sealed before was approved by others; what changed since was not, whatever the round."""
    return _shapers([entry])[entry.id]


def _shapers(entries: list[Entry]) -> dict[int, dict[int, list[str]]]:
    found = {e.id: _creator(e) for e in entries}
    if not found:
        return found
    rows = db.session.execute(select(Event.entry_id, Event.action, Event.actor_id, Event.data, Event.explanation).where(
        Event.entry_id.in_(list(found)), Event.action.in_([*CONTENT_EVENTS, "status.changed"])).order_by(Event.id))
    creators = {e.id: e for e in entries}
    for entry_id, action, actor_id, data, explanation in rows:
        if action == "entry.edited" and explanation == CAPTURED_AT_SOURCES["upload"]:
            continue  # the capture time an upload filled in: its uploader is counted for the upload itself
        if action == "status.changed":
            if (data or {}).get("to") == "approved":
                found[entry_id] = _creator(creators[entry_id])  # sealed: approved by others up to here
        elif actor_id is not None and CONTENT_EVENTS[action] not in found[entry_id].setdefault(actor_id, []):
            found[entry_id][actor_id].append(CONTENT_EVENTS[action])
    return found


def _creator(entry: Entry) -> dict[int, list[str]]:
    return {entry.created_by_id: [CONTENT_EVENTS["entry.created"]]} if entry.created_by_id else {}


def reset_round(actor: User | None, entry: Entry, change: str) -> None:
    """Call after a change to the entry's text, fields, files or clauses, under the case lock, before the commit.
    If reviewers approved the entry in this round, they approved what it was before the change: a new round
    begins (their approvals stay stored, but no longer count) and the history says why."""
    if entry.status != "ready" or not entry.current_approvals:
        return
    voided = [a.user_id for a in entry.current_approvals]
    entry.review_round += 1
    record(actor, entry.case_id, "review.reset", f"entry:{entry.number}",
           {"round": entry.review_round, "change": change, "approvals_voided": voided},
           f"Approvals reset: {change} during review; the entry needs its approvals again.", entry_id=entry.id)


def _approve(actor: User, entry: Entry, note: str) -> Entry:
    hashes = sorted(ev.sha256 for ev in entry.evidence if ev.is_file and ev.active)  # what the seal covers
    entry.approvals.append(Approval(user_id=actor.id, review_round=entry.review_round, evidence_sha256=hashes))
    record(actor, entry.case_id, "entry.approved", f"entry:{entry.number}",
           {"round": entry.review_round, "evidence_sha256": hashes}, note, entry_id=entry.id)
    if note:
        entry.annotations.append(Annotation(user_id=actor.id, kind="approval_note", body=note))
    needed = db.session.get(Case, entry.case_id).required_approvals
    if len(entry.current_approvals) >= needed:
        _move(actor, entry, "approved", note)
        entry.approved_at = utcnow()
    db.session.commit()
    return entry


def filed_in(entry_id: int) -> list[dict]:
    """The filings an entry was part of: a reopen says them (what was sent stays as sent, by its hash)."""
    from ..models import Filing

    return [{"filing": f.id, "platform": f.platform, "channel": f.channel, "reference": f.reference,
             "filed_at": f.filed_at.isoformat(), "document_sha256": f.document_sha256}
            for f in db.session.scalars(select(Filing).where(Filing.entries.any(Entry.id == entry_id))
                                        .order_by(Filing.filed_at, Filing.id))]


def _move(actor: User, entry: Entry, to: str, reason: str, extra: dict | None = None) -> None:
    record(actor, entry.case_id, "status.changed", f"entry:{entry.number}",
           {"from": entry.status, "to": to, **(extra or {})}, reason, entry_id=entry.id)
    entry.transitions.append(Transition(from_status=entry.status, to_status=to, user_id=actor.id, reason=reason))
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
        raise ReviewError("This entry is approved and sealed. Reopen it with a reason to change it.")


def annotate(actor: User, entry: Entry, body: str, kind: str = "comment", include_in_dossier: bool = False
             ) -> Annotation:
    rights = PERMISSIONS.get(role_in(entry.case_id, actor), frozenset())
    if "annotate" not in rights:
        raise ReviewError("Your role cannot annotate entries.", status=403)
    if kind not in ANNOTATION_KINDS:
        raise ReviewError(f"Unknown kind “{kind}”.", "kind", 422)
    if kind != "comment" and "review" not in rights:
        raise ReviewError("Only reviewers and owners write change requests and approval notes.", status=403)
    if include_in_dossier and "review" not in rights:
        raise ReviewError("Only reviewers and owners choose notes for the dossier.", status=403)
    if not (body or "").strip():
        raise ReviewError("Write something.", "body", 422)
    lock_case(entry.case_id)  # the history's order is the order of the notes
    note = Annotation(user_id=actor.id, kind=kind, body=body.strip(), include_in_dossier=include_in_dossier)
    entry.annotations.append(note)
    record(actor, entry.case_id, "annotation.added", f"entry:{entry.number}",
           {"kind": kind, "body": note.body, "include_in_dossier": include_in_dossier}, entry_id=entry.id)
    db.session.commit()
    return note


def resolve(actor: User, entry: Entry, note: Annotation) -> None:
    rights = PERMISSIONS.get(role_in(entry.case_id, actor), frozenset())
    if not rights & {"edit", "review"}:
        raise ReviewError("Your role cannot resolve change requests.", status=403)
    lock_case(entry.case_id)  # two people resolving it at once: the second is told, not recorded twice
    if not note.open_request:
        raise ReviewError("Only an open change request can be resolved.")
    note.resolved_at, note.resolved_by_id = utcnow(), actor.id
    record(actor, entry.case_id, "annotation.resolved", f"annotation:{note.id}", {}, entry_id=entry.id)
    db.session.commit()


def set_in_dossier(actor: User, entry: Entry, note: Annotation, include: bool) -> None:
    if "review" not in PERMISSIONS.get(role_in(entry.case_id, actor), frozenset()):
        raise ReviewError("Only reviewers and owners choose notes for the dossier.", status=403)
    lock_case(entry.case_id)
    note.include_in_dossier = include
    record(actor, entry.case_id, "annotation.dossier", f"annotation:{note.id}", {"include": include},
           entry_id=entry.id)
    db.session.commit()


def review_queue(user: User) -> list[Entry]:
    """Entries waiting for this user's review across their cases, oldest first."""
    reviewer_roles = [r for r, rights in PERMISSIONS.items() if "review" in rights]
    reviewer_cases = select(Membership.case_id).where(Membership.user_id == user.id,
                                                      Membership.role.in_(reviewer_roles))
    entries = db.session.scalars(select(Entry).where(Entry.case_id.in_(reviewer_cases), Entry.status == "ready",
                                                     Entry.case_id.not_in(closed_case_ids(user)))
                                 .order_by(Entry.submitted_at.asc(), Entry.id.asc())).all()
    shapers = _shapers(entries)
    return [e for e in entries if user.id not in shapers[e.id] and
            not any(a.user_id == user.id for a in e.current_approvals)]


def add_region(actor: User, entry: Entry, evidence, kind: str, x: float, y: float, w: float, h: float,
               label: str = "") -> Region:
    if "annotate" not in PERMISSIONS.get(role_in(entry.case_id, actor), frozenset()):
        raise ReviewError("Your role cannot mark screenshots.", status=403)
    ensure_open(entry)
    if evidence.print_copy is None:
        raise ReviewError("Regions can be drawn on images only.", "evidence", 422)
    if kind not in REGION_KINDS:
        raise ReviewError("Choose highlight or redact.", "kind", 422)
    box = [max(0.0, min(1.0, v)) for v in (x, y)]
    size = [max(0.0, min(1.0 - box[0], w)), max(0.0, min(1.0 - box[1], h))]
    if size[0] < 0.005 or size[1] < 0.005:
        raise ReviewError("Draw a larger rectangle.", "w", 422)
    region = Region(evidence=evidence, user_id=actor.id, kind=kind, label=(label or "").strip()[:120],
                    x=box[0], y=box[1], w=size[0], h=size[1])
    db.session.add(region)
    record(actor, entry.case_id, "region.added", f"evidence:{evidence.id}",
           {"kind": kind, "label": region.label, "box": [region.x, region.y, region.w, region.h]}, entry_id=entry.id)
    db.session.commit()
    return region


def remove_region(actor: User, evidence, region: Region) -> None:
    ensure_open(evidence.entry)
    region = reloaded(region)
    if region is None or region.evidence_id != evidence.id:  # removed by someone else a moment ago
        raise ReviewError("This region was removed a moment ago.")
    record(actor, evidence.entry.case_id, "region.removed", f"evidence:{evidence.id}",
           {"kind": region.kind, "label": region.label}, entry_id=evidence.entry_id)
    evidence.regions.remove(region)
    db.session.commit()  # the marked copy is redrawn after, outside the lock (evidence.refresh_marked_copy)
