from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import options, web_address
from ..models import EVIDENCE_KINDS

FILE_KINDS = options([("", "Detect from the file")]
                     + [(k, v) for k, v in EVIDENCE_KINDS.items() if k != "archive_link"])


class UploadForm(FlaskForm):
    files = MultipleFileField("Files", description="Screenshots, PDF, saved pages, web archives or video.")
    kind = SelectField("Kind", choices=FILE_KINDS, default="")
    submit = SubmitField("Upload")


class ArchiveLinkForm(FlaskForm):
    url = StringField("Archive address", validators=[DataRequired(), Length(max=2048), web_address],
                      description="e.g. a Wayback Machine or archive.today address.")
    submit = SubmitField("Add link")


class RetireForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField("Confirm")
