"""Two-factor sign-in: enrolling an authenticator app (TOTP, RFC 6238), checking its codes, recovery codes, and
turning it off.

Plain functions in the style of `accounts.py`: no request, session or flash; the caller passes who is asking
(`accounts.Client`) and each function that changes something commits once, with its line in the security log.

Recovery codes are 80 random bits each (16 characters from a 32-letter alphabet), shown once. Only a SHA-256 of
each, with a salt of its own, is stored. A slow password hash (scrypt) is there to make guessing a *low*-entropy
secret from its hash expensive; a code of 80 random bits cannot be guessed from a fast hash either (2^80 tries
per code), and the salt stops one precomputed table serving every code and every database. So SHA-256 is enough,
and checking ten codes stays instant.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import RecoveryCode, TwoFactor, User
from ..models._common import utcnow
from ..models.twofactor import has_two_factor
from .accounts import Client, end_other_sessions, record

ISSUER = "reportkit"  # what the authenticator app shows above the code
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # 32 letters: no l/1, o/0 to misread
RECOVERY_LENGTH = 16
DRIFT_STEPS = 1  # a code of the step before or after is accepted too: phones' clocks and typing take time
UNCONFIRMED_FOR = timedelta(hours=1)  # an enrolment not finished within this gets a new secret next time


class TwoFactorError(ValueError):
    pass


def factor_of(user: User) -> TwoFactor | None:
    return db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == user.id))


def is_enabled(user: User) -> bool:
    return has_two_factor(user.id)


# Enrolment

def start_enrolment(user: User) -> TwoFactor:
    """The user's unconfirmed factor, made if there is none (or the last one is old): the same secret while the
    user is scanning it, so reloading the page does not change the code their app already shows."""
    factor = factor_of(user)
    if factor is not None and factor.confirmed:
        raise TwoFactorError("Two-factor sign-in is on already.")
    if factor is not None and factor.created_at > utcnow() - UNCONFIRMED_FOR:
        return factor
    if factor is not None:
        db.session.delete(factor)
        db.session.flush()
    factor = TwoFactor(user_id=user.id, secret=pyotp.random_base32(32))
    db.session.add(factor)
    try:
        db.session.commit()
    except IntegrityError:  # the same user opened the page twice at once: use the one that won
        db.session.rollback()
        factor = factor_of(user)
        if factor is None or factor.confirmed:
            raise TwoFactorError("Two-factor sign-in changed meanwhile; open the page again.") from None
    return factor


def provisioning_uri(factor: TwoFactor, user: User) -> str:
    return pyotp.TOTP(factor.secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code as an inline SVG made here (the secret never goes to a third-party service). The SVG holds
    only black modules: no text of the user's is in it."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff")


def grouped(secret: str) -> str:
    """The secret as people type it: groups of four."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(user: User, code: str, client: Client, now: datetime | None = None,
                      keep_session: int | None = None) -> list[str] | None:
    """Switch the factor on if `code` is a current code of the unconfirmed secret; returns the recovery codes
    (shown once) or None for a wrong code. Of two confirmations at once only one wins (conditional UPDATE).
    Every session of the user but `keep_session` (the browser that typed the code) ends with its remember-me
    token: one signed in with the password alone, perhaps a phished one, must not outlive the new factor."""
    factor = factor_of(user)
    if factor is None or factor.confirmed:
        raise TwoFactorError("Start again from Settings: there is no enrolment waiting.")
    step = _matching_step(factor.secret, code, now or utcnow())
    if step is None:
        return None
    won = db.session.execute(
        update(TwoFactor).where(TwoFactor.id == factor.id, TwoFactor.confirmed_at.is_(None))
        .values(confirmed_at=utcnow(), last_step=step).execution_options(synchronize_session=False)).rowcount
    if not won:
        db.session.rollback()
        raise TwoFactorError("Two-factor sign-in is on already.")
    codes = _replace_recovery_codes(user.id)
    end_other_sessions(user.id, keep=keep_session)
    record(user.id, "two_factor_enabled", client)
    db.session.commit()
    db.session.refresh(factor)
    return codes


# Checking codes

def check_code(user: User, code: str, client: Client, now: datetime | None = None) -> str | None:
    """"totp" or "recovery" if `code` signs this user in, else None (and a line in the security log). A TOTP code
    works once: its step must be later than the last one accepted. A recovery code works once."""
    factor = factor_of(user)
    if factor is None or not factor.confirmed:
        return None
    text = "".join((code or "").split())
    if text.isdigit():
        step = _matching_step(factor.secret, text, now or utcnow())
        if step is not None and db.session.execute(
                update(TwoFactor).where(TwoFactor.id == factor.id,
                                        or_(TwoFactor.last_step.is_(None), TwoFactor.last_step < step))
                .values(last_step=step).execution_options(synchronize_session=False)).rowcount:
            db.session.commit()
            return "totp"
    elif _use_recovery_code(user.id, text):
        record(user.id, "recovery_code_used", client)
        db.session.commit()
        return "recovery"
    db.session.rollback()
    record(user.id, "two_factor_failed", client)
    db.session.commit()
    return None


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code `code` is (the current one first, then its neighbours), or None."""
    code = "".join((code or "").split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in sorted(range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1), key=lambda s: abs(s - current)):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


# Recovery codes

def _normalised(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{_normalised(code)}".encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, RECOVERY_LENGTH, 4))


def _replace_recovery_codes(user_id: int) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [_new_code() for _ in range(RECOVERY_CODES)]
    for code in codes:
        salt = secrets.token_hex(16)
        db.session.add(RecoveryCode(user_id=user_id, salt=salt, code_hash=_hash(salt, code)))
    return codes


def _use_recovery_code(user_id: int, code: str) -> bool:
    """Mark the matching unused code used; a conditional UPDATE, so two requests racing with it cannot both win."""
    if len(_normalised(code)) != RECOVERY_LENGTH:
        return False
    rows = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id,
                                                         RecoveryCode.used_at.is_(None))).all()
    match = next((row for row in rows if hmac.compare_digest(row.code_hash, _hash(row.salt, code))), None)
    if match is None:
        return False
    return bool(db.session.execute(
        update(RecoveryCode).where(RecoveryCode.id == match.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)).rowcount)


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == user.id,
                                                                      RecoveryCode.used_at.is_(None))) or 0


def new_recovery_codes(user: User, client: Client) -> list[str]:
    """Replace every recovery code (the caller has re-authenticated the user); returns the new ones, shown once."""
    if not is_enabled(user):
        raise TwoFactorError("Two-factor sign-in is off: there are no recovery codes to replace.")
    codes = _replace_recovery_codes(user.id)
    record(user.id, "recovery_codes_created", client)
    db.session.commit()
    return codes


def disable(user: User, client: Client) -> None:
    """Turn two-factor off (the caller has re-authenticated the user): the secret and every recovery code go."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    gone = db.session.execute(delete(TwoFactor).where(TwoFactor.user_id == user.id,
                                                      TwoFactor.confirmed_at.is_not(None))).rowcount
    if gone:
        record(user.id, "two_factor_disabled", client)
    db.session.commit()
