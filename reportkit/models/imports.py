"""A bulk intake: a pasted list or an imported file, its column mapping, progress and per-row results."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._common import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .cases import Case
    from .users import User

RESULTS = {"created": "Created", "duplicate": "Duplicate", "invalid": "Not a post URL", "error": "Error"}


class Import(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # paste | csv | json
    filename: Mapped[str] = mapped_column(String(255), default="")
    file_sha256: Mapped[str | None] = mapped_column(String(64))  # the uploaded file, kept in the evidence store
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)  # target field -> source column
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")  # for times written without a zone
    # Add addresses that name no post of a known platform (news articles, web pages) as platform "other";
    # without it they are reported as "not a post URL".
    allow_other: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The calendar of the file's dates: auto | gregorian | solar_hijri (services/dates.CALENDARS)
    calendar: Mapped[str] = mapped_column(String(16), default="auto", server_default="auto")
    # mapping | queued | running | done | failed | interrupted. A stopped import (failed or interrupted) keeps
    # what its committed batches made; an import from a file is resumed from its first uncommitted row.
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # Which run owns the job: taking it (queued -> running) adds one, and a run that finds another number stops.
    attempt: Mapped[int] = mapped_column(default=0, server_default="0")
    progress: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    results: Mapped[list] = mapped_column(JSON, default=list)  # one dict per input line or row, in order, as committed
    error: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The heartbeat: every progress update moves it; jobs.expire_stalled reads it.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    created_by: Mapped["User | None"] = relationship()
    case: Mapped["Case"] = relationship()

    @property
    def stopped(self) -> bool:
        return self.status in ("failed", "interrupted")

    @property
    def resumable(self) -> bool:
        """Stopped part way with its file kept: the rows after the last committed batch can still be imported."""
        return self.stopped and bool(self.file_sha256) and len(self.results) < self.total
