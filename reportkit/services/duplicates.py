"""Screenshots of different entries that look like the same post: found once, shown once, dismissed for good.

A finding is stored when the later screenshot is uploaded (`note_near_duplicates`, in the upload's own
transaction, under the case lock), so pages read rows instead of comparing every screenshot of the case on
every view. A person with edit rights who says "not the same" dismisses it; the custody log records who.
"""

from dataclasses import dataclass

from sqlalchemy import or_, select

from ..extensions import db
from ..models import Entry, Evidence, NearDuplicate, User
from ..models._common import utcnow
from .custody import lock_case, record, reloaded
from .errors import ServiceError
from .images import NEAR_DUPLICATE_BITS, hash_distance


class DuplicateError(ServiceError):
    """A duplicate finding refused (422)."""


@dataclass(frozen=True)
class Finding:
    """A finding as one entry's page shows it: its screenshot, the other entry's, and how alike they are."""
    id: int
    mine: Evidence
    other: Evidence
    distance: int

    @property
    def other_entry(self) -> Entry:
        return self.other.entry


def note_near_duplicates(evidence: Evidence) -> list[NearDuplicate]:
    """Store a finding for each screenshot of another entry of the case that looks like this new one.
    Call it under the case lock, after the evidence row is added (it is flushed here for its id)."""
    if not evidence.look_hash:
        return []
    db.session.flush()
    rows = db.session.execute(select(Evidence.id, Evidence.look_hash).join(Entry).where(
        Entry.case_id == evidence.entry.case_id, Evidence.entry_id != evidence.entry_id,
        Evidence.id != evidence.id, Evidence.look_hash.is_not(None), Evidence.purged_at.is_(None)))
    found = []
    for other_id, other_hash in rows:
        distance = hash_distance(evidence.look_hash, other_hash)
        if distance <= NEAR_DUPLICATE_BITS:
            found.append(NearDuplicate(evidence_id=evidence.id, similar_id=other_id, distance=distance))
    db.session.add_all(found)
    return found


def findings_for(entry: Entry) -> list[Finding]:
    """The open findings that touch this entry's live screenshots, closest first; one per pair of files."""
    ids = [ev.id for ev in entry.evidence]
    if not ids:
        return []
    rows = db.session.scalars(select(NearDuplicate).where(
        NearDuplicate.dismissed_at.is_(None),
        or_(NearDuplicate.evidence_id.in_(ids), NearDuplicate.similar_id.in_(ids)))).all()
    out = []
    for row in rows:
        mine, other = (row.evidence, row.similar) if row.evidence_id in ids else (row.similar, row.evidence)
        if mine.active and other.active and other.entry.withdrawn_at is None:
            out.append(Finding(row.id, mine, other, row.distance))
    return sorted(out, key=lambda f: (f.distance, f.other.entry.number))


def dismiss_finding(actor: User, entry: Entry, finding_id: int) -> NearDuplicate:
    """A person says the two screenshots are not of the same post: the warning goes, for good, on both
    entries. `entry` is the one the person acts from (their edit rights were checked on it)."""
    lock_case(entry.case_id)
    row = db.session.get(NearDuplicate, finding_id)
    if row is not None:
        row = reloaded(row)
    if row is None or entry.id not in (row.evidence.entry_id, row.similar.entry_id):
        raise DuplicateError("There is no such warning on this entry.")
    if row.dismissed_at is not None:
        return row  # two people at once: the first one's dismissal stands, and is recorded once
    row.dismissed_at, row.dismissed_by_id = utcnow(), actor.id
    mine, other = (row.evidence, row.similar) if row.evidence.entry_id == entry.id else (row.similar, row.evidence)
    record(actor, entry.case_id, "evidence.not_duplicate", f"evidence:{mine.id}", {
        "evidence": mine.id, "name": mine.original_name, "sha256": mine.sha256, "other_evidence": other.id,
        "other_name": other.original_name, "other_sha256": other.sha256,
        "other_entry": other.entry.number, "distance": row.distance}, entry_id=entry.id)
    db.session.commit()
    return row


def find_in_earlier_screenshots(store, case_id: int | None = None) -> tuple[int, int]:
    """Screenshots stored before near-duplicates were found this way have no look hash: hash their print
    copies (outside any lock), then, case by case under its lock, store the hashes and the findings among
    them, oldest first (as if each were uploaded in turn). Returns (screenshots hashed, findings stored).
    Run it again at any time: what has a hash is left as it is."""
    from .images import look_hash

    query = select(Evidence).join(Entry).where(Evidence.kind == "screenshot", Evidence.look_hash.is_(None),
                                               Evidence.purged_at.is_(None)).order_by(Evidence.id)
    if case_id is not None:
        query = query.where(Entry.case_id == case_id)
    hashes: dict[int, dict[int, str]] = {}
    for evidence in db.session.scalars(query):
        copy = evidence.print_copy
        if copy is not None and store.exists(copy.sha256):
            with store.as_file(copy.sha256) as path:  # the file itself, or a checked copy from S3
                hashes.setdefault(evidence.entry.case_id, {})[evidence.id] = look_hash(path)
    db.session.rollback()  # nothing written yet: end the read before taking locks
    found = 0
    for case, computed in hashes.items():
        lock_case(case)
        for evidence_id in sorted(computed):
            evidence = db.session.get(Evidence, evidence_id)
            if evidence is None or evidence.look_hash is not None:
                continue  # removed, or hashed by another run meanwhile
            evidence.look_hash = computed[evidence_id]
            found += len(_note_against_earlier(evidence))
        db.session.commit()
    return sum(len(c) for c in hashes.values()), found


def _note_against_earlier(evidence: Evidence) -> list[NearDuplicate]:
    """Like `note_near_duplicates`, against every hashed screenshot of the case's other entries; a pair is
    stored as (the later, the earlier) and only once."""
    db.session.flush()
    rows = db.session.execute(select(Evidence.id, Evidence.look_hash).join(Entry).where(
        Entry.case_id == evidence.entry.case_id, Evidence.entry_id != evidence.entry_id,
        Evidence.look_hash.is_not(None), Evidence.purged_at.is_(None)))
    known = {(later, earlier) for later, earlier in db.session.execute(
        select(NearDuplicate.evidence_id, NearDuplicate.similar_id).where(
            or_(NearDuplicate.evidence_id == evidence.id, NearDuplicate.similar_id == evidence.id)))}
    found = []
    for other_id, other_hash in rows:
        distance = hash_distance(evidence.look_hash, other_hash)
        pair = (max(evidence.id, other_id), min(evidence.id, other_id))
        if distance <= NEAR_DUPLICATE_BITS and pair not in known:
            found.append(NearDuplicate(evidence_id=pair[0], similar_id=pair[1], distance=distance))
    db.session.add_all(found)
    return found
