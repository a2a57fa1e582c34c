from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from ..forms import options
from ..models import MODES
from ..services.dossier.options import PAPERS, DossierOptions


class DossierForm(FlaskForm):
    mode = SelectField("Kind of report", choices=options(MODES.items()), default="rules")
    paper = SelectField("Paper size", choices=options((k, k) for k in PAPERS), default="A4")
    include_translations = BooleanField("Include translations", default=True)
    include_unapproved = BooleanField("Include entries not yet approved", default=False,
                                      description="Off: only approved entries are printed. Rejected and duplicate "
                                                  "entries are never printed.")
    account = SelectField("Only this account", coerce=int, default=0)
    clause = StringField("Only this clause (key)", validators=[Optional(), Length(max=200)])
    tag = StringField("Only this tag", validators=[Optional(), Length(max=60)])
    date_from = DateField("Posted from", validators=[Optional()])
    date_to = DateField("Posted to", validators=[Optional()])
    with_package = BooleanField("Also make an evidence package (ZIP)", default=False,
                                description="The dossier, the copies of the files it prints, the custody log of "
                                            "these entries and a manifest of hashes, which a recipient can check "
                                            "offline. What it holds is listed below.")
    include_originals = BooleanField("Include the unredacted originals in the package (owner only)", default=False)
    confirm_originals = BooleanField("I understand: these originals and their metadata leave the tool",
                                     default=False)
    submit = SubmitField("Export dossier")

    def count_unapproved(self, count: int) -> None:
        """Say on the option how many entries it would add (each is marked in the PDF)."""
        self.include_unapproved.label.text = f"Include entries not yet approved ({count})"
        self.include_unapproved.description = (
            f"{count} entr{'y' if count == 1 else 'ies'} of this selection {'is' if count == 1 else 'are'} not yet "
            "approved; when included, each is marked “not yet approved” in the dossier. Rejected and duplicate "
            "entries are never printed.")

    def set_accounts(self, accounts) -> None:
        self.account.choices = options([(0, "All accounts")] + [(a.id, a.label) for a in accounts])

    def to_options(self) -> DossierOptions:
        return DossierOptions(mode=self.mode.data, paper=self.paper.data,
                              include_translations=self.include_translations.data,
                              account_id=self.account.data or None, clause=(self.clause.data or "").strip(),
                              tag=(self.tag.data or "").strip().lower(), date_from=self.date_from.data,
                              date_to=self.date_to.data, approved_only=not self.include_unapproved.data,
                              include_originals=bool(self.with_package.data and self.include_originals.data))


class RationaleEnglishForm(FlaskForm):
    rationale_en = TextAreaField("English version of the rationale", validators=[Length(max=50_000)],
                                 description="Printed in the dossier under the rationale as written. Leave empty to "
                                             "remove it.")
    submit = SubmitField("Save the English version")
