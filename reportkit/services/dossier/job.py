"""The dossier job: check what may be exported, then render, hash and keep the PDF.

`create_dossier` runs in the request (fast: a row and the checks); `build_dossier` runs in a background
job or the CLI and does the slow part.
"""

import hashlib
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from flask import current_app

from ...extensions import db
from ...models import Case, Dossier, User
from ...models._common import utcnow
from ..custody import anchor_head, current_head, record
from ..errors import ServiceError
from ..evidence import remove_unused_bytes
from ..signing import SigningConfig, sign_pdf
from ..storage import as_store, private_temp_dir, temp_root
from .data import missing_for_dsa, select_entries, selection, snapshot
from .options import DossierOptions
from .pipeline import default_workers, render_dossier


class DossierRefused(ServiceError):
    """What the dossier still lacks, each problem said (the API: `fields.missing`); nothing is made."""

    code = "dossier_incomplete"

    def __init__(self, problems: list[str]):
        super().__init__("The dossier cannot be exported yet: " + "; ".join(problems))
        self.problems = problems
        self.fields = {"missing": problems}


def create_dossier(actor: User | None, case: Case, options: DossierOptions, with_package: bool = False) -> Dossier:
    entries = select_entries(case, options)
    problems = missing_for_dsa(case, entries) if options.mode == "dsa" else []
    if not entries:
        problems.append("No entry matches the chosen options.")
    if problems:
        raise DossierRefused(problems)
    dossier = Dossier(case_id=case.id, created_by_id=actor.id if actor else None, mode=options.mode,
                      options=options.to_json(),
                      document_id=f"RK-{case.id}-{utcnow():%Y%m%d}-{secrets.token_hex(3).upper()}",
                      entry_count=len(entries), with_package=with_package)
    db.session.add(dossier)
    db.session.commit()
    return dossier


def build_dossier(dossier: Dossier, *args, **kwargs) -> Dossier:
    """Render the dossier (`_build_dossier`) while this process's heartbeat holds its row (services/jobs.py):
    from the job queue or the command line, a render no worker beats for is taken for lost."""
    from ..jobs import holding

    with holding(current_app._get_current_object(), "dossier", dossier.id):
        return _build_dossier(dossier, *args, **kwargs)


def _build_dossier(dossier: Dossier, store, workers: int | None = None, timeout: float = 1800,
                   on_progress: Callable[[str, int], None] | None = None,
                   attachment: tuple[str, bytes] | None = None, timestamps: list[dict] | None = None,
                   finish: bool = True) -> Dossier:
    """Render the PDF, store it by hash next to the evidence, and record pages, size and SHA-256.
    With `finish` False (an evidence package is built around it) the job stays running."""
    started = time.perf_counter()

    def progress(stage: str, percent: int) -> None:
        dossier.stage, dossier.progress = stage, percent
        db.session.commit()
        if on_progress:
            on_progress(stage, percent)

    signed_by, store, added = None, as_store(store), []  # storage.app_store(): local or S3
    try:
        dossier.status = "running"
        progress("collecting entries", 2)
        options = DossierOptions.from_json(dossier.options)
        chosen = selection(dossier.case, options)
        data = snapshot(dossier.case, chosen.entries, options, dossier.document_id, dossier.created_at, store,
                        chosen.left_out)
        data["chain"] = {**current_head(dossier.case_id), "case_id": dossier.case_id}  # printed on the cover: an
        # anchor that leaves the tool (`reportkit verify --anchor dossier.pdf`)
        if attachment:  # an evidence package's manifest: carried inside the PDF, its hash printed
            data["attachment"] = {"name": attachment[0], "sha256": hashlib.sha256(attachment[1]).hexdigest(),
                                  "data": attachment[1]}
            data["timestamps"] = [{**t, "time_utc": t["time"][:19].replace("T", " ")} for t in timestamps or []]
        # the PDF: owner-only, never /tmp
        with private_temp_dir(temp_root(current_app), f"rk-pdf-{dossier.document_id}-") as tmp:
            out = tmp / dossier.filename
            result = render_dossier(data, out, default_workers() if workers is None else workers, progress, timeout)
            signing = SigningConfig.from_config(current_app.config)
            if signing:
                progress("signing the PDF", 98)
                signed = out.with_suffix(".signed.pdf")
                signed_by = sign_pdf(out, signed, signing, f"reportkit dossier {dossier.document_id}")
                out = signed
            sha, _ = store.put_file(out, added)
            size = out.stat().st_size
        dossier.sha256, dossier.size, dossier.pages = sha, size, result.pages
        if finish:
            dossier.status, dossier.stage, dossier.progress = "done", "ready", 100
        else:
            dossier.stage = "packing the evidence package"
        record(dossier.created_by, dossier.case_id, "dossier.exported", f"dossier:{dossier.document_id}", {
            "document_id": dossier.document_id, "sha256": sha, "pages": result.pages, "mode": dossier.mode,
            "entries": [e["number"] for e in data["entries"]], "signed_by": signed_by, "chain": data["chain"]})
    except Exception as exc:  # noqa: BLE001 - any failure must be recorded on the job, not lost in a thread
        db.session.rollback()
        remove_unused_bytes(store, added)  # a PDF stored but never recorded
        dossier.status, dossier.stage, dossier.error = "failed", "failed", f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        dossier.seconds = round(time.perf_counter() - started, 2)
        dossier.finished_at = utcnow()
        db.session.commit()
    anchor_head(Path(current_app.config["ANCHOR_LOG"]), dossier.case_id, f"dossier {dossier.document_id}")
    return dossier
