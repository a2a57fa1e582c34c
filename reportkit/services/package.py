"""A self-proving evidence package: a ZIP a recipient can check without our server.

Layout: README.txt, case.json, events.json (the case's hash chain), people.json, entries/<n>/entry.json and
events.json, files/<sha256> (named by hash), verify.py (reportkit/offline.py: a checker that needs only Python),
manifest.json (every file above with its SHA-256), dossier.pdf (which carries manifest.json as an attachment
and prints its hash), timestamps/ (RFC 3161 replies over the manifest, when configured), SHA256SUMS (everything,
for `sha256sum -c`).

What leaves the tool (issue 12: users can be targeted by a state, so a package must expose neither bystanders
nor the team). By default:
- files: for each selected entry's files in use, only the copy the dossier prints: the marked copy where a
  reviewer drew regions (redactions filled), else the print copy; both are re-encoded JPEGs without metadata.
  The originals are listed by SHA-256 only (entry.json, manifest.json), so one produced later can be matched.
  Files without a print copy (videos, PDFs, saved pages) leave as their hash only.
- history: events.json lists every event of the case's chain in order, but discloses the content only of the
  events `disclosed` allows (the selected entries' files in use, mapped clauses, status changes and approvals
  without a written reason, notes chosen for the dossier); every other event is `withheld`: its id, hash and
  prev_hash. verify.py checks every link and recomputes the hash of every disclosed event.
- people: by export name (people.json maps the actor ids of disclosed events), never by email.
With `include_originals` (owner only, after a warning that names what is exposed) the originals' bytes are
added, with whatever location and device metadata they carry, and the export's event records it.
"""

import hashlib
import json
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from .. import offline
from ..extensions import db
from ..models import Case, Dossier, Entry, Event, Evidence
from ..models._common import utcnow
from . import serialize
from .access import role_in
from .custody import anchor_head, record
from .disclosure import People, case_for_export, entry_for_export, public_url
from .dossier.job import DossierOptions, DossierRefused, build_dossier, create_dossier, select_entries
from .storage import StoredFileError, as_store, file_sha256, private_temp_dir, temp_root
from .timestamps import check as check_stamp
from .timestamps import read as read_stamp
from .timestamps import request_stamps, urls_from

README = """reportkit evidence package
==========================

case.json            the case: subject, accounts
events.json          the case's whole custody log, in order; each event holds the SHA-256 of the one before
                     it. Only events about the entries in this package are disclosed in full (their files,
                     clauses, approvals and status changes); every other event is withheld: its id, hash and
                     prev_hash only, so the chain can be checked link by link without its content
people.json          the names (chosen by each person, or a pseudonym) of the people behind the actor ids of
                     the disclosed events; not part of the chain
entries/N/entry.json one catalogued post: URL, times, text, translation, clauses, approvals, and the SHA-256
                     of every file in use (the original's, and the copy included here)
entries/N/events.json that entry's disclosed events
files/<sha256>       the copy of each image that the dossier prints: the marked copy where areas were
                     hidden or highlighted, else the print copy (re-encoded, without location or device
                     metadata); named by the SHA-256 of its bytes. The originals are listed by their SHA-256
                     (entry.json, manifest.json "originals") and are included only when manifest.json says
                     "originals_included": true
manifest.json        every file above with its SHA-256
dossier.pdf          the report; it carries manifest.json as an attachment and prints the manifest's SHA-256
timestamps/manifest.N.tsr  (when configured) RFC 3161 timestamps of manifest.json by outside authorities
SHA256SUMS           the SHA-256 of every file in this package
verify.py            checks all of the above but the PDF and the timestamps, with Python alone, and
                     reports any file that SHA256SUMS or manifest.json does not list:
                     python3 -I verify.py   (in this folder)   or   python3 -I verify.py package.zip

To verify with ordinary tools:
  unzip package.zip -d package && cd package
  sha256sum -c SHA256SUMS            (every line must say OK)
  sha256sum manifest.json            (must equal the manifest hash printed in dossier.pdf, Appendix C)
  for f in files/*; do echo "$(basename $f)  $f"; done | sha256sum -c   (a file's name is its hash)
  openssl ts -verify -data manifest.json -in timestamps/manifest.1.tsr -CAfile authority-root.pem
                                     (the authority publishes its root certificate)
Or with reportkit, without any server: reportkit verify-package package.zip [--tsa-root authority-root.pem]
"""


ORIGINALS_WARNING = ("The unredacted originals of {files} file(s) leave the tool: areas hidden on {redacted} of "
                     "them are visible again, {location} carry a location (GPS) and {device} name the camera or "
                     "phone (make, model); {unchecked} are not images, and their metadata was not read.")
PLAIN_LABELS = ("", "command line")  # what new events hold in actor_label; older ones may hold a name or email


class OriginalsRefused(PermissionError):
    """Only the case's owner may put the unredacted originals in a package."""


def event_json(ev: Event) -> dict:
    return {**ev.content(), "id": ev.id, "hash": ev.hash}


def withheld_json(ev: Event) -> dict:
    """An event whose content stays in the tool: enough to link the chain (and to anchor it), nothing else."""
    return {"id": ev.id, "case_id": ev.case_id, "hash": ev.hash, "prev_hash": ev.prev_hash, "withheld": True}


def disclosed(ev: Event, entries: dict[int, Entry]) -> bool:
    """Whether an event's content may leave in a package of these entries (by id). Only what the selection
    needs and carries nothing private: no other or withdrawn entries, no members (emails), no comments but
    the notes chosen for the dossier, no edits (old values), no downloads, no legacy names in actor_label."""
    entry = entries.get(ev.entry_id)
    if entry is None or ev.actor_label not in PLAIN_LABELS:
        return False
    data = ev.data or {}
    if ev.action == "evidence.uploaded":
        return data.get("sha256") in {e.sha256 for e in _in_use(entry)}
    if ev.action == "evidence.linked":
        url = data.get("url")
        return url == public_url(url) and url in {e.archive_url for e in entry.evidence if e.active}
    if ev.action == "clause.mapped":
        return (data.get("clause"), data.get("rationale")) in {(v.clause.key, v.rationale) for v in entry.violations}
    if ev.action in ("status.changed", "entry.approved"):
        return not ev.explanation  # a reason or note written by a reviewer is an internal comment
    if ev.action == "annotation.added":
        return bool(data.get("body")) and data.get("body") in {n.body for n in entry.annotations
                                                               if n.include_in_dossier}
    return False


def may_include_originals(actor, case: Case) -> bool:
    """The owner, or the operator on the command line (actor None)."""
    return actor is None or role_in(case.id, actor) == "owner"


def check_originals(actor, case: Case, options: DossierOptions) -> None:
    if options.include_originals and not may_include_originals(actor, case):
        raise OriginalsRefused("Only the case's owner can include the unredacted originals in a package.")


@dataclass
class Exposure:
    """What including the originals of these entries would expose, counted before the export."""

    files: int = 0
    redacted: int = 0
    location: int = 0
    device: int = 0
    unchecked: int = 0
    names: list[str] = field(default_factory=list)

    def warning(self) -> str:
        return ORIGINALS_WARNING.format(**asdict(self))


def originals_exposure(entries: list[Entry], store) -> Exposure:
    store, found = as_store(store), Exposure()
    for entry in entries:
        for ev in _in_use(entry):
            found.files += 1
            found.names.append(f"entry {entry.number}: {ev.original_name}")
            found.redacted += any(r.kind == "redact" for r in ev.regions)
            if ev.print_copy is None:
                found.unchecked += 1
                continue
            with store.as_file(ev.sha256) as path:
                tags = _exif(path)
            found.location += bool(tags & {"gps"})
            found.device += bool(tags & {"make", "model"})
    return found


def _exif(path: Path) -> set[str]:
    """Which of GPS, Make, Model an image's EXIF (or XMP) holds (unreadable: assume all, the warning errs on the
    safe side)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            exif, xmp = img.getexif(), img.info.get("xmp") or b""
            xmp = xmp.encode() if isinstance(xmp, str) else xmp
            found = {name for tag, name in ((0x010F, "make"), (0x0110, "model")) if exif.get(tag)}
            found |= {name for name in ("make", "model") if f":{name.capitalize()}".encode() in xmp}
            gps = exif.get(0x8825) is not None or bool(exif.get_ifd(0x8825)) or b"GPSLatitude" in xmp
            return found | ({"gps"} if gps else set())
    except Exception:  # noqa: BLE001 - see the docstring
        return {"gps", "make", "model"}


def _in_use(entry: Entry) -> list[Evidence]:
    return [ev for ev in entry.evidence if ev.is_file and ev.active]


def _entry_json(entry: Entry, people: People, include_originals: bool) -> dict:
    row = entry_for_export(entry, people)
    items = []
    for item, ev in zip(row["evidence"], entry.evidence, strict=True):
        if not ev.active:
            continue  # withdrawn or purged: not part of what is reported
        copy = ev.dossier_copy if ev.is_file else None
        item["marked"] = {"sha256": copy.sha256, "parent_sha256": copy.parent_sha256, "width": copy.width,
                          "height": copy.height} if ev.marked_copy else None
        item["included"] = sorted(filter(None, [copy.sha256 if copy else None,
                                                ev.sha256 if include_originals and ev.is_file else None]))
        items.append(item)
    row["evidence"] = items
    return row


def write_package(actor, case: Case, out: Path, store, workers: int | None = None,
                  timestamp_urls: list[str] | None = None, timestamp_timeout: float = 10,
                  options: DossierOptions | None = None, dossier: Dossier | None = None) -> dict:
    """The whole case, or the entries a dossier's options select; written under a .partial name first.
    `dossier`: a queued export row to render the PDF on (from the browser); otherwise one is made."""
    options = options or DossierOptions()
    check_originals(actor, case, options)
    store = as_store(store)  # storage.app_store(): local or S3
    entries = select_entries(case, options)
    if not entries:
        raise DossierRefused(["No entry matches the chosen options."])
    # What the app writes is small and kept in memory; stored files (screenshots, videos: gigabytes, maybe)
    # are hashed and zipped from disk in chunks, never read whole.
    files: dict[str, bytes] = {}
    selected = {entry.id: entry for entry in entries}
    events = list(db.session.scalars(select(Event).where(Event.case_id == case.id).order_by(Event.id)))
    shown = {ev.id for ev in events if disclosed(ev, selected)}
    people = People.for_case(case)
    files["case.json"] = _json({**case_for_export(case), "exported_at": serialize.iso(utcnow())})
    files["events.json"] = _json([event_json(e) if e.id in shown else withheld_json(e) for e in events])
    actors = sorted({e.actor_id for e in events if e.id in shown and e.actor_id is not None})
    files["people.json"] = _json({str(actor_id): people.name(actor_id) for actor_id in actors})
    hashes, originals = set(), []
    for entry in entries:
        files[f"entries/{entry.number}/entry.json"] = _json(_entry_json(entry, people, options.include_originals))
        files[f"entries/{entry.number}/events.json"] = _json(
            [event_json(e) for e in events if e.entry_id == entry.id and e.id in shown])
        for ev in _in_use(entry):
            originals.append({"sha256": ev.sha256, "entry": entry.number, "included": options.include_originals})
            hashes |= {ev.dossier_copy.sha256} if ev.dossier_copy else set()
            hashes |= {ev.sha256} if options.include_originals else set()
    stored: dict[str, str] = {f"files/{sha}": sha for sha in sorted(hashes)}
    # a stored file missing or changed on disk stops the export, named: the copies included, and the originals
    # the package lists by hash (one produced later must match)
    for sha in sorted(hashes | {o["sha256"] for o in originals}):
        try:
            store.open_verified(sha).close()
        except StoredFileError as exc:
            raise DossierRefused([f"{exc} Run `reportkit verify` to see what else is affected."]) from exc
    files["verify.py"] = Path(offline.__file__).read_bytes()  # the recipient's own checker, stdlib only
    sums = {name: _sha(data) for name, data in files.items()} | {name: name.removeprefix("files/") for name in stored}
    disclosure = {"events": len(events), "events_withheld": len(events) - len(shown),
                  "originals_included": options.include_originals}
    manifest = _json({"case_id": case.id, "files": dict(sorted(sums.items())), "originals": originals,
                      "disclosure": disclosure})
    manifest_sha = _sha(manifest)
    stamps = request_stamps(timestamp_urls, manifest, timestamp_timeout) if timestamp_urls else []
    for number, stamp in enumerate(stamps, start=1):
        store.put_bytes(stamp.reply)
        files[f"timestamps/manifest.{number}.tsr"] = stamp.reply
    finish = dossier is None
    dossier = dossier or create_dossier(actor, case, options)
    build_dossier(dossier, store, workers, attachment=("manifest.json", manifest),
                  timestamps=[s.describe() for s in stamps], finish=finish)
    files["manifest.json"] = manifest
    files["README.txt"] = README.encode()
    stored["dossier.pdf"] = dossier.sha256
    sums |= {name: _sha(data) for name, data in files.items()} | {"dossier.pdf": dossier.sha256}
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted({*files, *stored}):
            if name in files:
                zf.writestr(name, files[name])
            else:  # images, videos and the PDF are compressed already: stored as they are
                info = zipfile.ZipInfo(name, time.localtime()[:6])
                info.compress_type, info.external_attr = zipfile.ZIP_STORED, 0o644 << 16
                with zf.open(info, "w", force_zip64=True) as member:  # streamed from the store, checked
                    if store.stream_to(stored[name], member) != stored[name]:
                        raise DossierRefused([f"The stored file {stored[name][:16]}… changed while it was packed. "
                                              "Run `reportkit verify` to see what else is affected."])
        zf.writestr("SHA256SUMS", "".join(f"{sums[name]}  {name}\n" for name in sorted(sums)))
    partial.replace(out)
    count = len(files) + len(stored)
    record(actor, case.id, "package.exported", f"case:{case.id}", {
        "manifest_sha256": manifest_sha, "dossier": dossier.document_id, "zip_sha256": file_sha256(out),
        "files": count, "timestamps": [s.describe() for s in stamps],
        "chain": {"length": len(events), "head": events[-1].hash}, **disclosure,
        "originals": [o["sha256"] for o in originals] if options.include_originals else []})
    db.session.commit()
    anchor_head(Path(current_app.config["ANCHOR_LOG"]), case.id, f"package {out.name}")
    return {"manifest_sha256": manifest_sha, "dossier": dossier, "files": count, "timestamps": stamps}


def build_package(dossier: Dossier, store, config) -> Dossier:
    """The job behind "Also make an evidence package": the ZIP around this export's dossier, kept by hash."""
    started, store = time.perf_counter(), as_store(store)
    try:
        dossier.status = "running"
        # owner-only, in the instance
        with private_temp_dir(temp_root(current_app), f"rk-package-{dossier.document_id}-") as tmp:
            out = tmp / dossier.package_filename
            write_package(dossier.created_by, dossier.case, out, store, config["DOSSIER_WORKERS"],
                          urls_from(config["TIMESTAMP_URLS"]), config["TIMESTAMP_TIMEOUT"],
                          DossierOptions.from_json(dossier.options), dossier=dossier)
            sha, _ = store.put_file(out)
            size = out.stat().st_size
        dossier.package_sha256, dossier.package_size = sha, size
        dossier.status, dossier.stage, dossier.progress = "done", "ready", 100
    except Exception as exc:  # noqa: BLE001 - recorded on the job, whatever it was
        db.session.rollback()
        dossier.status, dossier.stage, dossier.error = "failed", "failed", f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        dossier.seconds = round(time.perf_counter() - started, 2)  # the whole job, not only the PDF
        db.session.commit()
    return dossier


def verify_package(path: Path, tsa_roots: list[bytes] | None = None) -> list[str]:
    """Check a package with no database: sums, manifest, the dossier's attachment, names, the event chain,
    and the manifest's timestamps (their signatures; their authority too, given its root certificate)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"not a readable ZIP file: {exc}"]
    with zf:
        names = set(zf.namelist())
        missing = [f"{name} is missing" for name in (*offline.REQUIRED, "dossier.pdf") if name not in names]
        if missing:
            return missing
        problems = offline.check_zip(zf)
        try:
            manifest_bytes = zf.read("manifest.json")
            if _attachment(zf.read("dossier.pdf")) != manifest_bytes:
                problems.append("dossier.pdf does not carry this manifest.json")
            for name in sorted(n for n in names if n.startswith("timestamps/") and n.endswith(".tsr")):
                problems += [f"{name}: {problem}" for problem in check_stamp(zf.read(name), manifest_bytes, tsa_roots)]
        except Exception as exc:  # noqa: BLE001 - a damaged member, a PDF that is none: findings, not a traceback
            problems.append(f"the dossier and the timestamps could not be checked: {type(exc).__name__}: {exc}")
    return problems


def chain_summary(path: Path) -> str:
    """How much of the custody chain a package discloses (after verify_package found no problem)."""
    with zipfile.ZipFile(path) as zf:
        return offline.chain_summary(json.loads(zf.read("events.json")))


def package_stamps(path: Path) -> list:
    """The manifest's timestamps in a package (read, not checked: verify_package checks them)."""
    with zipfile.ZipFile(path) as zf:
        return [read_stamp(zf.read(name)) for name in sorted(zf.namelist())
                if name.startswith("timestamps/") and name.endswith(".tsr")]


def _attachment(pdf: bytes) -> bytes | None:
    import io

    from pypdf import PdfReader

    attachments = PdfReader(io.BytesIO(pdf)).attachments.get("manifest.json")
    return attachments[0] if attachments else None


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
