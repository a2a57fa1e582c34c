"""Password rules that matter (length, not common, not built from the email) and the one place hashes are
checked, so that a log-in for an unknown email costs the same as for a known one."""

import functools
import re
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from .common_passwords import COMMON

MIN_LENGTH = 12
MAX_LENGTH = 1024
RULES = (f"At least {MIN_LENGTH} characters. A passphrase of several unrelated words is best; "
         "common passwords and ones built from your email are refused.")


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # Werkzeug's default: scrypt with a random salt


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


@functools.cache
def dummy_hash() -> str:
    """Checked against when the email has no account, so both answers take one scrypt."""
    return hash_password(secrets.token_urlsafe(32))


def _core(text: str) -> str:
    """Lower case, with the digits and symbols people pad a word with removed: `Password2024!` -> `password`."""
    return re.sub(r"[\W\d_]+", "", text.lower())


def password_problem(password: str, email: str = "") -> str | None:
    """Why `password` is refused, in the user's words, or None. No composition rule: length and guessability."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered, core = password.lower(), _core(password)
    if lowered in COMMON or core in COMMON or len(set(lowered)) < 5 or _is_run(lowered):
        return "This password is among the most common ones; choose another (a few unrelated words work well)."
    if _built_from(lowered, email.lower()):
        return "This password is built from your email address; choose another."
    return None


def _built_from(lowered: str, email: str) -> bool:
    """True when little is left once the email and its parts (`ana`, `example`) are taken out."""
    parts = sorted({p for p in re.split(r"[\W_]+", email) if len(p) >= 3} | {email, email.split("@")[0]},
                   key=len, reverse=True)
    rest = lowered
    for part in parts:
        if len(part) >= 3:
            rest = rest.replace(part, "")
    return rest != lowered and len(_core(rest)) < 4


def _is_run(text: str) -> bool:
    """`123456789012`, `abcdefghijkl`, `qwertyuiopas`: a keyboard or alphabet walk."""
    for row in ("0123456789012345678901234567890", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
                "qwertyuiopasdfghjklzxcvbnmqwertyuiopasdfghjklzxcvbnm", "9876543210987654321098765432109876"):
        if text in row:
            return True
    return False
