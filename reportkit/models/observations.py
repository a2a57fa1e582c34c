"""Whether a reported post is still up, as seen by a re-check: one row per check, never overwritten."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._common import UTCDateTime, utcnow

# "unknown" is an answer: a login wall, a rate limit, a network error or a page we cannot read is never a guess.
OUTCOMES = {"online": "online", "removed": "removed", "withheld": "withheld in the checking country",
            "unknown": "unknown"}


class Observation(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(10))
    http_status: Mapped[int | None] = mapped_column()
    body_sha256: Mapped[str] = mapped_column(String(64), default="")  # of what the endpoint answered
    endpoint: Mapped[str] = mapped_column(String(300), default="")  # the address asked, without a query string
    detail: Mapped[str] = mapped_column(Text, default="")  # why this outcome, in words
    back_online: Mapped[bool] = mapped_column(default=False)  # removed at the last check, online now
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
