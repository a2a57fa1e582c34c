"""The custody log: append-only, hash-chained events, one chain per case.

Each event stores the hash of the case's previous event and a SHA-256 over its own content, so editing or
removing a row behind the application's back breaks the chain, and `reportkit verify` says where. Case and
entry ids are plain numbers, not foreign keys: the history outlives what it describes.

A chain must never fork (two events naming the same previous event). Writers are serialised by the case's
`ChainHead` row, and the database itself refuses a second event after the same `prev_hash` (the unique index
`uq_event_case_prev`), so a bug or a lock that does not hold fails loudly instead of storing a fork.
"""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..offline import GENESIS, content_hash  # one canonical hash, shared with the package's own verify.py
from ._common import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .users import User

__all__ = ["GENESIS", "ChainHead", "Event", "content_hash"]


class Event(db.Model):
    __table_args__ = (Index("ix_event_case_id_id", "case_id", "id"), Index("ix_event_entry", "entry_id"),
                      Index("uq_event_case_prev", "case_id", "prev_hash", "branch", unique=True))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column()
    entry_id: Mapped[int | None] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column()  # the user
    actor_label: Mapped[str] = mapped_column(String(300), default="")  # older events: name or email; now ""
    token_id: Mapped[int | None] = mapped_column()  # when the change came through an API token
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(100), default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    explanation: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Always 0. Forks stored before the database refused them (migration e1f2a3b4c5d6) keep their history with
    # 1, 2 … on the later branches, so the unique index could be built; `verify` still reports them.
    branch: Mapped[int] = mapped_column(default=0, server_default="0")

    # Who, for the team's own pages. Events keep only the actor's id (older ones also a name or email in
    # actor_label): a name inside the hashed content could never be withheld from an export.
    actor: Mapped["User | None"] = relationship(primaryjoin="foreign(Event.actor_id) == User.id", viewonly=True)

    @property
    def who(self) -> str:
        if self.actor_label:
            return self.actor_label
        return self.actor.label if self.actor else ("a former member" if self.actor_id else "—")

    def content(self) -> dict:
        return {"case_id": self.case_id, "entry_id": self.entry_id, "actor_id": self.actor_id,
                "actor_label": self.actor_label, "token_id": self.token_id, "action": self.action,
                "target": self.target, "data": self.data, "explanation": self.explanation,
                "created_at": self.created_at.isoformat(), "prev_hash": self.prev_hash}

    def compute_hash(self) -> str:
        return content_hash(self.content())




class ChainHead(db.Model):
    """The newest event of a case's chain and the chain's length.

    Every append first updates this row, inside the transaction that adds the event: that takes a write lock
    SQLite and PostgreSQL both honour (a `SELECT … FOR UPDATE` of the last event does not stop a second writer
    from reading the same head, and SQLite ignores it), so appends to one case are linearisable across
    threads, processes and job workers. `verify` compares it with the chain; it is not an anchor against an
    attacker who can rewrite the database (exports and backups record heads for that)."""

    case_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    length: Mapped[int] = mapped_column()
