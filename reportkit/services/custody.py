"""Write and check the custody log. Every change of a case goes through `record`.

The application refuses to update or delete an event (an ORM guard here, triggers in the database), and
`verify_case` recomputes every hash and every stored file's SHA-256.
"""

from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Case
from ..models._common import utcnow
from ..models.events import GENESIS, ChainHead, Event
from . import anchors
from .byte_uses import byte_uses
from .replay import replay_case
from .storage import EvidenceStore

# Set by the API for the length of a request, so events name the token a script used.
current_token: ContextVar[int | None] = ContextVar("current_token", default=None)
_PER_TRANSACTION = "reportkit.per_transaction"  # session.info key of `transaction_cache`


class AppendOnly(RuntimeError):
    pass


@sa_event.listens_for(Session, "before_flush")
def _guard(session, _context, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Event) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnly("Events are append-only: they cannot be changed or deleted.")


def lock_case(case_id: int) -> None:
    """Take the case's write lock for the rest of the transaction; after it, reads see every committed write.

    Call it before reading what a write depends on (the next entry number, a duplicate, a status or the
    approvals so far). The lock is the case's chain-head row: an UPDATE takes it on PostgreSQL (a row lock)
    and on SQLite (the database's write lock, which SQLite takes at the first write of a transaction)."""
    _head(case_id)


def reloaded(obj):
    """The row as committed now (call it after `lock_case`), or None when another request deleted it meanwhile:
    its removal then gets a clear answer instead of an ObjectDeletedError."""
    identity = sa_inspect(obj).identity
    return db.session.get(type(obj), identity, populate_existing=True) if identity else obj


def transaction_cache(name: str, session=None) -> dict:
    """A dict that lives as long as the current transaction: what a writer holding the case lock may keep in
    memory until its commit (chain heads, entry counters, clause look-ups). Cleared when the transaction ends."""
    return (session or db.session).info.setdefault(_PER_TRANSACTION, {}).setdefault(name, {})


def _head(case_id: int) -> list:
    """[hash, length, moved] of the case's chain, locked for this transaction (cached until it ends; `moved`:
    this transaction appended, so `_write_heads` writes the row back before the commit)."""
    heads = transaction_cache("chain_heads")
    if case_id not in heads:
        lock = update(ChainHead).where(ChainHead.case_id == case_id).values(length=ChainHead.length)
        with db.session.no_autoflush:  # the lock first, then this transaction's own row changes: one lock order
            if not db.session.execute(lock).rowcount:  # for every writer, so PostgreSQL never deadlocks
                insert = {"sqlite": sqlite_insert, "postgresql": pg_insert}[db.session.get_bind().dialect.name]
                db.session.execute(insert(ChainHead).values(case_id=case_id, hash=GENESIS, length=0)
                                   .on_conflict_do_nothing())
                db.session.execute(lock)  # a concurrent first writer may have inserted it: now it is ours
        db.session.flush()
        db.session.expire_all()  # objects read before the lock may be stale: reload them under it
        row = db.session.execute(select(ChainHead.hash, ChainHead.length).where(ChainHead.case_id == case_id)).one()
        heads[case_id] = [row.hash, row.length, False]
    return heads[case_id]


def record(actor, case_id: int, action: str, target: str = "", data: dict | None = None, explanation: str = "",
           entry_id: int | None = None) -> Event:
    """Append an event to the case's chain (it is committed with the change it describes).
    Callers flush first when the ids they pass are new."""
    head = _head(case_id)
    ev = Event(case_id=case_id, entry_id=entry_id, actor_id=getattr(actor, "id", None),
               actor_label="command line" if actor is None else "",  # the id names the person
               token_id=current_token.get(), action=action, target=target, data=data or {},
               explanation=explanation or "", created_at=utcnow().replace(microsecond=0), prev_hash=head[0])
    ev.hash = ev.compute_hash()
    db.session.add(ev)
    head[:] = [ev.hash, head[1] + 1, True]
    return ev


@sa_event.listens_for(Session, "before_commit")
def _write_heads(session) -> None:
    """Move each chain head the transaction appended to (once per transaction, not once per event)."""
    for case_id, (hash_, length, moved) in transaction_cache("chain_heads", session).items():
        if moved:
            session.execute(update(ChainHead).where(ChainHead.case_id == case_id).values(hash=hash_, length=length))


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_transaction_cache(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PER_TRANSACTION, None)


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    events_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_case(case_id: int, store: EvidenceStore, anchor_list: list[anchors.Anchor] = ()) -> Report:
    """Check the chain, its head, every recorded head (`anchor_list`, and those the case's own export and
    verification events name), the rows against the history (replay) and every stored file of the case."""
    report = Report()
    previous, events = GENESIS, []
    for ev in db.session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id)):
        report.events_checked += 1
        if ev.prev_hash != previous:
            report.problems.append(f"event {ev.id} ({ev.action}): the chain is broken before it "
                                   "(an earlier event was removed or changed)")
        if ev.compute_hash() != ev.hash:
            report.problems.append(f"event {ev.id} ({ev.action}): its content does not match its hash (edited)")
        previous = ev.hash
        events.append(ev)
    head = db.session.get(ChainHead, case_id)
    if head is not None and (head.hash, head.length) != (previous, len(events)):
        report.problems.append(f"the chain has {len(events)} events ending at {previous[:16]}…, but its head row "
                               f"says {head.length} events ending at {head.hash[:16]}…: events were removed or "
                               "rewritten")
    if events and events[0].action != "case.created":
        report.problems.append(f"the chain starts with {events[0].action}, not case.created: events were planted "
                               "or the case's first events removed")
    hashes = [ev.hash for ev in events]
    recorded = [anchors.Anchor(case_id, ev.data["chain"]["length"], ev.data["chain"]["head"], f"event {ev.id} "
                               f"({ev.action})") for ev in events if isinstance((ev.data or {}).get("chain"), dict)]
    for anchor in [*anchor_list, *recorded]:
        if anchor.case_id == case_id and (problem := anchor.problem(hashes)):
            report.problems.append(problem)
    if db.session.get(Case, case_id) is None:
        if not any(ev.action == "case.deleted" for ev in events):
            report.problems.append("the case row is gone but its history does not say it was deleted")
        return report  # a deleted case: its chain and anchors are what is left to check
    report.problems += replay_case(case_id).problems
    for sha, label in dict.fromkeys((u.sha256, u.label) for u in byte_uses(case_id)):
        report.files_checked += 1
        problem = store.check(sha)  # streamed and hashed, in the local store or the S3 bucket
        if problem == "missing":
            report.problems.append(f"{label}: the stored file {sha[:16]}… is missing")
        elif problem == "changed":
            report.problems.append(f"{label}: the stored file {sha[:16]}… has changed")
    return report


def cases_to_verify(case_id: int | None) -> list[int]:
    """One case, or every case the database knows of: by its row, its events or its chain head, so that a case
    deleted behind the application (or events planted for a future case) is checked, not skipped."""
    if case_id is not None:
        return [case_id]
    ids = set(db.session.scalars(select(Case.id))) | set(db.session.scalars(select(Event.case_id).distinct()))
    return sorted(ids | set(db.session.scalars(select(ChainHead.case_id))))


def entry_history(entry_id: int) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.entry_id == entry_id).order_by(Event.id.desc())))


def case_activity(case_id: int):
    return select(Event).where(Event.case_id == case_id).order_by(Event.id.desc())


def run_verification(actor, case_id: int, store: EvidenceStore, anchor_log: Path,
                     extra: list[anchors.Anchor] = ()) -> Report:
    """Check a case against its anchors and record that the check ran (with its outcome) as an event of its own;
    a passing check anchors the head it checked."""
    report = verify_case(case_id, store, [*anchors.from_log(anchor_log, case_id), *extra])
    if db.session.get(Case, case_id) is None:
        return report  # a deleted case's chain is closed: checked, never appended to
    data = {"ok": report.ok, "events_checked": report.events_checked, "files_checked": report.files_checked,
            "problems": report.problems[:50]}
    if report.ok:
        data["chain"] = current_head(case_id)
    record(actor, case_id, "verification.run", f"case:{case_id}", data)
    db.session.commit()
    if report.ok:
        anchor_head(anchor_log, case_id, "verification")
    return report


def current_head(case_id: int) -> dict:
    """The case's committed head, as exports print it and anchors record it."""
    head = db.session.get(ChainHead, case_id, populate_existing=True)
    return {"length": head.length, "head": head.hash} if head else {"length": 0, "head": GENESIS}


def anchor_head(anchor_log: Path, case_id: int, reason: str) -> dict:
    """Record the case's committed head in the anchor log, outside the database."""
    head = current_head(case_id)
    anchors.append(anchor_log, case_id, head["length"], head["head"], reason)
    return head


def last_verification(case_id: int) -> Event | None:
    return db.session.scalar(select(Event).where(Event.case_id == case_id, Event.action == "verification.run")
                             .order_by(Event.id.desc()).limit(1))
