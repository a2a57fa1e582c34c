from flask_wtf import FlaskForm
from wtforms import BooleanField, FloatField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange

from ..forms import options
from ..models import ANNOTATION_KINDS, REGION_KINDS


class TransitionForm(FlaskForm):
    to = HiddenField(validators=[DataRequired()])
    reason = TextAreaField("Reason", validators=[Length(max=20000)])
    submit = SubmitField("Confirm")


class AnnotationForm(FlaskForm):
    body = TextAreaField("Note", validators=[DataRequired(), Length(max=20000)],
                         description="Light Markdown: **bold**, *italic*, lists, links.")
    kind = SelectField("Kind", choices=options(ANNOTATION_KINDS.items()), default="comment")
    include_in_dossier = BooleanField("Print this note in the entry's section of the dossier")
    submit = SubmitField("Add note")


class RegionForm(FlaskForm):
    kind = SelectField("Mark", choices=options(REGION_KINDS.items()), default="highlight")
    label = StringField("Label", validators=[Length(max=120)], description="e.g. “the threat”, “bystander's face”")
    x = FloatField("Left (%)", validators=[NumberRange(0, 100)])
    y = FloatField("Top (%)", validators=[NumberRange(0, 100)])
    w = FloatField("Width (%)", validators=[NumberRange(0.5, 100)])
    h = FloatField("Height (%)", validators=[NumberRange(0.5, 100)])
    submit = SubmitField("Save region")
