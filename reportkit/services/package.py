"""A self-proving evidence package: a ZIP a recipient can check without our server.

Layout: README.txt, case.json, events.json (the case's hash chain), entries/<n>/entry.json and events.json,
files/<sha256> (originals and derivatives, named by hash), verify.py (reportkit/offline.py: a checker that
needs only Python), manifest.json (every file above with its SHA-256), dossier.pdf (which carries
manifest.json as an attachment and prints its hash), timestamps/ (RFC 3161 replies over the manifest, when
configured), SHA256SUMS (everything, for `sha256sum -c`).
"""

import hashlib
import json
import time
import zipfile
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Case, Dossier, Event
from ..models._common import utcnow
from .. import offline
from . import serialize
from .custody import record
from .dossier.export import DossierOptions, DossierRefused, build_dossier, create_dossier, select_entries
from .storage import EvidenceStore, StoredFileError, file_sha256, private_temp_dir, temp_root
from .timestamps import check as check_stamp
from .timestamps import read as read_stamp
from .timestamps import request_stamps, urls_from

README = """reportkit evidence package
==========================

case.json            the case: subject, accounts
events.json          the case's custody log; each event holds the SHA-256 of the one before it
entries/N/entry.json one catalogued post: URL, times, text, translation, clauses, evidence hashes
entries/N/events.json that entry's events
files/<sha256>       every evidence file and derivative, named by the SHA-256 of its bytes
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


def event_json(ev: Event) -> dict:
    return {**ev.content(), "id": ev.id, "hash": ev.hash}


def write_package(actor, case: Case, out: Path, evidence_dir: str, workers: int | None = None,
                  timestamp_urls: list[str] | None = None, timestamp_timeout: float = 10,
                  options: DossierOptions | None = None, dossier: Dossier | None = None) -> dict:
    """The whole case, or the entries a dossier's options select; written under a .partial name first.
    `dossier`: a queued export row to render the PDF on (from the browser); otherwise one is made."""
    options = options or DossierOptions()
    store = EvidenceStore(evidence_dir)
    entries = select_entries(case, options)
    if not entries:
        raise DossierRefused(["No entry matches the chosen options."])
    # What the app writes is small and kept in memory; stored files (screenshots, videos: gigabytes, maybe)
    # are hashed and zipped from disk in chunks, never read whole.
    files: dict[str, bytes] = {}
    events = list(db.session.scalars(select(Event).where(Event.case_id == case.id).order_by(Event.id)))
    files["case.json"] = _json({**serialize.case(case), "exported_at": serialize.iso(utcnow())})
    files["events.json"] = _json([event_json(e) for e in events])
    hashes = set()
    for entry in entries:
        files[f"entries/{entry.number}/entry.json"] = _json(serialize.entry(entry))
        files[f"entries/{entry.number}/events.json"] = _json([event_json(e) for e in events if e.entry_id == entry.id])
        for ev in entry.evidence:
            if ev.is_file and ev.active:
                hashes |= {ev.sha256, *(d.sha256 for d in ev.derivatives)}
    stored: dict[str, Path] = {f"files/{sha}": store.path_for(sha) for sha in sorted(hashes)}
    for sha in hashes:  # a stored file missing or changed on disk stops the export, named
        try:
            store.open_verified(sha).close()
        except StoredFileError as exc:
            raise DossierRefused([f"{exc} Run `reportkit verify` to see what else is affected."]) from exc
    files["verify.py"] = Path(offline.__file__).read_bytes()  # the recipient's own checker, stdlib only
    sums = {name: _sha(data) for name, data in files.items()} | {name: name.removeprefix("files/") for name in stored}
    manifest = _json({"case_id": case.id, "files": dict(sorted(sums.items()))})
    manifest_sha = _sha(manifest)
    stamps = request_stamps(timestamp_urls, manifest, timestamp_timeout) if timestamp_urls else []
    for number, stamp in enumerate(stamps, start=1):
        store.put_bytes(stamp.reply)
        files[f"timestamps/manifest.{number}.tsr"] = stamp.reply
    finish = dossier is None
    dossier = dossier or create_dossier(actor, case, options)
    build_dossier(dossier, evidence_dir, workers, attachment=("manifest.json", manifest),
                  timestamps=[s.describe() for s in stamps], finish=finish)
    files["manifest.json"] = manifest
    files["README.txt"] = README.encode()
    stored["dossier.pdf"] = store.path_for(dossier.sha256)
    sums |= {name: _sha(data) for name, data in files.items()} | {"dossier.pdf": dossier.sha256}
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted({*files, *stored}):
            if name in files:
                zf.writestr(name, files[name])
            else:  # images, videos and the PDF are compressed already: stored as they are
                zf.write(stored[name], name, compress_type=zipfile.ZIP_STORED)
        zf.writestr("SHA256SUMS", "".join(f"{sums[name]}  {name}\n" for name in sorted(sums)))
    partial.replace(out)
    count = len(files) + len(stored)
    record(actor, case.id, "package.exported", f"case:{case.id}", {
        "manifest_sha256": manifest_sha, "dossier": dossier.document_id, "zip_sha256": file_sha256(out),
        "files": count, "timestamps": [s.describe() for s in stamps],
        "chain": {"length": len(events), "head": events[-1].hash}})
    db.session.commit()
    return {"manifest_sha256": manifest_sha, "dossier": dossier, "files": count, "timestamps": stamps}


def build_package(dossier: Dossier, evidence_dir: str, config) -> Dossier:
    """The job behind "Also make an evidence package": the ZIP around this export's dossier, kept by hash."""
    started = time.perf_counter()
    try:
        dossier.status = "running"
        with private_temp_dir(temp_root(current_app), "rk-package-") as tmp:  # owner-only, in the instance
            out = tmp / dossier.package_filename
            write_package(dossier.created_by, dossier.case, out, evidence_dir, config["DOSSIER_WORKERS"],
                          urls_from(config["TIMESTAMP_URLS"]), config["TIMESTAMP_TIMEOUT"],
                          DossierOptions.from_json(dossier.options), dossier=dossier)
            sha, path = EvidenceStore(evidence_dir).put_file(out)
        dossier.package_sha256, dossier.package_size = sha, path.stat().st_size
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
