"""Form pieces every blueprint uses: the confirm-only form, choices from pairs, the web-address check.

They live here, not in one blueprint's forms module, so no blueprint imports another sideways.
"""

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SubmitField
from wtforms.validators import ValidationError

from .services.urls import URLError, parse_post_url


class ConfirmForm(FlaskForm):
    """An empty form: only the CSRF token, for buttons that change or remove something."""

    submit = SubmitField("Confirm")


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def web_address(form, field):
    """A profile or archive address: http(s) only, no credentials."""
    if field.data:
        try:
            field.data = parse_post_url(field.data).canonical
        except URLError as exc:
            raise ValidationError(str(exc)) from exc
