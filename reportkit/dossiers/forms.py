from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from ..cases.forms import options
from ..models import MODES
from ..services.dossier.options import PAPERS, DossierOptions


class DossierForm(FlaskForm):
    mode = SelectField("Kind of report", choices=options(MODES.items()), default="rules")
    paper = SelectField("Paper size", choices=options((k, k) for k in PAPERS), default="A4")
    include_translations = BooleanField("Include translations", default=True)
    approved_only = BooleanField("Only approved entries", default=False)
    account = SelectField("Only this account", coerce=int, default=0)
    clause = StringField("Only this clause (key)", validators=[Optional(), Length(max=200)])
    tag = StringField("Only this tag", validators=[Optional(), Length(max=60)])
    date_from = DateField("Posted from", validators=[Optional()])
    date_to = DateField("Posted to", validators=[Optional()])
    with_package = BooleanField("Also make an evidence package (ZIP)", default=False,
                                description="The dossier with every original file, the custody log and a "
                                            "manifest of hashes, which a recipient can check offline.")
    submit = SubmitField("Export dossier")

    def set_accounts(self, accounts) -> None:
        self.account.choices = options([(0, "All accounts")] + [(a.id, a.label) for a in accounts])

    def to_options(self) -> DossierOptions:
        return DossierOptions(mode=self.mode.data, paper=self.paper.data,
                              include_translations=self.include_translations.data,
                              account_id=self.account.data or None, clause=(self.clause.data or "").strip(),
                              tag=(self.tag.data or "").strip().lower(), date_from=self.date_from.data,
                              date_to=self.date_to.data, approved_only=self.approved_only.data)
