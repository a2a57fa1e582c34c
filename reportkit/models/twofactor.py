"""A second factor for signing in: one TOTP authenticator per user, and the one-time recovery codes that stand in
for it when the phone is lost.

The TOTP secret has to be readable to check a code, so it is stored as it is, in its own table (never in the
user row's password columns); the password is still needed with it. Recovery codes are shown once and only their
salted hashes are stored (`auth/twofactor.py` explains why SHA-256 is enough for them).
"""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._common import UTCDateTime, utcnow


class TwoFactor(db.Model):
    """A user's authenticator. Until `confirmed_at` is set (the user typed a code it made) it does nothing: the
    user is signed in with the password alone. `last_step` is the 30-second step of the last code accepted; a
    code of that step or an earlier one is refused, so a code seen over a shoulder cannot be used again."""

    __tablename__ = "two_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    secret: Mapped[str] = mapped_column(String(64))  # base32, as authenticator apps take it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_step: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(db.Model):
    """One of the codes shown at enrolment; works once (`used_at`)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def has_two_factor(user_id: int) -> bool:
    """Whether the user signs in with a confirmed second factor (what case and install-wide requirements ask)."""
    return db.session.scalar(select(TwoFactor.id).where(TwoFactor.user_id == user_id,
                                                        TwoFactor.confirmed_at.is_not(None))) is not None
