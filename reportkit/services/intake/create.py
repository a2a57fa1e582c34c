"""Creating an import from a file: the one path the page, the API and `reportkit import` share.

The file is read and every setting checked before anything is kept; then its bytes go into the store (kept by
hash, like evidence, so the import can be resumed and checked), then the row and its `import.created` event
are committed together. A failure after the bytes were stored removes them again if no row uses them.
"""

from sqlalchemy import update

from ...extensions import db
from ...models import Case, Import, User
from ...models._common import utcnow
from ..custody import lock_case, record
from ..dates import CALENDARS
from ..evidence import remove_unused_bytes
from ..storage import app_store
from .tables import TARGETS, TableError, guess_mapping, read_table, table_kind, zone


def create_import(actor: User | None, case: Case, filename: str, data: bytes, mapping: dict | None = None,
                  timezone: str = "UTC", calendar: str = "auto", allow_other: bool = False,
                  start: bool = False) -> Import:
    """Keep an uploaded CSV or JSON file as an import of `case`. `mapping` ({field: column}) is guessed from the
    column names when None. `start`: the mapping is final and the import is queued (the caller starts the job,
    or runs it: `import_rows`); otherwise it waits for a person to map its columns (`set_mapping`).
    Raises TableError (a ServiceError, with the field it is about) and stores nothing when anything is wrong.
    `actor` is None only for the command line."""
    check_settings(timezone, calendar)
    try:
        headers, rows = read_table(data)
    except TableError as exc:
        exc.field = exc.field or "file"
        raise
    mapping = guess_mapping(headers) if mapping is None else mapping
    check_mapping(mapping, headers, need_url=start)
    store, added = app_store(), []
    sha, _ = store.put_bytes(data, added)  # bytes first, then the row
    try:
        lock_case(case.id)
        job = Import(case_id=case.id, kind=table_kind(data), filename=(filename or "")[:255], file_sha256=sha,
                     mapping=dict(mapping), timezone=timezone, calendar=calendar, allow_other=bool(allow_other),
                     status="queued" if start else "mapping", total=len(rows),
                     created_by_id=getattr(actor, "id", None))
        db.session.add(job)
        db.session.flush()  # its id, for the event
        record(actor, case.id, "import.created", f"import:{job.id}", {
            "kind": job.kind, "filename": job.filename, "file_sha256": sha, "rows": len(rows),
            **({"mapping": job.mapping, "timezone": timezone, "calendar": calendar, "allow_other": job.allow_other}
               if start else {})})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        remove_unused_bytes(store, added)
        raise
    return job


def set_mapping(actor: User, job: Import, headers: list[str], mapping: dict, timezone: str, calendar: str,
                allow_other: bool, start: bool) -> bool:
    """Save the column mapping of an import that waits for one; `start`: queue it with this mapping (recorded as
    `import.mapped`; the caller starts the job). A draft saved for a preview records nothing: the import has not
    changed the case, and the mapping it runs with is recorded when it starts. Returns True when this call
    queued it (False: it was no longer waiting for a mapping, e.g. queued by another request meanwhile)."""
    check_settings(timezone, calendar)
    check_mapping(mapping, headers, need_url=start)
    lock_case(job.case_id)
    values = {"mapping": dict(mapping), "timezone": timezone, "calendar": calendar, "allow_other": bool(allow_other),
              "updated_at": utcnow(), **({"status": "queued"} if start else {})}
    changed = db.session.execute(update(Import).where(Import.id == job.id, Import.status == "mapping")
                                 .values(**values)).rowcount
    if changed and start:
        record(actor, job.case_id, "import.mapped", f"import:{job.id}", {
            "mapping": dict(mapping), "timezone": timezone, "calendar": calendar, "allow_other": bool(allow_other)})
    db.session.commit()
    db.session.refresh(job)
    return bool(changed)


def check_settings(timezone, calendar) -> None:
    if not isinstance(timezone, str) or not timezone.strip():
        raise TableError("Give a time zone, e.g. UTC or Asia/Tehran.", "timezone")
    try:
        zone(timezone)
    except TableError as exc:
        raise TableError(str(exc), "timezone") from None
    if not isinstance(calendar, str) or calendar not in CALENDARS:
        raise TableError(f"Unknown calendar: choose one of {', '.join(CALENDARS)}.", "calendar")


def check_mapping(mapping, headers: list[str], need_url: bool = True) -> None:
    """{field: column}: each field one of TARGETS, each column one of the file's, and the URL's column named."""
    if not isinstance(mapping, dict):
        raise TableError("Give the mapping as {field: column}.", "mapping")
    bad = [f"{str(k)[:40]}={str(v)[:80]}" for k, v in mapping.items() if k not in TARGETS or v not in headers]
    if bad:
        raise TableError(f"Cannot map {', '.join(bad)}: fields are {', '.join(TARGETS)}; columns are "
                         f"{', '.join(headers)}.", "mapping")
    if need_url and "url" not in mapping:
        raise TableError(f"Which column holds the post URL? Map url to one of: {', '.join(headers)}.", "url")
