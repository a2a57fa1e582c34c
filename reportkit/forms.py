"""Form pieces every blueprint uses: the confirm-only form, choices from pairs, the web-address check, and the
three ways a page answers a form that was not accepted (`flash_errors`, `flash_refusal`, `refuse`).

They live here, not in one blueprint's forms module, so no blueprint imports another sideways.
"""

from flask import flash
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SubmitField
from wtforms.validators import ValidationError

from .extensions import db
from .services.errors import ServiceError
from .services.urls import URLError, parse_post_url

EXPIRED = "The form expired. Reload the page and try again."


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


def flash_errors(form, labels: bool = True) -> None:
    """A form that failed validation, for a view that redirects instead of showing the form again: one message
    with each field's first error ("Handle: Enter the account's handle."; without `labels`, the errors alone)."""
    said = []
    for name, errors in form.errors.items():
        message = errors[0] if isinstance(errors, list) and errors else errors
        if name == "csrf_token":
            said.append(f"{message} {EXPIRED}")
        else:
            said.append(f"{form[name].label.text}: {message}" if labels and name in form else str(message))
    flash("; ".join(said), "error")


def flash_refusal(exc: ServiceError) -> None:
    """A service refused a move on a page that redirects: nothing of it is kept and the reason is flashed on the
    next page. A missing right (403) is not a flash: it goes on to the error handler's page."""
    db.session.rollback()
    if exc.status == 403:
        raise exc
    flash(str(exc), "error")


def refuse(form, exc: ServiceError, field: str | None = None) -> None:
    """A service refused what a form sent, for a view that shows the form again: nothing of it is kept (the page
    must not flush half a write while it renders) and the message goes on the field the service named (or on
    `field`, the view's choice when the service named none or one this form does not have)."""
    db.session.rollback()
    name = exc.field if exc.field in form else field
    target = form[name] if name in form else None
    if target is None:
        raise exc  # no field to say it next to: the error handler's page says it
    target.errors = [*target.errors, str(exc)]
