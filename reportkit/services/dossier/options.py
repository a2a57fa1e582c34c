"""What a dossier export includes, as chosen in the form, the API or the CLI."""

from dataclasses import asdict, dataclass, field
from datetime import date

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
