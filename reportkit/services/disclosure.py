"""What of a case may leave the tool in an export (dossier, package, CSV/JSON): people and addresses.

Members are printed by the name each chose for exports, or by a pseudonym ("Reviewer 2"), never by their
account name or email; an email leaves only as the report's contact the owner set on purpose. Addresses are
printed without share-tracking parameters (`?s=20&t=…`, `igsh=`, `si=`, `fbclid`, `utm_*` say who shared a
link). The database keeps everything as it was typed.
"""

from dataclasses import dataclass

from ..models import Case, Entry
from . import serialize
from .urls import without_tracking

FORMER_MEMBER = "a former member"


@dataclass
class People:
    """Export names of a case's members, by user id."""

    names: dict[int, str]

    @classmethod
    def for_case(cls, case: Case) -> "People":
        names, seen = {}, {}
        for m in sorted(case.memberships, key=lambda m: m.id):
            seen[m.role] = seen.get(m.role, 0) + 1
            names[m.user_id] = m.export_name.strip() or f"{m.role.capitalize()} {seen[m.role]}"
        return cls(names)

    def name(self, user_id: int | None) -> str:
        return self.names.get(user_id, FORMER_MEMBER) if user_id is not None else FORMER_MEMBER


def public_url(url: str) -> str:
    return without_tracking(url) if url else url


def entry_for_export(entry: Entry, people: People) -> dict:
    """The API's shape of an entry, as it may leave the tool: no emails, no tracking parameters."""
    row = serialize.entry(entry)
    row["url"] = public_url(entry.submitted_url)
    if row["account"]:
        row["account"]["profile_url"] = public_url(row["account"]["profile_url"])
    row["approvals"] = [{**a, "by": people.name(approval.user_id)}
                        for a, approval in zip(row["approvals"], entry.current_approvals, strict=True)]
    for item, ev in zip(row["evidence"], entry.evidence, strict=True):
        item["archive_url"] = public_url(ev.archive_url) or None
    return row


def case_for_export(case: Case) -> dict:
    row = serialize.case(case)
    row["accounts"] = [{**a, "profile_url": public_url(a["profile_url"])} for a in row["accounts"]]
    return row
