"""Optional mail: plain-text messages through the operator's SMTP server (the standard library's smtplib).

With `MAIL_SERVER` unset nothing is ever sent and every caller behaves as before. What we send is plain text
with a link into the app: no HTML, no images, no tracking, and subjects that name no case (a state may read
mail). Links start with `PUBLIC_URL`, never with the request's Host header, which whoever sends the request
chooses (config.py refuses mail settings without it).

`send_mail` sends now and raises `MailError`; `run_later` runs a function (that may send) on one mail thread
after the request has answered, so the answer's time does not depend on what that function finds or on the
SMTP server.
"""

import smtplib
import ssl
import textwrap
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import Flask, current_app

from .auth.accounts import Client, create_reset_link, reset_valid_for
from .models import Invitation, User

_executor: ThreadPoolExecutor | None = None


class MailError(Exception):
    """The mail was not sent (no server, refused, timed out, bad address); the message says why."""


def configured(config=None) -> bool:
    return bool((config if config is not None else current_app.config).get("MAIL_SERVER"))


def link(endpoint: str, **values) -> str:
    """The full address of one of our pages, for a mail: `PUBLIC_URL` + the route's path."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def send_mail(to: str, subject: str, body: str) -> None:
    """Send one plain-text mail to one address, now. Raises MailError on any failure."""
    config = current_app.config
    if not configured(config):
        raise MailError("Mail is not configured (MAIL_SERVER is empty).")
    sender = config["MAIL_DEFAULT_SENDER"]
    message = EmailMessage()
    try:  # the default policy refuses a line break in a header: no header injection through an address
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
    except ValueError as exc:
        raise MailError(f"Refused header: {exc}") from exc
    message["Date"] = formatdate(usegmt=True)
    # The sender's domain, not this machine's name (make_msgid's default would put the host name in every mail).
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or "reportkit.invalid")
    # Plain ASCII as it is (links stay whole and readable in any client); anything else quoted-printable.
    message.set_content(body, cte="7bit" if body.isascii() else "quoted-printable")
    timeout = config["MAIL_TIMEOUT"]
    try:
        if config["MAIL_USE_SSL"]:
            smtp = smtplib.SMTP_SSL(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
        with smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):  # str(): an all-digit value from the environment arrives as a number
                smtp.login(str(config["MAIL_USERNAME"]), str(config.get("MAIL_PASSWORD") or ""))
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:  # its text would name the address: logs need not
        raise MailError("The mail server refused the recipient's address.") from exc
    except (OSError, smtplib.SMTPException, UnicodeError) as exc:  # OSError: refused, timed out, TLS failed
        raise MailError(f"{type(exc).__name__}: {exc}") from exc


# --- the mails we send: plain text, nothing about a case in them -------------------------------------------------

RESET_SUBJECT = "reportkit: password reset"
INVITATION_SUBJECT = "reportkit: you are invited to a case"


def send_reset_link(user: User, client: Client) -> None:
    """Create a one-time reset link for `user` (the same operation as `reportkit reset-password`: it expires,
    works once and ends every session when used) and mail it to them. Raises MailError."""
    config = current_app.config
    secret = create_reset_link(user, reset_valid_for(config), client)
    send_mail(user.email, RESET_SUBJECT, _text(
        "Hello,",
        "someone asked for a new password for the reportkit account of this address. To choose one, open:",
        link("auth.reset", secret=secret),
        f"The link works once, within {config['RESET_LINK_MINUTES']} minutes. Saving a new password ends every "
        "session of the account, on every device.",
        "If you did not ask for this, ignore this mail: your password stays as it is."))


def send_invitation(invitation: Invitation) -> bool:
    """Tell the invited address where to answer (after the invitation is committed: it waits in the app either
    way). Neither the case nor who invited is named. True when sent or mail is off; False, logged, on failure."""
    if not configured():
        return True
    if current_app.config["REGISTRATION_OPEN"]:
        no_account = ("No account with this address yet? Create one with this address here, then open the link "
                      "above:", link("auth.register"))
    else:
        no_account = ("No account with this address yet? Ask whoever invited you to have one made for you.",)
    try:
        send_mail(invitation.email, INVITATION_SUBJECT, _text(
            "Hello,",
            "someone invited this address to join a case on reportkit. To accept or decline, log in with this "
            "address and open your invitations:",
            link("cases.index"),
            *no_account,
            f"The invitation expires on {invitation.expires_at:%d %B %Y, %H:%M} UTC. Nothing happens unless you "
            "accept; if you did not expect it, ignore this mail."))
    except MailError as exc:
        current_app.logger.warning("An invitation mail could not be sent: %s", exc)
        return False
    return True


def _text(*paragraphs: str) -> str:
    """Paragraphs wrapped at 72 columns; a link is a paragraph of its own and stays whole on one line."""
    return "\n\n".join(textwrap.fill(p, 72, break_long_words=False, break_on_hyphens=False)
                        for p in paragraphs) + "\n"


def run_later(fn: Callable, *args) -> Future:
    """Run `fn(*args)` on the mail thread, inside an app context, after the caller returns. One thread, in
    order. A failure is logged (without the address), never raised into a page."""
    return _pool().submit(_run, current_app._get_current_object(), fn, args)


def wait(timeout: float | None = None) -> None:
    """Return once everything queued before this call has run (for the command line and tests)."""
    _pool().submit(lambda: None).result(timeout)


def _run(app: Flask, fn: Callable, args: tuple) -> None:
    with app.app_context():  # its own database session, removed when the context ends
        try:
            fn(*args)
        except MailError as exc:
            app.logger.warning("A mail could not be sent (%s): %s", getattr(fn, "__name__", "mail"), exc)
        except Exception:  # noqa: BLE001 - a thread has nobody else to tell
            app.logger.exception("Mail job %s failed", getattr(fn, "__name__", "mail"))


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reportkit-mail")
    return _executor
