from flask_wtf import FlaskForm
from wtforms import DateField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from ..forms import web_address

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


RULES_HELP = ("One rule a line, as “Heading: summary” — the heading as the server words it, then a colon and, if you "
              "like, a summary in your own words.")


class ServerRulesEditForm(FlaskForm):
    url = StringField("Address of the rules page", validators=[Length(max=2048)],
                      description="https://SERVER/about — left empty, that is what is stored.")
    checked_on = DateField("Checked on", validators=[InputRequired(message="Enter the day you read the rules.")],
                           description="The day you read these rules on the server.")
    rules = TextAreaField("Rules", validators=[DataRequired(message="Add at least one rule."),
                                               Length(max=60_000)], description=RULES_HELP)
    submit = SubmitField("Save the server's rules")


class ServerRulesForm(ServerRulesEditForm):
    host = StringField("Server address", validators=[DataRequired(message="Enter the server's address."),
                                                     Length(max=253)],
                       description="Only the host, e.g. mastodon.social (the part of a post's address after https://).")
    submit = SubmitField("Add the server's rules")
