""""Forgot your password?" by mail, offered only when mail is configured (MAIL_SERVER).

The page answers the same, in the same time, whether or not an account uses the address: the request only
queues the address for the mail thread (`mail.run_later`), which looks it up, creates a one-time reset link
(the same operation as `reportkit reset-password`) and mails it. An SMTP failure is logged there, never shown.
Routes are added to the `auth` blueprint of views.py.
"""

import hashlib

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from .. import mail
from ..extensions import limiter
from . import accounts, signin
from .views import bp

SENT = ("If an account uses this address, we have sent it a link to choose a new password. The link works once, "
        "within {minutes} minutes. No mail after a few minutes? Check the address and your spam folder, or ask "
        "your admin for a reset link.")


class ForgotForm(FlaskForm):
    email = EmailField("Email", filters=[lambda value: value.strip() if value else value],
                       validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    submit = SubmitField("Send me a link")


def _limit() -> str:
    return current_app.config["FORGOT_RATE_LIMIT"]


def _email_limit() -> str:
    return current_app.config["FORGOT_EMAIL_RATE_LIMIT"]


def _asked_email() -> str:
    """The per-email bucket: someone asking for one address from many addresses is slowed down too. Hashed, as
    the log-in's per-account key is: the limiter's store need not hold the addresses people typed."""
    email = request.form.get("email", "").strip().lower()[:254]
    return "forgot-email:" + hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
@limiter.limit(_email_limit, methods=["POST"], key_func=_asked_email)
def forgot():
    if not mail.configured():
        abort(404)
    form = ForgotForm()
    if form.validate_on_submit():
        mail.run_later(mail_reset_link, form.email.data, signin.client())
        flash(SENT.format(minutes=current_app.config["RESET_LINK_MINUTES"]), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


def mail_reset_link(email: str, client: accounts.Client) -> None:
    """On the mail thread: mail a reset link if an account uses `email`; for any other address, nothing."""
    user = accounts.find_user(email)
    if user is not None:
        mail.send_reset_link(user, client)
