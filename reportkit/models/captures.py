"""Server-side captures: one row per "Capture now" job (services/capture.py), its state and what it found."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._common import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .entries import Entry
    from .users import User

CAPTURE_STATUSES = ("queued", "running", "done", "failed")
# What a finished capture found; only "captured" stores evidence of the post.
CAPTURE_OUTCOMES = {
    "captured": "captured",
    "login_wall": "a login or consent wall",
    "not_found": "not found",
    "refused": "refused (a private or local address)",
    "timeout": "timed out",
    "error": "an error page or an empty page",
}


class Capture(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="queued")  # CAPTURE_STATUSES
    outcome: Mapped[str] = mapped_column(String(12), default="")  # CAPTURE_OUTCOMES once finished
    message: Mapped[str] = mapped_column(Text, default="")
    keep_diagnostic: Mapped[bool] = mapped_column(default=False)  # keep a wall's screenshot (withdrawn) if asked
    url: Mapped[str] = mapped_column(String(2048), default="")  # the address loaded (the entry's canonical one)
    browser: Mapped[str] = mapped_column(String(100), default="")  # "Chromium 156.0.8078.108"
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    final_url: Mapped[str] = mapped_column(String(2048), default="")  # after redirects
    http_status: Mapped[int | None] = mapped_column()
    proxy_label: Mapped[str] = mapped_column(String(200), default="")  # the proxy's scheme and host, no password
    evidence_ids: Mapped[list] = mapped_column(JSON, default=list)  # the evidence rows it made
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    entry: Mapped["Entry"] = relationship()
    requested_by: Mapped["User | None"] = relationship()

    @property
    def outcome_label(self) -> str:
        return CAPTURE_OUTCOMES.get(self.outcome, self.outcome)
