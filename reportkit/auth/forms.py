from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from .passwords import MAX_LENGTH, RULES, password_problem


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    remember = BooleanField("Keep me signed in on this device")
    submit = SubmitField("Log in")


class NewPasswordMixin:
    """A new password and its repetition, checked by the same rules on register, change and reset."""

    password = PasswordField("New password", validators=[DataRequired()], description=RULES)
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The passwords differ.")])

    def email_for_rules(self) -> str:
        return ""

    def validate_password(self, field):
        problem = password_problem(field.data, self.email_for_rules())
        if problem:
            raise ValidationError(problem)


class RegisterForm(NewPasswordMixin, FlaskForm):
    name = StringField("Name", validators=[Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired()], description=RULES)
    time_zone = HiddenField(validators=[Length(max=64)])  # the browser's zone, filled by static/timezone.js
    submit = SubmitField("Create account")

    def email_for_rules(self) -> str:
        return self.email.data or ""


class PasswordForm(NewPasswordMixin, FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    revoke_tokens = BooleanField("Also revoke my API tokens (do this if someone else may have had your password)")
    submit = SubmitField("Change password")

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def email_for_rules(self) -> str:
        return self.user.email


class ResetForm(NewPasswordMixin, FlaskForm):
    submit = SubmitField("Set the new password")

    def __init__(self, email: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def email_for_rules(self) -> str:
        return self.email


class TokenForm(FlaskForm):
    """A new API token: the password too, so that a session left open (a stolen laptop's cookie) cannot make a
    credential that outlives signing out everywhere."""

    name = StringField("Token name", validators=[DataRequired(), Length(max=80)],
                       description="What will use it, e.g. “archiving script”.")
    current = PasswordField("Your password", validators=[DataRequired(), Length(max=MAX_LENGTH)],
                            description="Asked so that a browser left signed in is not enough to make one.")
    submit = SubmitField("Create token")


CODE_HINT = "The 6-digit code your authenticator app shows now, or one of your recovery codes."


class TwoFactorForm(FlaskForm):
    """The second step of logging in."""

    code = StringField("Code", validators=[DataRequired(), Length(max=64)], description=CODE_HINT)
    submit = SubmitField("Verify")


class EnrolForm(FlaskForm):
    """Confirming a new authenticator: a code it makes now, and the password (so that someone using a session
    left open cannot tie the account to their own phone)."""

    code = StringField("Code from the app", validators=[DataRequired(), Length(max=64)],
                       description="The 6 digits the app shows for reportkit now.")
    current = PasswordField("Your password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    submit = SubmitField("Turn on two-factor")


class ReauthForm(FlaskForm):
    """Proof that it is the user, before a change of the second factor: password and a code."""

    current = PasswordField("Your password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    code = StringField("Code", validators=[DataRequired(), Length(max=64)], description=CODE_HINT)


class DisableTwoFactorForm(ReauthForm):
    submit = SubmitField("Turn off two-factor")


class RecoveryCodesForm(ReauthForm):
    submit = SubmitField("Make new recovery codes")
