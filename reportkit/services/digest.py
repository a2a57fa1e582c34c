"""The weekly follow-up digest: one mail per person with something to follow up, when mail is configured.

It names no case, no post and no platform: a mailbox is easier to read for an adversary than the server, so
the mail only says how many things wait and links to the Follow-ups page (behind the sign-in).
"""

import textwrap

from flask import current_app
from sqlalchemy import select

from .. import mail
from ..extensions import db
from ..models import Membership, User
from ..models.cases import PERMISSIONS
from . import access
from .outcomes import follow_ups

SUBJECT = "reportkit: follow-ups are waiting"


def digest_counts() -> dict[int, int]:
    """user id -> follow-ups in the cases they may edit."""
    editors = [role for role, rights in PERMISSIONS.items() if "edit" in rights]
    rows = db.session.execute(select(Membership.user_id, Membership.case_id).where(Membership.role.in_(editors)))
    cases: dict[int, list[int]] = {}
    for user_id, case_id in rows:
        cases.setdefault(user_id, []).append(case_id)
    config = current_app.config
    counts = {}
    for user_id, case_ids in cases.items():
        user = db.session.get(User, user_id)
        visible = [c for c in case_ids if access.may(user, c, "edit")]  # a case requiring two-factor, say
        items = follow_ups(visible, expected_days=config["ANSWER_EXPECTED_DAYS"],
                           online_after_days=config["FOLLOWUP_ONLINE_DAYS"]) if visible else []
        if items:
            counts[user_id] = len(items)
    return counts


def send_digests() -> int:
    """Mail each person with follow-ups; the number of mails sent (0 when mail is off)."""
    if not mail.configured():
        return 0
    sent = 0
    for user_id, count in digest_counts().items():
        user = db.session.get(User, user_id)
        try:
            mail.send_mail(user.email, SUBJECT, _paragraphs(
                "Hello,",
                f"{count} follow-up{'s' if count != 1 else ''} wait{'' if count != 1 else 's'} for you in reportkit "
                "(answers overdue, complaint windows closing, posts still online after a removal decision):",
                mail.link("filings.follow_ups_page"),
                "This mail names nothing else on purpose. You get it weekly while something waits."))
            sent += 1
        except mail.MailError:
            current_app.logger.exception("follow-up digest to user %s not sent", user_id)
    return sent


def _paragraphs(*paragraphs: str) -> str:
    """Wrapped at 72 columns; a link is a paragraph of its own and stays whole on its line."""
    return "\n\n".join(textwrap.fill(p, 72, break_long_words=False, break_on_hyphens=False)
                        for p in paragraphs) + "\n"


def run_digest(app) -> None:
    """The scheduler's weekly task (services/queue.py)."""
    with app.app_context():
        try:
            app.logger.info("follow-up digest: %s mails", send_digests())
        finally:
            db.session.remove()
