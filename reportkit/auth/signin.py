"""The web side of sessions: what the session cookie and the remember-me cookie hold, how Flask-Login loads
a user from them, and the per-account limit on log-in attempts.

The session cookie (Flask's, signed) holds "<user id>:<session secret>"; the row with that secret's hash must be
alive on every request. The remember-me cookie (ours, not Flask-Login's, whose value never changes) holds a
token that is replaced each time it signs a browser in again.
"""

import hashlib
import hmac
import time

from flask import current_app, g, request, session
from flask_login import current_user, login_user
from limits import parse_many

from ..extensions import db, limiter, login_manager
from ..models import User
from . import accounts

REMEMBER_COOKIE = "remember_session"


def client() -> accounts.Client:
    """Who is asking: a device label always, the address only when the operator keeps addresses."""
    address = request.remote_addr if current_app.config["SESSION_KEEP_ADDRESSES"] else None
    return accounts.Client(accounts.device_label(request.user_agent.string), address)


def sign_in(user: User, remember: bool) -> None:
    _, secret, remember_token = accounts.start_session(user, client(), remember,
                                                       accounts.lifetimes_from(current_app.config))
    user.session_secret = secret
    login_user(user)
    if remember_token:
        g.remember_cookie = remember_token


# Between a right password and the code: the signed session cookie holds who, until when, and what was asked
# (remember-me, where to go). Nobody is signed in until the code is right; then `sign_in` runs as without it.
SECOND_STEP = "two_factor_pending"
SECOND_STEP_SECONDS = 300


def start_second_step(user: User, remember: bool, next_url: str) -> None:
    session[SECOND_STEP] = {"user": user.id, "until": int(time.time()) + SECOND_STEP_SECONDS,
                            "remember": bool(remember), "next": next_url, "password": _password_mark(user)}


def _password_mark(user: User) -> str:
    """Which password the first step checked: a keyed hash of its hash (the session cookie is signed, not
    secret). Once the password changes or is reset, a waiting second step of the old one is void."""
    key = current_app.secret_key
    key = key if isinstance(key, bytes) else str(key).encode()
    return hmac.new(key, f"second-step:{user.id}:{user.password_hash}".encode(), hashlib.sha256).hexdigest()


def second_step() -> tuple[User, bool, str] | None:
    """The user waiting for their code in this browser, whether to remember the browser, and where to go."""
    pending = session.get(SECOND_STEP)
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), int) \
            or not isinstance(pending.get("until"), int) or pending["until"] < time.time():
        session.pop(SECOND_STEP, None)
        return None
    user = db.session.get(User, pending["user"])
    if user is None or not hmac.compare_digest(str(pending.get("password") or ""), _password_mark(user)):
        session.pop(SECOND_STEP, None)
        return None
    return user, bool(pending.get("remember")), str(pending.get("next") or "/")


SECOND_STEP_TRIES = 5  # wrong codes one pending log-in may type before the password is asked again


def wrong_code() -> bool:
    """Count a wrong code against this pending log-in; True once it has had its tries (the step is then over).
    The count lives in the signed cookie, so a copy of an older cookie starts again: the per-account limit
    (`count_failure`) is what holds across copies and addresses; this one makes a guesser retype the password."""
    pending = session.get(SECOND_STEP)
    if not isinstance(pending, dict):
        return True
    tries = int(pending.get("tries") or 0) + 1
    if tries >= SECOND_STEP_TRIES:
        session.pop(SECOND_STEP, None)
        return True
    session[SECOND_STEP] = {**pending, "tries": tries}
    return False


def end_second_step() -> None:
    session.pop(SECOND_STEP, None)


def current_session_id() -> int | None:
    row = g.get("user_session")
    return row.id if row is not None else None


def renew_session() -> None:
    """New secrets for this browser's session (accounts.renew_session), written to its cookies in this response."""
    row = g.get("user_session")
    if row is None or not current_user.is_authenticated:
        return
    renewed = accounts.renew_session(current_user, row.id)
    if renewed is None:
        return
    secret, token = renewed
    current_user.session_secret = secret
    session["_user_id"] = current_user.get_id()
    if token:
        g.remember_cookie = token


def forget_browser() -> None:
    """Drop this browser's remember-me cookie in the response."""
    g.remember_cookie = ""


def load_user(user_id: str) -> User | None:
    uid, _, secret = user_id.partition(":")
    found = accounts.load_session(uid, secret)
    if found is None:
        return None
    user, row = found
    user.session_secret, g.user_session = secret, row
    return user


def load_remembered(_request) -> User | None:
    token = request.cookies.get(REMEMBER_COOKIE)
    if not token:
        return None
    found = accounts.use_remember_token(token, client(), accounts.lifetimes_from(current_app.config))
    if found is None:  # not deleted here: it may be a request that lost a race to the one that rotated it
        return None
    user, row, secret, new_token = found
    user.session_secret, g.user_session, g.remember_cookie = secret, row, new_token
    session["_user_id"], session["_fresh"] = user.get_id(), False
    session["_id"] = login_manager._session_identifier_generator()
    return user


def touch_session() -> None:
    """Load the user before the view runs (so a remember-me sign-in commits before any view work) and note the
    session as in use."""
    if current_user.is_authenticated and g.get("user_session") is not None:
        accounts.touch(g.user_session, accounts.lifetimes_from(current_app.config))


def write_remember_cookie(response):
    token = g.pop("remember_cookie", None)
    if token is None:
        return response
    config = current_app.config
    if token:
        response.set_cookie(REMEMBER_COOKIE, token, max_age=int(config["REMEMBER_DAYS"]) * 86400,
                            secure=bool(config.get("REMEMBER_COOKIE_SECURE", config.get("SESSION_COOKIE_SECURE"))),
                            httponly=True, samesite=config.get("REMEMBER_COOKIE_SAMESITE") or "Lax")
    else:
        response.delete_cookie(REMEMBER_COOKIE, httponly=True, samesite=config.get("REMEMBER_COOKIE_SAMESITE") or "Lax")
    return response


# Per-account limit on log-in attempts, on top of the per-address one: counted for the email typed, whether or not
# it has an account (so the limit tells nothing), and only for failed attempts.

def _account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def account_wait(email: str) -> int | None:
    """Seconds to wait before this account may try again, or None."""
    if not limiter.enabled:
        return None
    key = _account_key(email)
    waits = []
    for item in parse_many(current_app.config["ACCOUNT_LOGIN_RATE_LIMIT"]):
        if not limiter.limiter.test(item, "login-account", key):
            reset_at = limiter.limiter.get_window_stats(item, "login-account", key).reset_time
            waits.append(max(1, int(reset_at - time.time())))
    return max(waits) if waits else None


def count_failure(email: str) -> None:
    if limiter.enabled:
        key = _account_key(email)
        for item in parse_many(current_app.config["ACCOUNT_LOGIN_RATE_LIMIT"]):
            limiter.limiter.hit(item, "login-account", key)


