"""Attach evidence to an entry: hash first, sniff, check images, make the print copy, store write-once, then
the rows. Purge, and the one answer to "does any row still use these bytes?" that purge and gc share."""

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from ..extensions import db
from ..models import Derivative, Entry, Event, Evidence, User
from ..models._common import utcnow
from ..models.entries import CAPTURED_AT_SOURCES
from ..templating import filesize
from .byte_uses import hashes_in_use
from .custody import lock_case, record
from .disclosure import People
from .duplicates import findings_for, note_near_duplicates
from .errors import ServiceError
from .images import BadImage, PrintCopy, check_image, look_hash, make_marked_copy, make_print_copy, perceptual_hash
from .reviews import check_open, ensure_open, reset_round
from .sniff import UnsupportedType, sniff
from .storage import EvidenceStore, Garbage, StorageFull, StoredBytesLocked, TooLarge, storage_full
from .urls import parse_post_url


class EvidenceError(ServiceError):
    """Refused upload. `status` is the HTTP status that fits: 413 too large, 415 wrong type, 422 damaged."""

    def __init__(self, message: str, status: int, field: str | None = None):
        super().__init__(message, field, status)


@dataclass(frozen=True)
class Limits:
    max_size: int
    max_pixels: int
    print_width: int

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(config["MAX_CONTENT_LENGTH"], config["MAX_IMAGE_PIXELS"], config["PRINT_MAX_WIDTH"])


def add_evidence_file(actor: User, entry: Entry, stream: BinaryIO, filename: str, store: EvidenceStore,
                      limits: Limits, kind: str | None = None, sha256: str | None = None) -> Evidence:
    """Everything that can be refused is checked, and the print copy made, while the bytes are only staged.
    Then the bytes go into the store and the rows are committed. If anything fails after that (a full disk,
    the database), the bytes this upload added are removed again unless a row uses them: nothing is half-saved.
    A kill in between leaves only staging files or bytes no row uses, which gc removes.
    `sha256`: the hash the sender computed (the browser extension); bytes that hash otherwise are refused."""
    check_open(entry)  # the case lock is taken only for the short write below, not while the file is checked
    try:
        staged = store.stage(stream, limits.max_size)
    except TooLarge as exc:
        raise EvidenceError(f"The file is larger than the {filesize(limits.max_size)} limit.", 413) from exc
    if sha256 is not None and staged.sha256 != sha256.lower():
        store.discard(staged)
        raise EvidenceError(f"The file arrived with SHA-256 {staged.sha256}, not the {sha256.lower()} it was sent "
                            "with: it changed on the way. Nothing was stored.", 422, "sha256")
    try:
        found = sniff(staged.head, staged.tmp_path)
        if kind and kind != found.kind:
            raise UnsupportedType(f"The file is {found.mime}, which is not a {kind.replace('_', ' ')}.")
        size = check_image(staged.tmp_path, limits.max_pixels) if found.kind == "screenshot" else None
        copy = make_print_copy(staged.tmp_path, limits.print_width) if size else None
        phash = perceptual_hash(io.BytesIO(copy.data)) if copy else None
        look = look_hash(io.BytesIO(copy.data)) if copy else None
    except UnsupportedType as exc:
        store.discard(staged)
        raise EvidenceError(str(exc), 415) from exc
    except BadImage as exc:
        store.discard(staged)
        raise EvidenceError(str(exc), 422) from exc
    except BaseException:
        store.discard(staged)
        raise
    added: list[str] = []
    try:
        with store.writing():
            store.commit(staged, added)  # before the case lock: in an S3 store this is the upload (slow work)
            copy_sha = store.put_bytes(copy.data, added)[0] if copy else None
            ensure_open(entry)
            evidence = Evidence(entry=entry, kind=found.kind, sha256=staged.sha256, size=staged.size, mime=found.mime,
                                original_name=_safe_name(filename), uploaded_by_id=actor.id, phash=phash,
                                look_hash=look,
                                uploaded_at=utcnow())
            if copy:
                evidence.width, evidence.height = size
                evidence.derivatives.append(_derivative("print", copy, copy_sha, staged.sha256))
            db.session.add(evidence)
            note_near_duplicates(evidence)  # stored once, shown on both entries until dismissed
            record(actor, entry.case_id, "evidence.uploaded", f"entry:{entry.number}", {
                "sha256": staged.sha256, "name": evidence.original_name, "size": staged.size, "mime": found.mime,
                "print_copy": evidence.print_copy.sha256 if evidence.print_copy else None}, entry_id=entry.id)
            default_capture(actor, entry, evidence)
            reset_round(actor, entry, f"file {evidence.original_name} uploaded")
            db.session.commit()
    except BaseException as exc:
        _undo(store, added)
        store.discard(staged)
        if storage_full(exc) and not isinstance(exc, StorageFull):
            raise StorageFull() from exc  # the database's disk, say: nothing of this upload is kept either
        raise
    return evidence


FROM_UPLOAD = CAPTURED_AT_SOURCES["upload"]  # "from the first screenshot's upload"


def default_capture(actor: User, entry: Entry, evidence: Evidence) -> None:
    """The first screenshot of an entry without a capture time stands for the capture: its upload time, and,
    unless someone was named, its uploader as exports name them (services/disclosure.py), marked as such
    (`captured_at_source = "upload"`). A person's correction later is theirs ("person"). Recorded like every
    change of an entry's fields (an `entry.edited` event, which `verify` replays). Call it under the case lock."""
    if evidence.kind != "screenshot" or entry.captured_at is not None:
        return
    if any(other.kind == "screenshot" for other in entry.evidence if other is not evidence):
        return  # not the first: an empty time was left empty on purpose, or cleared by a person
    before = entry.snapshot()
    entry.captured_at = evidence.uploaded_at
    if not entry.captured_by.strip():
        entry.captured_by = People.for_case(entry.case).name(actor.id)
    entry.captured_at_source = "upload"
    after = entry.snapshot()
    record(actor, entry.case_id, "entry.edited", f"entry:{entry.number}",
           {k: [before[k], after[k]] for k in after if after[k] != before[k]}, FROM_UPLOAD, entry_id=entry.id)


def add_archive_link(actor: User, entry: Entry, url: str) -> Evidence:
    """Add an archive link (kept as a link, never fetched) to an entry, record it, start a new review round and
    commit."""
    ensure_open(entry)
    evidence = attach_archive_link(actor, entry, url)
    record(actor, entry.case_id, "evidence.linked", f"entry:{entry.number}", {"url": evidence.archive_url},
           entry_id=entry.id)
    reset_round(actor, entry, f"archive link {evidence.archive_url} added")
    db.session.commit()
    return evidence


def attach_archive_link(actor: User, entry: Entry, url: str) -> Evidence:
    """Building block (records nothing, commits nothing): add an archive link row to the session. A new
    entry's links are recorded with its creation record (bulk intake)."""
    address = parse_post_url(url).canonical  # raises URLError for anything but a plain http(s) address
    evidence = Evidence(entry=entry, kind="archive_link", archive_url=address, uploaded_by_id=actor.id)
    db.session.add(evidence)
    return evidence


def _derivative(purpose: str, copy: PrintCopy, sha: str, parent_sha256: str) -> Derivative:
    return Derivative(purpose=purpose, sha256=sha, parent_sha256=parent_sha256, mime="image/jpeg",
                      size=len(copy.data), width=copy.width, height=copy.height, operations=copy.operations)


def _undo(store: EvidenceStore, added: list[str]) -> None:
    """After a failure: roll the rows back, then remove the bytes this operation newly stored (unless a row
    committed meanwhile by another request uses the same bytes)."""
    db.session.rollback()
    remove_unused_bytes(store, added)


def _safe_name(filename: str | None) -> str:
    name = Path((filename or "").replace("\\", "/")).name
    return "".join(ch for ch in name if ch.isprintable())[:255] or "upload"


def refresh_marked_copy(actor: User, evidence: Evidence, store: EvidenceStore, width: int) -> None:
    """Redraw the marked copy after regions changed (or drop it when none are left), and record its hash.

    The image is drawn before the case lock is taken (slow work never holds it); under the lock, if someone
    changed the regions meanwhile, it is drawn again from what is committed, so no redaction is ever lost."""
    def draw(regions):
        if not regions:
            return None
        with store.as_file(evidence.sha256) as path:  # the file itself, or a checked copy from S3
            return make_marked_copy(path, regions, width)

    drawn_for = _boxes(evidence.regions)
    copy = draw(evidence.regions)
    added: list[str] = []
    try:
        with store.writing():
            lock_case(evidence.entry.case_id)
            if _boxes(evidence.regions) != drawn_for:
                copy = draw(evidence.regions)
            for old in [d for d in evidence.derivatives if d.purpose == "marked"]:
                evidence.derivatives.remove(old)  # its bytes, if nothing else uses them, are gc's
            sha = None
            if copy:
                sha, _ = store.put_bytes(copy.data, added)
                evidence.derivatives.append(_derivative("marked", copy, sha, evidence.sha256))
            record(actor, evidence.entry.case_id, "evidence.marked", f"evidence:{evidence.id}",
                   {"sha256": sha, "regions": len(evidence.regions)}, entry_id=evidence.entry_id)
            db.session.commit()
    except BaseException:
        _undo(store, added)
        raise


def _boxes(regions) -> list:
    return sorted((r.id, r.kind, r.x, r.y, r.w, r.h) for r in regions)


def near_duplicates(evidence: Evidence) -> list[Evidence]:
    """Screenshots of other entries of the case that look like this one and nobody has dismissed
    (the findings stored at upload: services/duplicates.py)."""
    return [f.other for f in findings_for(evidence.entry) if f.mine.id == evidence.id]


def record_download(actor: User, evidence: Evidence) -> None:
    """Who took a copy of an original, and when: part of the chain of custody. Once a minute per person and
    file: a download manager's many range requests, or a viewer reloading, must not flood the case's chain."""
    since = utcnow() - timedelta(seconds=60)
    recent = db.session.scalar(select(Event.id).where(
        Event.entry_id == evidence.entry_id, Event.action == "evidence.downloaded", Event.actor_id == actor.id,
        Event.target == f"evidence:{evidence.id}", Event.created_at >= since.replace(microsecond=0)).limit(1))
    if recent is None:
        record(actor, evidence.entry.case_id, "evidence.downloaded", f"evidence:{evidence.id}",
               {"sha256": evidence.sha256, "name": evidence.original_name}, entry_id=evidence.entry_id)
        db.session.commit()


def withdraw_evidence(actor: User, evidence: Evidence, reason: str) -> None:
    """Take a file out of use (and out of dossiers); it stays stored and in the history."""
    ensure_open(evidence.entry)
    if not reason.strip():
        raise EvidenceError("Say why the file is withdrawn.", 422)
    evidence.withdrawn_at, evidence.withdrawn_reason = utcnow(), reason.strip()
    record(actor, evidence.entry.case_id, "evidence.withdrawn", f"evidence:{evidence.id}",
           {"sha256": evidence.sha256, "name": evidence.original_name}, reason, entry_id=evidence.entry_id)
    reset_round(actor, evidence.entry, f"file {evidence.original_name or evidence.archive_url} withdrawn")
    db.session.commit()


def purge_evidence(actor: User, evidence: Evidence, reason: str, store: EvidenceStore) -> "Purge":
    """Remove a file's bytes for good (e.g. a victim's private data): the hash and the reason are kept.

    The store keeps one copy of identical bytes, and every row that points at them, in any case, is a user
    (`hashes_in_use`): the bytes go with their last user, so a purge here never destroys what another team
    keeps. What the purging team is told, and what the event records, is the same whether or not other
    teams' rows use the same bytes: only entries of this case are named."""
    if not reason.strip():
        raise EvidenceError("Say why the file is purged.", 422)
    lock_case(evidence.entry.case_id)  # before reading the entry's review state (reset_round below)
    if evidence.purged_at is not None:  # two owners at once: the second is told
        raise EvidenceError("This file was already purged.", 422)
    hashes = {evidence.sha256, *(d.sha256 for d in evidence.derivatives)} - {None}
    evidence.purged_at, evidence.purge_reason = utcnow(), reason.strip()
    evidence.withdrawn_at = evidence.withdrawn_at or evidence.purged_at
    for derivative in list(evidence.derivatives):
        evidence.derivatives.remove(derivative)
    db.session.flush()
    case_id = evidence.entry.case_id
    same_case = _entries_using(case_id, hashes)
    record(actor, case_id, "evidence.purged", f"evidence:{evidence.id}",
           {"sha256": evidence.sha256, "name": evidence.original_name,
            "derivatives": sorted(hashes - {evidence.sha256})},
           reason, entry_id=evidence.entry_id)
    reset_round(actor, evidence.entry, f"file {evidence.original_name} purged")
    db.session.commit()
    remove_unused_bytes(store, hashes)
    # S3 Object Lock: bytes under retention stay until then, whoever uses them (said the same either way)
    locked = [until for sha in sorted(hashes) if (until := store.locked_until(sha)) is not None]
    return Purge(same_case, max(locked) if locked else None)


@dataclass
class Purge:
    same_case_entries: list[int]  # entry numbers in this case that still hold the same bytes
    locked_until: datetime | None = None  # S3 Object Lock: the bytes cannot be removed before then (gc does it after)

    @property
    def complete(self) -> bool:
        """Gone from this case. Whether other cases hold the same bytes is never said."""
        return not self.same_case_entries


def _entries_using(case_id: int, hashes: Iterable[str]) -> list[int]:
    """Numbers of this case's entries whose live evidence (original or derivative) has any of these bytes."""
    hashes = sorted(hashes)
    originals = select(Entry.number).join(Evidence).where(
        Entry.case_id == case_id, Evidence.sha256.in_(hashes), Evidence.purged_at.is_(None))
    derivatives = select(Entry.number).join(Evidence).join(Derivative).where(
        Entry.case_id == case_id, Derivative.sha256.in_(hashes), Evidence.purged_at.is_(None))
    return sorted(set(db.session.scalars(originals.union(derivatives))))


def remove_unused_bytes(store: EvidenceStore, hashes: Iterable[str]) -> set[str]:
    """Remove the stored bytes among `hashes` that no row uses; checked inside the store's removing lock, so
    a request that is storing the same bytes and committing its row finishes first. Call it with no
    transaction of your own open (after a commit or a rollback). Returns the hashes removed."""
    hashes = set(hashes) - {None}
    if not hashes:
        return set()
    with store.removing():
        unused = hashes - hashes_in_use(hashes)
        for sha in sorted(unused):
            try:
                store.remove(sha)
            except StoredBytesLocked:  # under Object Lock retention: left for gc once it ends, never half-way
                unused.discard(sha)
    return unused


DEFAULT_GRACE_HOURS = 24.0  # gc removes only what is older: an upload or a render in progress is never swept


def collect_garbage(store: EvidenceStore, temp_dir: Path | None, grace_hours: float,
                    dry_run: bool = False) -> list[Garbage]:
    """`reportkit gc` and the periodic sweep: staging files, bytes no row uses and scratch folders, once older
    than the grace period."""
    return store.collect_garbage(hashes_in_use, grace_hours * 3600, temp_dir, dry_run)
