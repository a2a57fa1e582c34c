from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user
from markupsafe import Markup
from sqlalchemy import func, select

from ..errors import json_error, wants_json
from ..extensions import db, limiter
from ..models import ApiToken
from ..services.access import TwoFactorRequired
from . import accounts, signin, twofactor
from .forms import (
    DisableTwoFactorForm,
    EnrolForm,
    LoginForm,
    PasswordForm,
    RecoveryCodesForm,
    RegisterForm,
    ResetForm,
    TokenForm,
    TwoFactorForm,
)
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
WRONG_CODE = "Wrong code, or a code used already. Wait for the next one and try again."
# With REQUIRE_TWO_FACTOR, what a signed-in user without a second factor may still open.
OPEN_WITHOUT_FACTOR = frozenset({"auth.two_factor_setup", "auth.logout", "static"})


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
        accounts.register(form.email.data, form.name.data or "", form.password.data, form.time_zone.data or "UTC")
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
            flash(_too_many(wait, "a correct password"), "error")
            return render_template("auth/login.html", form=form), 429
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None and twofactor.is_enabled(user):  # not signed in yet: the code first
            signin.start_second_step(user, form.remember.data, _safe_next(request.args.get("next")))
            return redirect(url_for("auth.two_factor"))
        if user is not None:
            signin.sign_in(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        signin.count_failure(form.email.data)
        flash(WRONG, "error")
    return render_template("auth/login.html", form=form)


def _too_many(wait: int, what: str) -> str:
    minutes = -(-wait // 60)
    return (f"Too many failed attempts for this account. Try again in {minutes} minute"
            f"{'s' if minutes > 1 else ''}; {what} will work then.")


@bp.route("/two-factor", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def two_factor():
    """The second step of logging in, for a user whose password was right a few minutes ago in this browser."""
    pending = signin.second_step()
    if pending is None:
        flash("Log in again: the step after the password waits a few minutes at most.", "info")
        return redirect(url_for("auth.login"))
    user, remember, next_url = pending
    form = TwoFactorForm()
    if form.validate_on_submit():
        wait = signin.account_wait(user.email)
        if wait is not None:
            flash(_too_many(wait, "a correct code"), "error")
            return render_template("auth/two_factor.html", form=form), 429
        used = twofactor.check_code(user, form.code.data, signin.client())
        if used:
            signin.end_second_step()
            signin.sign_in(user, remember=remember)
            if used == "recovery":
                left = twofactor.recovery_codes_left(user)
                flash(f"You used a recovery code; {left} left. Each works once: make new ones in Settings if "
                      "you are running out, or set up your authenticator again if the phone is lost.", "info")
            return redirect(next_url)
        signin.count_failure(user.email)
        if signin.wrong_code():
            flash("Too many wrong codes for this log-in: type your password again, then a new code.", "error")
            return redirect(url_for("auth.login"))
        form.code.errors.append(WRONG_CODE)
    return render_template("auth/two_factor.html", form=form)


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
@limiter.limit(_login_limit, methods=["POST"])  # a password is checked
def settings():
    form = TokenForm()
    new_secret, status = None, 200
    if form.validate_on_submit():
        if _password_ok(form.current):
            token, new_secret = ApiToken.issue(current_user, form.name.data.strip())
            db.session.add(token)
            accounts.record(current_user.id, "token_created", signin.client())
            db.session.commit()
            form = TokenForm(formdata=None)
        else:
            status = 422
    elif form.is_submitted():
        status = 422
    return _settings_page(form, PasswordForm(current_user, formdata=None), new_secret, status=status)


def _settings_page(form, password_form, new_secret=None, status=200, disable_form=None, codes_form=None):
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)
                                .order_by(ApiToken.id.desc())).all()
    enabled = twofactor.is_enabled(current_user)
    return render_template("auth/settings.html", form=form, tokens=tokens, new_secret=new_secret,
                           password_form=password_form, sessions=accounts.active_sessions(current_user),
                           current_session=signin.current_session_id(), log=accounts.security_log(current_user),
                           keep_addresses=current_app.config["SESSION_KEEP_ADDRESSES"],
                           two_factor_on=enabled, codes_left=twofactor.recovery_codes_left(current_user),
                           disable_form=disable_form or DisableTwoFactorForm(prefix="disable", formdata=None),
                           codes_form=codes_form or RecoveryCodesForm(prefix="codes", formdata=None)), status


def _other_forms(**forms):
    """The settings page again with the forms that were not sent empty, and the one that was with its errors."""
    return _settings_page(TokenForm(formdata=None), PasswordForm(current_user, formdata=None), status=422, **forms)


@bp.route("/password", methods=["POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])  # a password is checked
def change_password():
    form = PasswordForm(current_user)
    if form.validate_on_submit():
        # Under the per-account limit: a stolen session's cookie is no way to guess the password.
        if _password_ok(form.current, "This is not your current password."):
            ended = accounts.change_password(current_user, form.password.data, signin.client(),
                                             signin.current_session_id(), form.revoke_tokens.data)
            signin.renew_session()  # a copy of this browser's cookies, taken before, stops working too
            flash(f"Password changed. {ended} other session{'s' if ended != 1 else ''} ended"
                  f"{'; your API tokens are revoked' if form.revoke_tokens.data else ''}.", "success")
            return redirect(url_for("auth.settings"))
    return _settings_page(TokenForm(formdata=None), form, status=422)


@bp.route("/two-factor/setup", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])  # a password and a code are checked
def two_factor_setup():
    """Enrolment: a QR code and the secret as text; the factor is on once the user types a code it made."""
    next_url = _safe_next(request.args.get("next"), url_for("auth.settings"))
    try:
        factor = twofactor.start_enrolment(current_user)
    except twofactor.TwoFactorError as exc:
        flash(str(exc), "info")
        return redirect(url_for("auth.settings"))
    form, status = EnrolForm(), 200
    if form.validate_on_submit():
        status = 422
        if _password_ok(form.current):
            here = signin.current_session_id()
            others = sum(1 for row in accounts.active_sessions(current_user) if row.id != here)
            try:
                codes = twofactor.confirm_enrolment(current_user, form.code.data, signin.client(), keep_session=here)
            except twofactor.TwoFactorError as exc:
                flash(str(exc), "info")
                return redirect(url_for("auth.settings"))
            if codes is not None:
                signin.renew_session()
                tokens = db.session.scalar(select(func.count(ApiToken.id)).where(
                    ApiToken.user_id == current_user.id, ApiToken.revoked_at.is_(None)))
                return render_template("auth/recovery_codes.html", codes=codes, next_url=next_url, first=True,
                                       sessions_ended=others, tokens_active=tokens)
            form.code.errors.append("That is not the code the app shows now. Check that the phone's clock is "
                                    "right, wait for the next code and type it.")
    uri = twofactor.provisioning_uri(factor, current_user)
    # Our own SVG of the otpauth URI (segno): black squares only, no user text, so it is marked safe.
    return render_template("auth/two_factor_setup.html", form=form, qr=Markup(twofactor.qr_svg(uri)),
                           secret=twofactor.grouped(factor.secret)), status


@bp.route("/two-factor/disable", methods=["POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])  # a password and a code are checked
def disable_two_factor():
    form = DisableTwoFactorForm(prefix="disable")
    if form.validate_on_submit() and _reauthenticated(form):
        twofactor.disable(current_user, signin.client())
        flash("Two-factor sign-in is off: your password alone logs you in now. Cases that require two-factor "
              "will not open until you turn it on again.", "info")
        return redirect(url_for("auth.settings"))
    return _other_forms(disable_form=form)


@bp.route("/two-factor/recovery-codes", methods=["POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])  # a password and a code are checked
def new_recovery_codes():
    form = RecoveryCodesForm(prefix="codes")
    if form.validate_on_submit() and _reauthenticated(form):
        try:
            codes = twofactor.new_recovery_codes(current_user, signin.client())
        except twofactor.TwoFactorError as exc:
            flash(str(exc), "error")
            return redirect(url_for("auth.settings"))
        return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("auth.settings"),
                               first=False)
    return _other_forms(codes_form=form)


def _password_ok(field, wrong: str = "This is not your password.") -> bool:
    """The current user's password, checked under the per-account limit; a wrong one counts against it."""
    wait = signin.account_wait(current_user.email)
    if wait is not None:
        field.errors.append(_too_many(wait, "your password"))
        return False
    if not verify_password(current_user.password_hash, field.data):
        signin.count_failure(current_user.email)
        field.errors.append(wrong)
        return False
    return True


def _reauthenticated(form) -> bool:
    """Password and a current code (or a recovery code, which is then used up) before a factor changes: a session
    left open is not enough to remove the second factor or read new recovery codes."""
    if not _password_ok(form.current):
        return False
    if twofactor.check_code(current_user, form.code.data, signin.client()) is None:
        signin.count_failure(current_user.email)
        form.code.errors.append(WRONG_CODE)
        return False
    return True


@bp.before_app_request
def _install_requires_two_factor():
    """REQUIRE_TWO_FACTOR: a signed-in user without a second factor sees only the enrolment page (and may log
    out). API tokens of such users are refused in api/base.py."""
    if (current_app.config["REQUIRE_TWO_FACTOR"] and request.blueprint != "api"
            and request.endpoint not in OPEN_WITHOUT_FACTOR and current_user.is_authenticated
            and not twofactor.is_enabled(current_user)):
        return redirect(url_for("auth.two_factor_setup"))
    return None


@bp.app_errorhandler(TwoFactorRequired)
def _case_requires_two_factor(exc: TwoFactorRequired):
    """A case that requires two-factor, opened by a member without it: what to do, instead of the case."""
    if wants_json():
        return json_error(403, "two_factor_required", exc.description)
    back = request.path if request.method == "GET" else None
    return render_template("auth/two_factor_required.html", back=back), 403


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
    token = accounts.revoke_token(current_user, token_id, signin.client())
    if token is None:
        abort(404)
    flash(f"Token “{token.name}” revoked.", "info")
    return redirect(url_for("auth.settings"))


def _safe_next(target: str | None, default: str | None = None) -> str:
    """Only same-site paths: an open redirect would help phishing against our users."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not urlsplit(target).netloc):
        return target
    return default or url_for("cases.index")
