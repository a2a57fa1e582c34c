"""Preferences on the Settings page: the time zone forms take times in and pages show them in.

Storage stays UTC and exports (the PDF dossier, CSV, JSON) print UTC; only what a person types and reads is
local. The zone is guessed from the browser at registration and set here."""

from datetime import UTC, datetime

from flask import flash, redirect, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField

from ..extensions import db
from ..models import User
from ..services import dates
from .views import bp


def zone_choices() -> list[tuple[str, str]]:
    """Every zone this server knows (a browser may report "Iran" as well as "Asia/Tehran"), "UTC" first, each
    with its offset now: "Asia/Tehran (UTC+03:30)"."""
    now = datetime.now(UTC)
    names = sorted(dates.valid_zones() - {"UTC"})
    return [("UTC", "UTC")] + [(z, f"{z.replace('_', ' ')} (UTC{dates.offset_text(dates.zone_named(z), now)})")
                               for z in names]


class TimeZoneForm(FlaskForm):
    time_zone = SelectField("Your time zone", validate_choice=True)
    submit = SubmitField("Save time zone")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = zone_choices()


def set_time_zone(user: User, name: str) -> None:
    """Set a user's zone: an IANA name this server knows (DateError otherwise), nothing else."""
    dates.zone_named(name)
    user.time_zone = name
    db.session.commit()


@bp.app_template_global()
def time_zone_form() -> TimeZoneForm:
    """The Settings section's form, filled with the user's zone (templates/auth/_timezone.html)."""
    return TimeZoneForm(formdata=None, time_zone=current_user.time_zone)


@bp.post("/settings/time-zone")
@login_required
def time_zone():
    form = TimeZoneForm()
    if form.validate_on_submit():
        set_time_zone(current_user, form.time_zone.data)
        flash(f"Time zone saved: {dates.zone_label(dates.zone_named(form.time_zone.data))}. Pages show times in "
              "it; dossiers and exports stay in UTC.", "success")
    else:
        problem = next(iter(form.errors.values()), ["Choose a time zone from the list."])[0]
        flash(f"The time zone was not changed: {problem}", "error")
    return redirect(url_for("auth.settings", _anchor="time-zone"))
