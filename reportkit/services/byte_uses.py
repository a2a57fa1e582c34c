"""Which rows point at stored bytes: the one list that purge, gc, undoing a failed write and `verify` read.

The store keeps one copy of identical bytes, so one file may be used by rows of several kinds, in several
teams' cases. A kind of row that points at bytes and is missing here would lose its bytes to another team's
purge or to gc, and would go unchecked by `verify`: add every new hash column here.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import Derivative, Dossier, Entry, Event, Evidence, Filing, FilingFile, Import


@dataclass(frozen=True)
class ByteUse:
    sha256: str
    case_id: int
    label: str  # what a verification report calls the row


def byte_uses(case_id: int | None = None, hashes: Iterable[str] | None = None) -> list[ByteUse]:
    """Every live use of stored bytes, of one case or all, of some hashes or all. A purged evidence file is
    no use (its bytes are gone on purpose); a timestamp reply is named by its package's custody event."""
    wanted = None if hashes is None else sorted(set(hashes) - {None})
    if wanted is not None and not wanted:
        return []
    found: list[ByteUse] = []
    for batch in ([None] if wanted is None else [wanted[i:i + 500] for i in range(0, len(wanted), 500)]):
        found += _rows(case_id, batch)
    return found


def hashes_in_use(hashes: Iterable[str]) -> set[str]:
    return {use.sha256 for use in byte_uses(hashes=hashes)}


def _rows(case_id: int | None, batch: list[str] | None) -> Iterator[ByteUse]:
    kinds = [
        (Evidence.sha256, select(Evidence.sha256, Entry.case_id, Evidence.id).select_from(Evidence).join(Entry)
         .where(Evidence.purged_at.is_(None)), "evidence {}"),
        (Derivative.sha256, select(Derivative.sha256, Entry.case_id, Derivative.purpose, Derivative.id,
                                   Derivative.evidence_id).select_from(Derivative).join(Evidence).join(Entry),
         "{} copy {} of evidence {}"),
        (Dossier.sha256, select(Dossier.sha256, Dossier.case_id, Dossier.document_id), "dossier {}"),
        (Dossier.package_sha256, select(Dossier.package_sha256, Dossier.case_id, Dossier.document_id),
         "package of dossier {}"),
        (Import.file_sha256, select(Import.file_sha256, Import.case_id, Import.id), "import {}"),
        (FilingFile.sha256, select(FilingFile.sha256, Filing.case_id, FilingFile.id, FilingFile.filing_id)
         .select_from(FilingFile).join(Filing), "file {} of filing {}"),
    ]
    for column, query, label in kinds:
        query = query.where(column.is_not(None))
        if case_id is not None:
            query = query.where(query.selected_columns[1] == case_id)
        if batch is not None:
            query = query.where(column.in_(batch))
        for sha, row_case, *parts in db.session.execute(query):
            yield ByteUse(sha, row_case, label.format(*parts))
    events = select(Event.id, Event.case_id, Event.data).where(Event.action == "package.exported")
    if case_id is not None:
        events = events.where(Event.case_id == case_id)
    for event_id, row_case, data in db.session.execute(events):
        for stamp in (data or {}).get("timestamps") or []:
            if stamp.get("sha256") and (batch is None or stamp["sha256"] in batch):
                yield ByteUse(stamp["sha256"], row_case, f"timestamp reply of event {event_id}")
