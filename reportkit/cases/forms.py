from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..forms import options, web_address
from ..models import PLATFORMS, ROLE_INFO
from ..models.twofactor import has_two_factor
from ..services.cases import INVITATION_LIFETIME

PLATFORM_CHOICES = options(PLATFORMS.items())
ROLE_CHOICES = options((role, label) for role, (label, _does) in ROLE_INFO.items())  # least right first


class AccountFields(Form):
    platform = SelectField("Platform", choices=PLATFORM_CHOICES, default="x")
    handle = StringField("Handle", validators=[Length(max=200)], description="Without the @")
    display_name = StringField("Display name", validators=[Length(max=200)])
    profile_url = StringField("Profile URL", validators=[Optional(), Length(max=2048), web_address])
    platform_account_id = StringField("Stable account id", validators=[Length(max=100)],
                                      description="Handles change; the numeric id does not.")


class AccountForm(FlaskForm, AccountFields):
    submit = SubmitField("Add account")

    def validate_handle(self, field):
        if not field.data.strip().lstrip("@"):
            raise ValidationError("Enter the account's handle.")


class CaseForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    subject = StringField("Subject", validators=[DataRequired(), Length(max=200)],
                          description="The person or organisation whose posts you document.")
    summary = TextAreaField("Summary", validators=[Length(max=20000)], description="Markdown is allowed.")
    allow_new_accounts = BooleanField("Add a new account automatically when an entry comes from one", default=True)
    accounts = FieldList(FormField(AccountFields), min_entries=2, max_entries=10)
    submit = SubmitField("Save case")

    def validate_accounts(self, field):
        if not any((sub.form.handle.data or "").strip() for sub in field):
            raise ValidationError("Add at least one account of the subject.")


class CaseEditForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    subject = StringField("Subject", validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField("Summary", validators=[Length(max=20000)], description="Markdown is allowed.")
    allow_new_accounts = BooleanField("Add a new account automatically when an entry comes from one")
    prepared_by_name = StringField("Prepared by (name)", validators=[Length(max=200)],
                                   description="Printed on the dossier's cover; the notifier of a DSA notice.")
    prepared_by_org = StringField("Organisation", validators=[Length(max=200)])
    prepared_by_email = EmailField("Contact email", validators=[Optional(), Email(check_deliverability=False),
                                                                Length(max=254)])
    confidentiality = StringField("Confidentiality marking", validators=[Length(max=300)],
                                  description="Leave empty for the default marking.")
    methodology = TextAreaField("Methodology and limitations", validators=[Length(max=20000)],
                                description="Markdown. Leave empty to print our default statement.")
    public_interest = TextAreaField("Why X's public-interest exception does not apply", validators=[Length(max=20000)],
                                    description="For heads of state and officials. Printed as its own section.")
    dsa_explanation = TextAreaField("DSA notice: why the content is illegal", validators=[Length(max=20000)],
                                    description="Article 16(2)(a). The legal ground of each post is set on the entry.")
    dsa_good_faith = BooleanField("We confirm the DSA statement of good faith (Article 16(2)(d))")
    required_approvals = SelectField("Approvals needed", coerce=int, default=1, choices=options([
        (1, "One reviewer other than the author"), (2, "Two reviewers other than the author")]))
    require_two_factor = BooleanField("Members must sign in with two-factor to open this case",
                                      description="A member who has not turned it on sees how to, instead of the "
                                                  "case (pages and API).")
    submit = SubmitField("Save changes")

    def validate_require_two_factor(self, field):
        """An owner without two-factor would shut themselves out of their own case."""
        if field.data and current_user.is_authenticated and not has_two_factor(current_user.id):
            raise ValidationError("Turn on two-factor sign-in for your own account first (in Settings): "
                                  "otherwise this would close the case to you too.")


class MemberForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
                       description="They see the invitation when they log in with this address, or once they "
                                   f"register it. It expires after {INVITATION_LIFETIME.days} days.")
    role = SelectField("Role", choices=ROLE_CHOICES, default="viewer")
    submit = SubmitField("Invite")


class AnswerForm(FlaskForm):
    """The invitee's answer to an invitation: one of two buttons."""

    accept = SubmitField("Accept")
    decline = SubmitField("Decline")


class ExportNameForm(FlaskForm):
    export_name = StringField("Your name in exports", validators=[Length(max=100)],
                              description="Printed in dossiers and packages for what you did (approvals, notes, "
                                          "uploads). Leave it empty for a pseudonym such as “Reviewer 2”.")
    submit = SubmitField("Save")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    submit = SubmitField("Change")
