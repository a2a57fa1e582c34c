"""What a dossier export includes, as chosen in the form, the API or the CLI, and the one check of it
(`read_options`): the page, the API and the command line give their input to it and show its messages."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from ...models.dossiers import MODES
from ..errors import ServiceError
from ..search import EntryFilter

PAPERS = {"A4": "A4", "Letter": "letter"}
# Never printed, whatever the options: a reviewer turned them down or found them twice (withdrawn entries are
# out of every list already).
NEVER_PRINTED = ("rejected", "duplicate")
NOT_YET_APPROVED = ("draft", "ready", "changes_requested")
DOSSIER_LANGUAGE = "en"  # what a dossier is written in; user text in another script gets a warning


@dataclass
class DossierOptions:
    mode: str = "rules"  # rules | dsa
    paper: str = "A4"
    include_translations: bool = True
    account_id: int | None = None
    clause: str = ""
    tag: str = ""
    date_from: date | None = None
    date_to: date | None = None
    entry_numbers: list[int] = field(default_factory=list)  # empty = all that match
    # Approved entries only, unless the person chose "include entries not yet approved" (each is then marked).
    approved_only: bool = True
    # An evidence package carries the unredacted originals (with their metadata) only when the owner asks:
    # services/package.check_originals.
    include_originals: bool = False
    # A follow-up of an earlier filing (issue 17): its entries with no action or no answer, and what happened.
    follow_up_filing: int | None = None

    def entry_filter(self) -> EntryFilter:
        """Every entry the filters match, whatever its status: data.select_entries decides what is printed (and
        counts what it leaves out)."""
        return EntryFilter(account_id=self.account_id, clause=self.clause, tag=self.tag, date_from=self.date_from,
                           date_to=self.date_to, sort="number_asc")

    def to_json(self) -> dict:
        data = asdict(self)
        for key in ("date_from", "date_to"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> "DossierOptions":
        data = dict(data)
        for key in ("date_from", "date_to"):
            data[key] = date.fromisoformat(data[key]) if data.get(key) else None
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


# The names `read_options` reads (the JSON API's field names, a contract); the page form and the command line
# map their own names onto these.
INPUTS = ("mode", "paper", "include_translations", "approved_only", "account_id", "clause", "tag", "date_from",
          "date_to", "entry_numbers", "with_package", "include_originals", "follow_up_filing")
MAX_CLAUSE, MAX_TAG = 200, 60


class OptionsError(ServiceError):
    """Options that are not valid: every problem, by the input it is about. Nothing is exported."""

    def __init__(self, fields: dict[str, list[str]]):
        said = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
        super().__init__(f"Some options are not valid — {said}", next(iter(fields)))
        self.fields = fields

    def renamed(self, names: Mapping[str, str]) -> "OptionsError":
        """The same problems under the names the caller's input uses (a form's fields, a command's options)."""
        return OptionsError({names.get(k, k): v for k, v in self.fields.items()})


def read_options(case, values: Mapping) -> DossierOptions:
    """Check what was asked for and build the options, or raise OptionsError naming every bad input. `values`
    uses the names in INPUTS, with JSON's types (a form gives strings for the account and the dates, which are
    read the same way); a missing name takes the default. `with_package` is checked here (the originals need
    it) but is the caller's to pass to `create_dossier`."""
    problems: dict[str, list[str]] = {}
    default = DossierOptions()

    def flag(name: str, message: str = "true or false.") -> bool:
        value = values.get(name, getattr(default, name, False))
        if isinstance(value, bool):
            return value
        problems[name] = [message]
        return False

    def text(name: str, limit: int) -> str:
        value = values.get(name) or ""
        if not isinstance(value, str):
            problems[name] = ["Give it as text."]
        elif len(value.strip()) > limit:
            problems[name] = [f"At most {limit} characters."]
        else:
            return value.strip()
        return ""

    mode, paper = values.get("mode", default.mode), values.get("paper", default.paper)
    if mode not in MODES:
        problems["mode"] = [f"One of: {', '.join(MODES)}."]
    if paper not in PAPERS:
        problems["paper"] = [f"One of: {', '.join(PAPERS)}."]
    include_translations = flag("include_translations")
    approved_only = flag("approved_only", "true (the default) or false, to include entries not yet approved.")
    account_id = _account_id(case, values.get("account_id"), problems)
    clause, tag = text("clause", MAX_CLAUSE), text("tag", MAX_TAG).lower()
    dates = {name: _date(values.get(name), name, problems) for name in ("date_from", "date_to")}
    numbers = values.get("entry_numbers") or []
    if not isinstance(numbers, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        problems["entry_numbers"] = ["Give a list of entry numbers."]
    with_package, include_originals = flag("with_package"), flag("include_originals")
    if include_originals and not with_package and "with_package" not in problems:
        problems["include_originals"] = ["Originals go in an evidence package: ask for the package too."]
    follow_up = values.get("follow_up_filing")
    if follow_up is not None and not problems:
        numbers = _follow_up_numbers(case, follow_up, problems)
    if problems:
        raise OptionsError(problems)
    return DossierOptions(mode=mode, paper=paper, include_translations=include_translations, account_id=account_id,
                          clause=clause, tag=tag, entry_numbers=numbers, approved_only=approved_only,
                          include_originals=include_originals, follow_up_filing=follow_up, **dates)


def _follow_up_numbers(case, filing_id, problems: dict) -> list[int]:
    """The entries of a filing of this case whose platform did nothing: no violation found, or no answer."""
    from ..filings import unanswered_numbers

    if not isinstance(filing_id, int) or isinstance(filing_id, bool):
        problems["follow_up_filing"] = ["Give a filing id (a number)."]
        return []
    numbers = unanswered_numbers(case.id, filing_id)
    if numbers is None:
        problems["follow_up_filing"] = ["Not a filing of this case."]
    elif not numbers:
        problems["follow_up_filing"] = ["The platform acted on every entry of this filing: nothing to follow up."]
    return numbers or []


def _account_id(case, value, problems: dict) -> int | None:
    """An account of this case by its id; none (all accounts) for nothing, 0 or "0" (the form's "All accounts")."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        problems["account_id"] = ["Give an account id (a number)."]
        return None
    if value not in {a.id for a in case.accounts}:
        problems["account_id"] = ["Not an account of this case."]
        return None
    return value


def _date(value, name: str, problems: dict) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        problems[name] = ["Use YYYY-MM-DD."]
        return None
