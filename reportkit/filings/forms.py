"""Forms for recording a filing, the platform's decision and an appeal. Times are read in the user's zone."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import options
from ..models import PLATFORMS
from ..models.entries import REQUESTED_ACTIONS
from ..models.filings import (
    ACCOUNT,
    APPEAL_KINDS,
    APPEAL_OUTCOMES,
    CHANNELS,
    FILE_KINDS,
    GROUNDS,
    MONETARY,
    PROVISION,
    VISIBILITY,
)
from ..services import dates
from ..templating import viewer_zone

NONE = [("", "—")]


class Checkboxes(SelectMultipleField):
    widget, option_widget = ListWidget(prefix_label=False), CheckboxInput()


def a_time(form, field):
    """Read the time in the user's zone (or as written, with a zone or in Solar Hijri); keep the instant."""
    field.instant = None
    if field.data and field.data.strip():
        try:
            field.instant = dates.parse_time(field.data, zone=viewer_zone()).utc
        except dates.DateError as exc:
            raise ValidationError(str(exc)) from None


class FilingForm(FlaskForm):
    platform = SelectField("Reported to", choices=options(PLATFORMS.items()))
    channel = SelectField("How", choices=options(CHANNELS.items()))
    entry_ids = Checkboxes("Entries reported", coerce=int, validators=[DataRequired("Tick at least one entry.")])
    filed_at = StringField("When", validators=[a_time],
                           description="In your time zone, e.g. 2026-03-01 10:00. Leave empty for now.")
    reference = StringField("The platform's reference or ticket number", validators=[Length(max=200)])
    requested_action = SelectField("Requested action", choices=options(NONE + list(REQUESTED_ACTIONS.items())),
                                   default="")
    notes = TextAreaField("Notes", validators=[Length(max=20_000)])
    dossier_id = HiddenField()
    submit = SubmitField("Record the filing")


class FilingEditForm(FlaskForm):
    reference = StringField("Reference or ticket number", validators=[Length(max=200)])
    confirmed_at = StringField("The platform confirmed receipt on", validators=[a_time],
                               description="DSA Art. 16(4): providers confirm a notice's receipt.")
    notes = TextAreaField("Notes", validators=[Length(max=20_000)])
    submit = SubmitField("Save")


class DecisionForm(FlaskForm):
    entry_ids = Checkboxes("About", coerce=int, validators=[DataRequired("Tick at least one entry.")])
    answer = SelectField("The answer", choices=options([("action", "The platform acted"),
                                                        ("no_action", "No violation found"),
                                                        ("no_answer", "No answer yet")]))
    decided_at = StringField("Received on", validators=[a_time],
                             description="In your time zone. Leave empty for “no answer as of now”.")
    visibility = SelectField("The post", choices=options(NONE + list(VISIBILITY.items())), default="")
    account = SelectField("The account", choices=options(NONE + list(ACCOUNT.items())), default="")
    monetary = SelectField("Money", choices=options(NONE + list(MONETARY.items())), default="")
    provision = SelectField("The service", choices=options(NONE + list(PROVISION.items())), default="")
    territorial_scope = StringField("Only in these countries", validators=[Optional(), Length(max=800)],
                                    description="Two-letter codes, e.g. DE, FR: a geo-block. Empty: everywhere.")
    ground = SelectField("The ground given", choices=options(NONE + list(GROUNDS.items())), default="")
    automated = SelectField("Decided by a machine?", choices=options([("", "Not said"), ("yes", "Yes, it says so"),
                                                                      ("no", "No")]), default="")
    explanation = TextAreaField("The statement of reasons (paste it)", validators=[Length(max=50_000)])
    statement_id = StringField("Transparency Database statement id or link", validators=[Length(max=200)])
    submit = SubmitField("Record the answer")

    def to_data(self) -> dict:
        answer = self.answer.data
        acted = answer == "action"
        return {"entry_ids": self.entry_ids.data, "decided_at": self.decided_at.instant,
                "visibility": self.visibility.data if acted else "", "account": self.account.data if acted else "",
                "monetary": self.monetary.data if acted else "", "provision": self.provision.data if acted else "",
                "territorial_scope": self.territorial_scope.data or "", "ground": self.ground.data,
                "automated": {"yes": True, "no": False}.get(self.automated.data),
                "no_action": answer == "no_action", "no_answer": answer == "no_answer",
                "explanation": self.explanation.data, "statement_id": self.statement_id.data}


class AppealForm(FlaskForm):
    kind = SelectField("Step", choices=options(APPEAL_KINDS.items()))
    entry_id = SelectField("About", coerce=int)
    filed_at = StringField("Filed on", validators=[a_time], description="In your time zone. Empty: now.")
    reference = StringField("Reference", validators=[Length(max=200)])
    outcome = SelectField("Outcome", choices=options(APPEAL_OUTCOMES.items()), default="pending")
    outcome_at = StringField("Outcome received on", validators=[a_time])
    notes = TextAreaField("Notes", validators=[Length(max=20_000)])
    submit = SubmitField("Record the step")


class FileForm(FlaskForm):
    file = FileField("File", validators=[FileRequired("Choose a file.")])
    kind = SelectField("What it is", choices=options(FILE_KINDS.items()))
    decision_id = SelectField("About", coerce=int, validate_choice=False, default=0)
    submit = SubmitField("Keep the file")


class AppealOutcomeForm(FlaskForm):
    outcome = SelectField("Outcome", choices=options(APPEAL_OUTCOMES.items()), default="pending")
    outcome_at = StringField("Received on", validators=[a_time], description="In your time zone. Empty: now.")
    submit = SubmitField("Save the outcome")
