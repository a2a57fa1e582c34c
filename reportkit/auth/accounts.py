"""Account operations: sessions that can be ended, remember-me tokens that rotate, password change and reset
links, and the security log every one of them writes to.

Plain functions in the house style: no request, session or flash here. The caller passes who is asking
(`Client`: device label and, only when the operator keeps addresses, the address) and the lifetimes from config.
Each function commits once.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import ApiToken, PasswordReset, SecurityEvent, User, UserSession
from ..models._common import utcnow
from ..models.users import hash_token
from ..services.dates import valid_zones
from .passwords import dummy_hash, hash_password, verify_password

TOUCH_EVERY = timedelta(minutes=5)  # last-seen is written at most this often: every write takes SQLite's lock


@dataclass(frozen=True)
class Client:
    device: str
    address: str | None = None


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta  # a session not remembered ends after this long unused
    remembered: timedelta  # a remembered one after this long unused


def device_label(user_agent: str | None) -> str:
    """"Firefox on Linux": enough for the owner to recognise a device, not a fingerprint."""
    ua = user_agent or ""
    browser = next((name for pattern, name in (
        (r"Edg/", "Edge"), (r"OPR/|Opera", "Opera"), (r"Firefox/", "Firefox"), (r"Chrom(e|ium)/", "Chrome"),
        (r"Safari/", "Safari"), (r"curl/", "curl"), (r"python-requests|httpx|aiohttp", "a script"))
        if re.search(pattern, ua)), "Unknown browser")
    system = next((name for pattern, name in (
        (r"Android", "Android"), (r"iPhone|iPad|iOS", "iOS"), (r"Windows", "Windows"), (r"Mac OS X|Macintosh", "macOS"),
        (r"CrOS", "ChromeOS"), (r"Linux|X11", "Linux")) if re.search(pattern, ua)), "")
    return f"{browser} on {system}" if system else browser


def record(user_id: int, action: str, client: Client) -> None:
    """Add a line to the user's security log (committed with the change it describes)."""
    db.session.add(SecurityEvent(user_id=user_id, action=action, device=client.device[:120], address=client.address))


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """The user whose password this is, or None. An unknown email is checked against a dummy hash, so both
    answers cost one password hash and an observer cannot tell them apart by time."""
    user = find_user(email)
    ok = verify_password(user.password_hash if user is not None else dummy_hash(), password)
    return user if user is not None and ok else None


def register(email: str, name: str, password: str, time_zone: str = "UTC") -> None:
    """Create the account if the email has none; otherwise change nothing. Both ways hash the password once and
    return the same nothing, so the answer does not tell whether the email had an account. `time_zone` is the
    browser's guess: a name this server does not know is UTC (Settings changes it)."""
    password_hash = hash_password(password)
    email = email.strip().lower()
    if find_user(email) is not None:
        return
    db.session.add(User(email=email, name=name.strip(), password_hash=password_hash,
                        time_zone=time_zone if time_zone in valid_zones() else "UTC"))
    try:
        db.session.commit()
    except IntegrityError:  # registered by a request running at the same moment
        db.session.rollback()


def start_session(user: User, client: Client, remember: bool, lifetimes: Lifetimes,
                  action: str = "login") -> tuple[UserSession, str, str | None]:
    """A new session row; returns it, its secret (for the session cookie) and the remember-me token or None."""
    now = utcnow()
    secret = secrets.token_urlsafe(32)
    remember_token = secrets.token_urlsafe(32) if remember else None
    row = UserSession(user_id=user.id, secret_hash=hash_token(secret), device=client.device[:120],
                      address=client.address, created_at=now, last_seen_at=now,
                      remember_hash=hash_token(remember_token) if remember_token else None,
                      expires_at=now + (lifetimes.remembered if remember else lifetimes.idle))
    db.session.add(row)
    record(user.id, action, client)
    db.session.commit()
    return row, secret, remember_token


def load_session(user_id: str, secret: str) -> tuple[User, UserSession] | None:
    """The user and their session if `secret` names a live session of theirs; None once it is ended or expired."""
    if not user_id.isdigit() or not secret:
        return None
    row = db.session.scalar(select(UserSession).where(UserSession.secret_hash == hash_token(secret)))
    if row is None or row.user_id != int(user_id) or not row.alive(utcnow()):
        return None
    return db.session.get(User, row.user_id), row


def touch(row: UserSession, lifetimes: Lifetimes) -> None:
    """Note that the session is in use (at most every few minutes) and push its idle end further."""
    now = utcnow()
    if now - row.last_seen_at < TOUCH_EVERY:
        return
    lifetime = lifetimes.remembered if row.remember_hash else lifetimes.idle
    db.session.execute(update(UserSession).where(UserSession.id == row.id, UserSession.ended_at.is_(None))
                       .values(last_seen_at=now, expires_at=now + lifetime))
    db.session.commit()


def use_remember_token(token: str, client: Client, lifetimes: Lifetimes) -> tuple[User, UserSession, str, str] | None:
    """Sign a remembered browser in again. The token is replaced (and the session's secret with it) by one
    conditional UPDATE: a token works once, and of two requests racing with it only one wins."""
    if not token:
        return None
    now = utcnow()
    old = hash_token(token)
    row = db.session.scalar(select(UserSession).where(UserSession.remember_hash == old))
    if row is None or not row.alive(now):
        return None
    secret, new_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    won = db.session.execute(
        update(UserSession).where(UserSession.id == row.id, UserSession.remember_hash == old,
                                  UserSession.ended_at.is_(None), UserSession.expires_at > now)
        .values(secret_hash=hash_token(secret), remember_hash=hash_token(new_token), last_seen_at=now,
                expires_at=now + lifetimes.remembered)
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        db.session.rollback()
        return None
    record(row.user_id, "login_remembered", client)
    db.session.commit()
    db.session.refresh(row)
    return db.session.get(User, row.user_id), row, secret, new_token


def end_session(user: User, session_id: int, client: Client, action: str = "session_ended") -> bool:
    """End one of `user`'s sessions (its cookie and remember-me token stop working at once)."""
    ended = db.session.execute(
        update(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id,
                                  UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), remember_hash=None).execution_options(synchronize_session=False)).rowcount
    if ended:
        record(user.id, action, client)
    db.session.commit()
    return bool(ended)


def _end_sessions(user_id: int, keep: int | None = None) -> int:
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.id != keep)
    return db.session.execute(query.values(ended_at=utcnow(), remember_hash=None)
                              .execution_options(synchronize_session=False)).rowcount


def renew_session(user: User, session_id: int) -> tuple[str, str | None] | None:
    """A new secret for one live session of the user's (and a new remember-me token if it has one): the browser
    that changed the password or turned two-factor on stays signed in, but a copy of its cookies taken before
    (the same session, stolen) stops working. Returns the secret and token, or None when the session is gone."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id or not row.alive(utcnow()):
        return None
    secret = secrets.token_urlsafe(32)
    token = secrets.token_urlsafe(32) if row.remember_hash else None
    row.secret_hash = hash_token(secret)
    if token:
        row.remember_hash = hash_token(token)
    db.session.commit()
    return secret, token


def end_other_sessions(user_id: int, keep: int | None) -> int:
    """End every session of the user but `keep` (their remember-me tokens with them); committed by the caller.
    Turning two-factor on calls this: a session or remember-me cookie made with the password alone, perhaps by
    someone who had the password, must not outlive the new factor."""
    return _end_sessions(user_id, keep=keep)


def end_all_sessions(user: User, client: Client) -> int:
    """Sign out everywhere, this browser included."""
    count = _end_sessions(user.id)
    record(user.id, "signed_out_everywhere", client)
    db.session.commit()
    return count


def active_sessions(user: User) -> list[UserSession]:
    return list(db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None),
                                  UserSession.expires_at > utcnow())
        .order_by(UserSession.last_seen_at.desc())))


def security_log(user: User, limit: int = 50) -> list[SecurityEvent]:
    return list(db.session.scalars(select(SecurityEvent).where(SecurityEvent.user_id == user.id)
                                   .order_by(SecurityEvent.id.desc()).limit(limit)))


def change_password(user: User, new_password: str, client: Client, current_session: int | None,
                    revoke_tokens: bool) -> int:
    """Set a new password (the caller has checked the current one) and end every other session; with
    `revoke_tokens`, the API tokens too. Returns how many sessions were ended."""
    user.password_hash = hash_password(new_password)
    ended = _end_sessions(user.id, keep=current_session)
    _void_reset_links(user.id)  # a link mailed before the change (to a mailbox someone else reads) stops working
    record(user.id, "password_changed", client)
    if revoke_tokens:
        _revoke_tokens(user.id)
        record(user.id, "tokens_revoked", client)
    db.session.commit()
    return ended


def revoke_token(user: User, token_id: int, client: Client) -> ApiToken | None:
    """Revoke one of the user's own API tokens (Settings and the API); None when it is not theirs or does not
    exist, which callers answer with the same 404. Revoking a revoked token keeps its first time."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(user.id, "token_revoked", client)
    db.session.commit()
    return token


def _revoke_tokens(user_id: int) -> None:
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=utcnow()).execution_options(synchronize_session=False))


def create_reset_link(user: User, valid_for: timedelta, client: Client) -> str:
    """A one-time secret for `/auth/reset/<secret>`; only its hash is stored. A newer link replaces the user's
    older unused ones: only the link of the last request works."""
    secret = secrets.token_urlsafe(32)
    _void_reset_links(user.id)
    db.session.add(PasswordReset(user_id=user.id, token_hash=hash_token(secret), expires_at=utcnow() + valid_for))
    record(user.id, "password_reset_link", client)
    db.session.commit()
    return secret


def find_reset(secret: str) -> tuple[PasswordReset, User] | None:
    """The reset and its user while the link is unused and unexpired."""
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == hash_token(secret)))
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    return reset, db.session.get(User, reset.user_id)


def reset_password(secret: str, new_password: str, client: Client) -> User | None:
    """Use a reset link: once (a conditional UPDATE marks it used), before it expires. Ends every session and
    revokes every other reset link of the user."""
    password_hash = hash_password(new_password)
    now = utcnow()
    user_id = db.session.execute(
        update(PasswordReset).where(PasswordReset.token_hash == hash_token(secret), PasswordReset.used_at.is_(None),
                                    PasswordReset.expires_at > now)
        .values(used_at=now).returning(PasswordReset.user_id).execution_options(synchronize_session=False)).scalar()
    if user_id is None:
        db.session.rollback()
        return None
    _void_reset_links(user_id)
    user = db.session.get(User, user_id)
    user.password_hash = password_hash
    _end_sessions(user_id)
    record(user_id, "password_reset", client)
    db.session.commit()
    return user


def _void_reset_links(user_id: int) -> None:
    """Mark every unused reset link of the user used (committed by the caller)."""
    db.session.execute(update(PasswordReset).where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
                       .values(used_at=utcnow()).execution_options(synchronize_session=False))


def lifetimes_from(config) -> Lifetimes:
    return Lifetimes(idle=timedelta(hours=config["SESSION_IDLE_HOURS"]),
                     remembered=timedelta(days=config["REMEMBER_DAYS"]))


def reset_valid_for(config) -> timedelta:
    return timedelta(minutes=config["RESET_LINK_MINUTES"])


