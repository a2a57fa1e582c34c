import re
from datetime import UTC, tzinfo

from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, DateTimeLocalField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..extensions import db
from ..forms import options
from ..models import PLATFORMS, STATUSES, Clause
from ..models.entries import (
    CAPTURE_METHODS,
    EDITABLE,
    FIELDS,
    MAX_TEXT,
    REQUESTED_ACTIONS,
    SEVERITIES,
    TRANSLATION_METHODS,
)
from ..services import dates
from ..services import entries as entry_ops
from ..services.search import FILING_FILTERS, SORTS, EntryFilter
from ..services.urls import URLError, parse_post_url

# The first format is what the field shows: the one browsers' datetime-local inputs accept.
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def post_url(form, field):
    try:
        parse_post_url(field.data or "")
    except URLError as exc:
        raise ValidationError(str(exc)) from exc


def _blank(choices: dict):
    return options([("", "—")] + list(choices.items()))


def _limit(name: str) -> dict:
    """The browser's length hint for an entry field, from models.entries.FIELDS (the service checks it)."""
    return {"maxlength": FIELDS[name].max}


class EntryForm(FlaskForm):
    """The entry fields (models.entries.FIELDS: one field here for each) with their labels. Their values are
    checked by the service (`entries.field_problems`, in `validate`), as the API's and an import's are."""

    account_id = SelectField("Account", coerce=int, default=0, validate_choice=True)
    posted_at = DateTimeLocalField("Posted at", validators=[Optional()], format=LOCAL_FORMATS,
                                   description="Leave empty when the time can be read from the post id.")
    confirm_posted_at = BooleanField("The typed time is right (keep it even where the post id says otherwise)")
    text = TextAreaField("Original text", render_kw=_limit("text"), description="Verbatim, in its own script.")
    language = StringField("Language", render_kw=_limit("language"),
                           description="BCP-47 tag: fa, ar, he, en … Guessed from the text when left empty.")
    translation = TextAreaField("Translation", render_kw=_limit("translation"))
    translator = StringField("Translator", render_kw=_limit("translator"),
                             description="Printed in exports as typed: a pseudonym is fine.")
    translation_method = SelectField("Translation method", choices=_blank(TRANSLATION_METHODS), default="")
    notes = TextAreaField("Context notes", render_kw=_limit("notes"))
    tags = StringField("Tags", validators=[Length(max=1000)], description="Separated by commas.")
    graphic = BooleanField("Graphic violence (blur media by default)")
    private_info = BooleanField("Private information visible")
    captured_at = DateTimeLocalField("Captured at", validators=[Optional()], format=LOCAL_FORMATS,
                                     description="Empty: the time of the first screenshot's upload.")
    captured_by = StringField("Captured by", render_kw=_limit("captured_by"),
                              description="Printed in exports as typed: a pseudonym is fine.")
    capture_method = SelectField("Capture method", choices=_blank(CAPTURE_METHODS), default="")
    logged_in_as = StringField("Logged in as (label)", render_kw=_limit("logged_in_as"),
                               description="A label such as “research account 2”, never a password.")
    network_route = StringField("Network route (label)", render_kw=_limit("network_route"),
                                description="e.g. “VPN, exit in NL”.")
    legal_country = StringField("Legal ground: country", render_kw=_limit("legal_country"))
    legal_law = StringField("Law", render_kw=_limit("legal_law"))
    legal_article = StringField("Article", render_kw=_limit("legal_article"))
    requested_action = SelectField("Requested action", choices=_blank(REQUESTED_ACTIONS), default="",
                                   description="What the team asks the platform to do about this post.")
    action_countries = StringField("Countries", render_kw=_limit("action_countries"),
                                   description="Only to restrict the post in named countries: two-letter codes, "
                                               "e.g. DE, FR.")
    severity = SelectField("Severity", coerce=int, default=0, choices=options(
        [(0, "— not rated")] + [(k, f"{k} · {name}: {meaning}") for k, (name, meaning) in sorted(SEVERITIES.items())]))
    submit = SubmitField("Save entry")

    def __init__(self, *args, zone: tzinfo | None = None, **kwargs):
        """Times are typed in `zone` (the user's, by default) and handed to the services in UTC."""
        super().__init__(*args, **kwargs)
        self.zone = zone or user_zone()
        label = dates.zone_label(self.zone)
        self.posted_at.label.text = f"Posted at ({label})"
        self.captured_at.label.text = f"Captured at ({label})"

    def validate(self, extra_validators=None) -> bool:
        """The form's own checks (CSRF, choices, times), then the service's check of every entry field: each
        problem is shown next to its field."""
        valid = super().validate(extra_validators)
        fields = self.service_fields()
        for name, problem in entry_ops.field_problems({k: v for k, v in fields.items()
                                                       if k in FIELDS and not self[k].errors}).items():
            self[name].errors = [*self[name].errors, problem]
            valid = False
        return valid

    def set_accounts(self, accounts) -> None:
        self.account_id.choices = options([(0, "Match from the URL")] + [(a.id, a.label) for a in accounts])

    def service_fields(self) -> dict:
        """The form's values in the shape the entry services take (aware UTC times, a list of tags)."""
        data = {name: self[name].data for name in EDITABLE}
        data["language"] = (data["language"] or "").strip()
        data["account_id"] = self.account_id.data or None
        data["posted_at"] = _aware(self.posted_at.data, self.zone)
        data["captured_at"] = _aware(self.captured_at.data, self.zone)
        data["confirm_posted_at"] = bool(self.confirm_posted_at.data)
        data["tags"] = [t for t in (self.tags.data or "").split(",") if t.strip()]
        return data


class EntryCreateForm(EntryForm):
    url = StringField("Post URL", validators=[DataRequired(), Length(max=2048), post_url],
                      description="Paste the address of the post; the platform, account and id are read from it.")
    submit = SubmitField("Add entry")


def _aware(value, zone: tzinfo = UTC):
    """A naive time typed in `zone`, as an aware UTC time."""
    return value.replace(tzinfo=zone).astimezone(UTC) if value else None


def user_zone() -> tzinfo:
    """The signed-in user's time zone (UTC without one, or for an unknown name)."""
    try:
        return dates.zone_named(getattr(current_user, "time_zone", None) or "UTC")
    except dates.DateError:
        return UTC


def local_naive(value, zone: tzinfo | None = None):
    """A stored UTC time as the naive local time a datetime-local input shows."""
    return value.astimezone(zone or user_zone()).replace(tzinfo=None) if value else None


def _account_id(value) -> int:
    """An account id as typed in the address; anything else stays as it is, for `listed` to name."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def listed(what: str):
    """A filter value must be one of the list's: a typo in an address is said, not shown as an empty list."""
    def check(form, field):
        if field.data not in (None, "", 0) and field.data not in {c.value for c in field.choices}:
            raise ValidationError(f"Unknown {what} “{str(field.data)[:40]}”: choose one from the list.")
    return check


class EntryFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search text", validators=[Optional(), Length(max=200)])
    account = SelectField("Account", coerce=_account_id, default=0, validate_choice=False,
                          validators=[listed("account")])
    platform = SelectField("Platform", choices=_blank(PLATFORMS), default="", validate_choice=False,
                           validators=[listed("platform")])
    clause = StringField("Clause key", validators=[Optional(), Length(max=200)])
    tag = StringField("Tag", validators=[Optional(), Length(max=60)])
    language = StringField("Language", validators=[Optional(), Length(max=35)])
    date_from = DateField("Posted from", validators=[Optional()])
    date_to = DateField("Posted to", validators=[Optional()])
    status = SelectField("Status", choices=_blank(STATUSES), default="", validate_choice=False,
                         validators=[listed("status")])
    filing = SelectField("Reported", choices=_blank(FILING_FILTERS), default="", validate_choice=False,
                         validators=[listed("reporting state")])
    sort = SelectField("Sort", default="number_desc", validate_choice=False, choices=options([
        ("number_desc", "Newest entries"), ("number_asc", "Oldest entries"), ("posted_desc", "Post time, newest"),
        ("posted_asc", "Post time, oldest"), ("captured_desc", "Capture time, newest")]))

    def set_accounts(self, accounts, label=lambda a: a.label) -> None:
        self.account.choices = options([(0, "All accounts")] + [(a.id, label(a)) for a in accounts])

    def to_filter(self) -> EntryFilter:
        """The filter of the valid fields only: a refused value is said beside its field and not applied (an
        account "zz" never reaches the database)."""
        def ok(field, empty=""):
            return empty if field.errors or field.data in (None, "", 0) else field.data

        return EntryFilter(
            account_id=ok(self.account, None), platform=ok(self.platform), clause=ok(self.clause), tag=ok(self.tag),
            language=ok(self.language).strip(), date_from=ok(self.date_from, None), date_to=ok(self.date_to, None),
            q=ok(self.q), status=ok(self.status), filing=ok(self.filing),
            sort=self.sort.data if self.sort.data in SORTS else "number_desc", zone=user_zone())


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\W_]+", (text or "").casefold()) if w]


def match_clauses(text: str, clauses) -> list:
    """The clauses typed words name, best tier first: the heading (or the whole path) said exactly, then every
    word in the heading, in platform + policy + heading, and last anywhere in the clause (summary and key too).
    Returns the first tier that matches anything, in the order given (the post's own platform first)."""
    words = _words(text)
    if not words:
        return []
    tiers = (
        lambda c: words == _words(c.heading) or words == _words(c.path),
        lambda c: all(w in c.heading.casefold() for w in words),
        lambda c: all(w in c.path.casefold() for w in words),
        lambda c: all(w in " ".join((c.path, c.group, c.summary, c.key.replace("_", " "))).casefold()
                      for w in words),
    )
    for fits in tiers:
        found = [c for c in clauses if fits(c)]
        if found:
            return found
    return []


class ViolationForm(FlaskForm):
    clause = StringField("Policy clause", validators=[DataRequired(), Length(max=200)],
                         description="Type words of the rule (e.g. violent threats) or its key, and choose it "
                                     "from the list.")
    rationale = TextAreaField("Rationale", validators=[DataRequired(), Length(max=MAX_TEXT)],
                              description="Why this post breaks this clause, in words a reviewer at the platform "
                                          "can check against the post.")
    submit = SubmitField("Map clause")

    def __init__(self, *args, clauses=(), platform_name: str = "", **kwargs):
        """`clauses`: the ones that fit the post (its platform's first), which typed words are matched against."""
        super().__init__(*args, **kwargs)
        self.clauses, self.platform_name, self.clause_key = list(clauses), platform_name, ""

    def validate_clause(self, field) -> None:
        typed = (field.data or "").strip()
        exact = db.session.scalar(select(Clause).where(Clause.key == typed))
        if exact is not None:  # any key is taken as typed: whether it fits the post is the service's to say
            self.clause_key = exact.key
            return
        found = match_clauses(typed, self.clauses)
        if len(found) == 1:
            self.clause_key = found[0].key
            return
        if not found:
            raise ValidationError(
                f"There is no policy clause with the key “{typed}”, and no {self.platform_name or 'matching'} "
                "rule or legal ground has all these words. Try fewer words, or choose one from the list.")
        shown = "; ".join(f"{c.path} ({c.key})" for c in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        raise ValidationError(f"“{typed}” fits {len(found)} clauses: {shown}{more}. Add a word or choose one "
                              "from the list.")


class BulkForm(FlaskForm):
    action = SelectField("With the selected entries", choices=options([
        ("submit", "Submit for review"), ("tag", "Add a tag"), ("account", "Change the account")]))
    value = StringField("Tag", validators=[Optional(), Length(max=60)])
    account = SelectField("Account", coerce=int, default=0, validate_choice=False)
    submit = SubmitField("Apply")
