from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Length

from ..forms import options
from ..models import MODES
from ..services.dossier.options import MAX_CLAUSE, MAX_TAG, PAPERS, DossierOptions, OptionsError, read_options

# The form's names for the inputs of services/dossier/options.read_options (the others are the same).
FIELD_NAMES = {"account_id": "account", "approved_only": "include_unapproved"}


class DossierForm(FlaskForm):
    """What the page sends. It checks nothing itself: `read` gives it to the one check of dossier options
    (services/dossier/options.read_options), which the API and the command line use too, so the messages are the
    same everywhere. The API's CSV and JSON exports read their query string with it (`meta={"csrf": False}`)."""

    mode = SelectField("Kind of report", choices=options(MODES.items()), default="rules", validate_choice=False)
    paper = SelectField("Paper size", choices=options((k, k) for k in PAPERS), default="A4", validate_choice=False)
    include_translations = BooleanField("Include translations", default=True)
    include_unapproved = BooleanField("Include entries not yet approved", default=False,
                                      description="Off: only approved entries are printed. Rejected and duplicate "
                                                  "entries are never printed.")
    account = SelectField("Only this account", default="0", validate_choice=False)
    clause = StringField("Only this clause (key)", render_kw={"maxlength": MAX_CLAUSE})
    tag = StringField("Only this tag", render_kw={"maxlength": MAX_TAG})
    date_from = StringField("Posted from", render_kw={"type": "date"})
    date_to = StringField("Posted to", render_kw={"type": "date"})
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
        self.account.choices = options([("0", "All accounts")] + [(str(a.id), a.label) for a in accounts])

    def values(self) -> dict:
        """The input under read_options' names."""
        return {"mode": self.mode.data, "paper": self.paper.data,
                "include_translations": self.include_translations.data,
                "approved_only": not self.include_unapproved.data, "account_id": self.account.data,
                "clause": self.clause.data, "tag": self.tag.data, "date_from": self.date_from.data,
                "date_to": self.date_to.data, "with_package": self.with_package.data,
                "include_originals": self.include_originals.data}

    def read(self, case) -> DossierOptions:
        """The checked options, or OptionsError naming this form's fields (the API's exports: its parameters)."""
        try:
            return read_options(case, self.values())
        except OptionsError as exc:
            raise exc.renamed(FIELD_NAMES) from None

    def read_or_show(self, case) -> DossierOptions | None:
        """For the page: the options, or None with each problem put beside its field."""
        try:
            return self.read(case)
        except OptionsError as exc:
            for name, messages in exc.fields.items():
                self[name].errors = [*self[name].errors, *messages]
            return None


class RationaleEnglishForm(FlaskForm):
    rationale_en = TextAreaField("English version of the rationale", validators=[Length(max=50_000)],
                                 description="Printed in the dossier under the rationale as written. Leave empty to "
                                             "remove it.")
    submit = SubmitField("Save the English version")
