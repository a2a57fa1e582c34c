"""Signed-in sessions that can be ended, one-time password reset links, and each user's security log.

Every secret (session id, remember-me token, reset link) is 256 random bits shown to its holder once; only its
SHA-256 is stored (`users.hash_token`), so a copy of the database opens no session.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ._common import UTCDateTime, utcnow

SECURITY_ACTIONS = {
    "login": "Logged in",
    "login_remembered": "Signed in again on a remembered device",
    "logout": "Logged out",
    "session_ended": "Ended a session",
    "signed_out_everywhere": "Signed out everywhere",
    "password_changed": "Changed the password",
    "password_reset_link": "A password reset link was created",
    "password_reset": "Reset the password with a link",
    "token_created": "Created an API token",
    "token_revoked": "Revoked an API token",
    "tokens_revoked": "Revoked every API token",
    "two_factor_enabled": "Turned on two-factor sign-in (every other session ended)",
    "two_factor_disabled": "Turned off two-factor sign-in",
    "recovery_codes_created": "Made new recovery codes (the old ones stopped working)",
    "recovery_code_used": "Used a recovery code",
    "two_factor_failed": "A wrong two-factor code was typed",
}


class UserSession(db.Model):
    """One browser signed in. The session cookie holds the id; a remember-me cookie holds a token that changes
    each time it is used. A row is alive while `ended_at` is empty and `expires_at` is ahead."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    device: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def alive(self, now: datetime) -> bool:
        return self.ended_at is None and self.expires_at > now


class PasswordReset(db.Model):
    """A one-time link an admin creates: works once, before `expires_at`."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SecurityEvent(db.Model):
    """A change of a session, password or token, shown to its user in Settings."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    device: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str | None] = mapped_column(String(45))

    @property
    def description(self) -> str:
        return SECURITY_ACTIONS.get(self.action, self.action)
