from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ..cases.forms import web_address

KEY = Regexp(r"^[a-z0-9_]+$", message="Use lower-case letters, digits and underscores.")


class CustomClauseForm(FlaskForm):
    platform_key = StringField("Platform key", validators=[DataRequired(), Length(max=40), KEY],
                               description="An existing key such as x, meta, youtube — or a new one.")
    platform_name = StringField("Platform name (only for a new platform)", validators=[Length(max=200)])
    policy_key = StringField("Policy key", validators=[DataRequired(), Length(max=80), KEY])
    policy_title = StringField("Policy title (only for a new policy)", validators=[Length(max=200)])
    policy_url = StringField("Policy address", validators=[Optional(), Length(max=2048), web_address])
    clause_key = StringField("Clause key", validators=[DataRequired(), Length(max=80), KEY])
    heading = StringField("Heading as the platform words it", validators=[DataRequired(), Length(max=300)])
    summary = TextAreaField("One-sentence summary", validators=[Length(max=2000)])
    submit = SubmitField("Add clause")
