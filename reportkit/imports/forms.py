from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import options
from ..services.dates import CALENDARS
from ..services.intake import TARGETS

# An address that is not a post of a known platform is reported, not added, unless the person asks for it.
ALLOW_OTHER = "Add URLs that are not posts as “other”"
ALLOW_OTHER_HINT = ("Only for web pages you mean to catalogue (a news article, a blog post). Profiles, share "
                    "buttons and short links of known platforms are never added: they name no post.")


class PasteForm(FlaskForm):
    text = TextAreaField("Addresses", validators=[DataRequired(), Length(max=2_000_000)],
                         description="One per line, or mixed with other text: every web address is found. "
                                     "Up to 5,000 at a time.")
    allow_other = BooleanField(ALLOW_OTHER, description=ALLOW_OTHER_HINT)
    submit = SubmitField("Create entries")


class UploadTableForm(FlaskForm):
    file = FileField("CSV or JSON file", description="UTF-8 or UTF-16 (Excel), any common delimiter; the CSV of "
                                                     "Bellingcat's auto-archiver works as it is.")
    submit = SubmitField("Upload and map columns")


def mapping_form(headers: list[str], mapping: dict[str, str], tz: str, calendar: str = "auto",
                 allow_other: bool = False):
    """A form with one select per entry field, listing the file's columns."""
    chosen_calendar = calendar  # the class body below names a field `calendar`
    chosen_allow_other = allow_other

    class MappingForm(FlaskForm):
        timezone = StringField("Time zone for times written without one", default=tz,
                               validators=[DataRequired(), Length(max=64)],
                               description="e.g. UTC, Asia/Tehran, Europe/Berlin. Numeric dates are read day first.")
        calendar = SelectField("Dates in this file are", choices=options(list(CALENDARS.items())),
                               default=chosen_calendar,
                               description="Solar Hijri dates (1403/03/08 10:30 or ۸ خرداد ۱۴۰۳, Persian or Latin "
                                           "digits) are converted; the preview shows each conversion.")
        allow_other = BooleanField(ALLOW_OTHER, default=chosen_allow_other, description=ALLOW_OTHER_HINT)
        preview = SubmitField("Preview")
        submit = SubmitField("Import")

    choices = options([("", "— not in the file —")] + [(h, h) for h in headers])
    for target, label in TARGETS.items():
        setattr(MappingForm, f"map_{target}", SelectField(label, choices=choices, default=mapping.get(target, ""),
                                                          validate_choice=False))
    return MappingForm()
