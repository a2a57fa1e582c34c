from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from ..extensions import db
from ..models import User


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me signed in on this device")
    submit = SubmitField("Log in")


class RegisterForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=10, max=1024, message="Use at least 10 characters.")],
                             description="At least 10 characters. A passphrase of several words is best.")
    confirm = PasswordField("Repeat the password", validators=[EqualTo("password", "The passwords differ.")])
    submit = SubmitField("Create account")

    def validate_email(self, field):
        taken = db.session.scalar(select(User.id).where(func.lower(User.email) == field.data.strip().lower()))
        if taken:
            raise ValidationError("An account with this email already exists.")


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=80)],
                       description="What will use it, e.g. “archiving script”.")
    submit = SubmitField("Create token")
