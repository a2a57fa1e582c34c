from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from ..extensions import db, limiter
from ..models import ApiToken
from ..models._common import utcnow
from . import accounts, signin
from .forms import LoginForm, PasswordForm, RegisterForm, ResetForm, TokenForm
from .passwords import verify_password

bp = Blueprint("auth", __name__, url_prefix="/auth")
bp.before_app_request(signin.touch_session)
bp.after_app_request(signin.write_remember_cookie)

# The same answer whether or not the address already had an account: saying so would tell anyone which
# addresses are registered. Without mail we cannot tell the owner privately, so the page says what to do.
REGISTERED = ("If this address could be registered, your account is ready: log in with it and the password you "
              "chose. If it already had an account, nothing was changed: log in with your old password, or ask "
              "your admin for a password reset link.")
WRONG = "Wrong email or password."


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _register_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def register():
    if not current_app.config["REGISTRATION_OPEN"]:
        abort(404)
    form = RegisterForm()
    if form.validate_on_submit():
        accounts.register(form.email.data, form.name.data or "", form.password.data)
        flash(REGISTERED, "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        wait = signin.account_wait(form.email.data)
        if wait is not None:
            minutes = -(-wait // 60)
            flash(f"Too many failed attempts for this account. Try again in {minutes} minute"
                  f"{'s' if minutes > 1 else ''}; a correct password will work then.", "error")
            return render_template("auth/login.html", form=form), 429
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            signin.sign_in(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        signin.count_failure(form.email.data)
        flash(WRONG, "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    session_id = signin.current_session_id()
    if current_user.is_authenticated and session_id is not None:
        accounts.end_session(current_user, session_id, signin.client(), action="logout")
    logout_user()
    signin.forget_browser()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/reset/<secret>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def reset(secret: str):
    found = accounts.find_reset(secret)
    if found is None:
        return render_template("auth/reset.html", form=None), 404
    form = ResetForm(found[1].email)
    if form.validate_on_submit():
        if accounts.reset_password(secret, form.password.data, signin.client()) is None:
            return render_template("auth/reset.html", form=None), 404
        logout_user()
        signin.forget_browser()
        flash("Your password is changed and every session of your account has ended. Log in with the new one.",
              "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, email=found[1].email)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = TokenForm()
    new_secret = None
    if form.validate_on_submit():
        token, new_secret = ApiToken.issue(current_user, form.name.data.strip())
        db.session.add(token)
        accounts.record(current_user.id, "token_created", signin.client())
        db.session.commit()
    return _settings_page(form, PasswordForm(current_user, formdata=None), new_secret)


def _settings_page(form, password_form, new_secret=None, status=200):
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)
                                .order_by(ApiToken.id.desc())).all()
    return render_template("auth/settings.html", form=form, tokens=tokens, new_secret=new_secret,
                           password_form=password_form, sessions=accounts.active_sessions(current_user),
                           current_session=signin.current_session_id(), log=accounts.security_log(current_user),
                           keep_addresses=current_app.config["SESSION_KEEP_ADDRESSES"]), status


@bp.route("/password", methods=["POST"])
@login_required
def change_password():
    form = PasswordForm(current_user)
    if form.validate_on_submit():
        if verify_password(current_user.password_hash, form.current.data):
            ended = accounts.change_password(current_user, form.password.data, signin.client(),
                                             signin.current_session_id(), form.revoke_tokens.data)
            flash(f"Password changed. {ended} other session{'s' if ended != 1 else ''} ended"
                  f"{'; your API tokens are revoked' if form.revoke_tokens.data else ''}.", "success")
            return redirect(url_for("auth.settings"))
        form.current.errors.append("This is not your current password.")
    return _settings_page(TokenForm(formdata=None), form, status=422)


@bp.route("/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int):
    if not accounts.end_session(current_user, session_id, signin.client()):
        abort(404)
    if session_id == signin.current_session_id():
        logout_user()
        signin.forget_browser()
        return redirect(url_for("auth.login"))
    flash("That session has ended.", "info")
    return redirect(url_for("auth.settings"))


@bp.route("/sessions/end-all", methods=["POST"])
@login_required
def end_all_sessions():
    count = accounts.end_all_sessions(current_user, signin.client())
    logout_user()
    signin.forget_browser()
    flash(f"Signed out everywhere ({count} session{'s' if count != 1 else ''}). Log in again here.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    token.revoked_at = token.revoked_at or utcnow()
    accounts.record(current_user.id, "token_revoked", signin.client())
    db.session.commit()
    flash(f"Token “{token.name}” revoked.", "info")
    return redirect(url_for("auth.settings"))


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would help phishing against our users."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("cases.index")
