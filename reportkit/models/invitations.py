"""An owner's offer of a role in a case to whoever holds an email address. Nothing changes in the case until that
person, logged in with that address, accepts; the owner is never told whether the address has an account."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._common import UTCDateTime, utcnow
from .cases import Case

ANSWERS = ("accepted", "declined", "withdrawn", "expired")  # what closed an invitation (`answer`)


class Invitation(db.Model):
    # At most one open invitation per case and address: two owners inviting at once cannot make two.
    __table_args__ = (Index("uq_invitation_open", "case_id", "email", unique=True,
                            sqlite_where=text("answered_at IS NULL"), postgresql_where=text("answered_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)  # lower-cased
    role: Mapped[str] = mapped_column(String(20))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: still open (unless expired)
    answer: Mapped[str] = mapped_column(String(20), default="", server_default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    case: Mapped[Case] = relationship()

    def is_open(self, now: datetime | None = None) -> bool:
        return self.answered_at is None and (now or utcnow()) < self.expires_at
