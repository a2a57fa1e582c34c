"""Attach evidence to an entry: hash first, sniff, check images, store write-once, make the print copy."""

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select

from ..extensions import db
from ..models import Derivative, Entry, Evidence, User
from ..models._common import utcnow
from ..templating import filesize
from .images import BadImage, check_image, make_marked_copy, make_print_copy, perceptual_hash
from .sniff import UnsupportedType, sniff
from .storage import EvidenceStore, TooLarge
from .custody import record
from .reviews import ensure_open
from .urls import parse_post_url


class EvidenceError(ValueError):
    """Refused upload. `status` is the HTTP status that fits: 413 too large, 415 wrong type, 422 damaged."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Limits:
    max_size: int
    max_pixels: int
    print_width: int

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(config["MAX_CONTENT_LENGTH"], config["MAX_IMAGE_PIXELS"], config["PRINT_MAX_WIDTH"])


def add_evidence_file(actor: User, entry: Entry, stream: BinaryIO, filename: str, store: EvidenceStore,
                      limits: Limits, kind: str | None = None) -> Evidence:
    ensure_open(entry)
    try:
        staged = store.stage(stream, limits.max_size)
    except TooLarge as exc:
        raise EvidenceError(f"The file is larger than the {filesize(limits.max_size)} limit.", 413) from exc
    try:
        found = sniff(staged.head, staged.tmp_path)
        if kind and kind != found.kind:
            raise UnsupportedType(f"The file is {found.mime}, which is not a {kind.replace('_', ' ')}.")
        size = check_image(staged.tmp_path, limits.max_pixels) if found.kind == "screenshot" else None
    except UnsupportedType as exc:
        store.discard(staged)
        raise EvidenceError(str(exc), 415) from exc
    except BadImage as exc:
        store.discard(staged)
        raise EvidenceError(str(exc), 422) from exc
    path = store.commit(staged)
    evidence = Evidence(entry=entry, kind=found.kind, sha256=staged.sha256, size=staged.size, mime=found.mime,
                        original_name=_safe_name(filename), uploaded_by_id=actor.id)
    if size:
        evidence.width, evidence.height = size
        _add_print_copy(evidence, path, store, limits.print_width)
        evidence.phash = perceptual_hash(store.path_for(evidence.print_copy.sha256))
    db.session.add(evidence)
    record(actor, entry.case_id, "evidence.uploaded", f"entry:{entry.number}", {
        "sha256": staged.sha256, "name": evidence.original_name, "size": staged.size, "mime": found.mime,
        "print_copy": evidence.print_copy.sha256 if evidence.print_copy else None}, entry_id=entry.id)
    db.session.commit()
    return evidence


def add_archive_link(actor: User, entry: Entry, url: str, commit: bool = True, log: bool = True) -> Evidence:
    ensure_open(entry)
    address = parse_post_url(url).canonical  # raises URLError for anything but a plain http(s) address
    evidence = Evidence(entry=entry, kind="archive_link", archive_url=address, uploaded_by_id=actor.id)
    db.session.add(evidence)
    if log:
        record(actor, entry.case_id, "evidence.linked", f"entry:{entry.number}", {"url": address}, entry_id=entry.id)
    if commit:
        db.session.commit()
    return evidence


def _add_print_copy(evidence: Evidence, original: Path, store: EvidenceStore, width: int) -> None:
    copy = make_print_copy(original, width)
    sha, _ = store.put_bytes(copy.data)
    evidence.derivatives.append(Derivative(
        purpose="print", sha256=sha, parent_sha256=evidence.sha256, mime="image/jpeg", size=len(copy.data),
        width=copy.width, height=copy.height, operations=copy.operations))


def _safe_name(filename: str | None) -> str:
    name = Path((filename or "").replace("\\", "/")).name
    return "".join(ch for ch in name if ch.isprintable())[:255] or "upload"


def refresh_marked_copy(evidence: Evidence, store: EvidenceStore, width: int) -> None:
    """Redraw the marked copy after regions changed (or drop it when none are left)."""
    for old in [d for d in evidence.derivatives if d.purpose == "marked"]:
        evidence.derivatives.remove(old)
    if evidence.regions:
        copy = make_marked_copy(store.path_for(evidence.sha256), evidence.regions, width)
        sha, _ = store.put_bytes(copy.data)
        evidence.derivatives.append(Derivative(
            purpose="marked", sha256=sha, parent_sha256=evidence.sha256, mime="image/jpeg", size=len(copy.data),
            width=copy.width, height=copy.height, operations=copy.operations))
    db.session.commit()


def near_duplicates(evidence: Evidence, distance: int = 8) -> list[Evidence]:
    """Other screenshots in the same case that look the same (perceptual hashes within `distance` bits)."""
    if not evidence.phash:
        return []
    mine = int(evidence.phash, 16)
    rows = db.session.scalars(select(Evidence).join(Entry).where(
        Entry.case_id == evidence.entry.case_id, Evidence.phash.is_not(None), Evidence.id != evidence.id,
        Evidence.entry_id != evidence.entry_id)).all()
    return [other for other in rows if bin(mine ^ int(other.phash, 16)).count("1") <= distance]


def record_download(actor: User, evidence: Evidence) -> None:
    """Who took a copy of an original, and when: part of the chain of custody."""
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
    db.session.commit()


def purge_evidence(actor: User, evidence: Evidence, reason: str, store: EvidenceStore) -> "Purge":
    """Remove a file's bytes for good (e.g. a victim's private data): the hash and the reason are kept.

    The store keeps one copy of identical bytes. Bytes another live row still uses (the same screenshot in
    another entry, or in another team's case) stay until that row is purged too: a purge here must never
    destroy someone else's evidence. The result says where the bytes are still used."""
    if not reason.strip():
        raise EvidenceError("Say why the file is purged.", 422)
    hashes = {evidence.sha256, *(d.sha256 for d in evidence.derivatives)} - {None}
    evidence.purged_at, evidence.purge_reason = utcnow(), reason.strip()
    evidence.withdrawn_at = evidence.withdrawn_at or evidence.purged_at
    for derivative in list(evidence.derivatives):
        evidence.derivatives.remove(derivative)
    db.session.flush()
    users = {sha: _users_of(sha) for sha in hashes}
    kept = sorted(sha for sha, found in users.items() if found)
    record(actor, evidence.entry.case_id, "evidence.purged", f"evidence:{evidence.id}",
           {"sha256": evidence.sha256, "name": evidence.original_name, "derivatives": sorted(hashes - {evidence.sha256}),
            "bytes_kept_for_other_rows": kept}, reason, entry_id=evidence.entry_id)
    db.session.commit()
    for sha in hashes - set(kept):
        store.remove(sha)
    places = {place for found in users.values() for place in found}
    return Purge(sorted(n for c, n in places if c == evidence.entry.case_id),
                 len({c for c, _ in places if c != evidence.entry.case_id}))


@dataclass
class Purge:
    same_case_entries: list[int]  # entry numbers in this case that still use the bytes
    other_cases: int  # how many other cases do (not named: they may belong to other teams)

    @property
    def complete(self) -> bool:
        return not self.same_case_entries and not self.other_cases


def _users_of(sha: str) -> set[tuple[int, int]]:
    """(case id, entry number) of every live evidence row whose original or derivative has these bytes."""
    originals = select(Entry.case_id, Entry.number).join(Evidence).where(
        Evidence.sha256 == sha, Evidence.purged_at.is_(None))
    derivatives = select(Entry.case_id, Entry.number).join(Evidence).join(Derivative).where(
        Derivative.sha256 == sha, Evidence.purged_at.is_(None))
    return {tuple(row) for row in db.session.execute(originals.union(derivatives))}
