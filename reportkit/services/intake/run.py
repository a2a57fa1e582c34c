"""Create entries in bulk, fast and without losing a line: every input line or row gets a result.

An intake runs in batches of BATCH lines. Each batch is one transaction: it takes the case's lock, sees the
entries committed since the last batch (another import, a person adding the same post), creates its entries,
records one `import.batch` event naming them, and moves the job's results and counts, all in one commit. So
whatever is committed carries its event and counts that match the case, and a run killed half way stops at
a batch boundary: an import from a file is resumed from its first uncommitted row (`resume_import`).
"""

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from sqlalchemy import func, select, update

from ...extensions import db
from ...models import Case, Clause, Entry, Import, User
from ...models._common import utcnow
from ...models.entries import FIELDS
from ..custody import lock_case, record
from ..dates import DateError, id_time_warning, plausibility_problem
from ..entries import GLOBAL_IDS, DuplicateEntry, EntryError, creation_record, field_problems, new_entry
from ..evidence import attach_archive_link
from ..urls import URLError, not_a_post, parse_post_url
from .extract import extract_urls
from .tables import TARGETS, TableError, archiver_hash, read_time, zone

MAX_PASTE = 5000
BATCH = 500
TEXT_KINDS = ("text", "line", "language", "choice")  # fields a cell holds as it is


class Superseded(RuntimeError):
    """The job is no longer this run's: it was marked interrupted, or resumed by another run."""


class Known(NamedTuple):
    """An entry already in the case, as the duplicate index keeps it (no ORM object to reload after a commit)."""
    id: int
    number: int


class DuplicateIndex:
    """The case's canonical URLs and post ids, in memory, so thousands of lines need no query each.
    `refresh` adds the entries committed since; call it under the case's lock."""

    def __init__(self, case_id: int):
        self.case_id, self.last_number = case_id, 0
        self.by_url: dict[str, Known | Entry] = {}
        self.by_post: dict[tuple[str, str], Known | Entry] = {}
        self.refresh()

    def refresh(self) -> None:
        """Entry numbers are taken under the case's lock, so every entry committed since has a higher one."""
        rows = db.session.execute(select(Entry.id, Entry.number, Entry.canonical_url, Entry.platform, Entry.post_id)
                                  .where(Entry.case_id == self.case_id, Entry.number > self.last_number))
        for row in rows:
            self._put(Known(row.id, row.number), row.canonical_url, row.platform, row.post_id)

    def add(self, entry: Entry) -> None:
        self._put(entry, entry.canonical_url, entry.platform, entry.post_id)

    def settle(self) -> None:
        """After a flush: keep ids and numbers, not the ORM objects that a commit expires."""
        for table in (self.by_url, self.by_post):
            for key, found in table.items():
                if isinstance(found, Entry):
                    table[key] = Known(found.id, found.number)

    def _put(self, found, canonical_url: str, platform: str, post_id: str | None) -> None:
        self.by_url[canonical_url] = found
        if post_id:
            self.by_post[(platform, post_id)] = found
        self.last_number = max(self.last_number, found.number)

    def find(self, post) -> Known | Entry | None:
        found = self.by_url.get(post.canonical)
        if found is None and post.post_id and post.platform in GLOBAL_IDS:
            found = self.by_post.get((post.platform, post.post_id))
        return found


def paste_urls(actor: User, case: Case, text: str, allow_other: bool = False) -> Import:
    """A pasted list, run at once. Nothing keeps the text, so a paste cut short is reported, not resumed.
    `allow_other`: add web pages that are not posts of a known platform (news articles) as platform "other"."""
    lines = extract_urls(text)
    urls = [u for _, _, u in lines if u]
    if len(urls) > MAX_PASTE:
        raise TableError(f"{len(urls)} addresses: paste at most {MAX_PASTE} at a time.")
    job = Import(case_id=case.id, kind="paste", created_by_id=actor.id, status="queued", total=len(lines),
                 allow_other=bool(allow_other))
    db.session.add(job)
    db.session.commit()

    def one(item, index):
        number, line, url = item
        row = {"line": number, "input": line[:500], "url": url or ""}
        if url is None:
            return {**row, "status": "invalid", "reason": "No web address on this line."}, None
        return _create(actor, case, index, url, {}, [], row, allow_other=allow_other)

    return _run(actor, job, lines, one)


def import_rows(actor: User, case: Case, job: Import, headers: list[str], rows: list[list[str]],
                progress: Callable[[int], None] | None = None) -> Import:
    """Run a queued import, or resume one, with the job's column mapping: from the first row without a result
    to the end. A row that cannot become an entry is reported, not dropped."""
    columns = {target: headers.index(col) for target, col in job.mapping.items() if col in headers}
    tz = zone(job.timezone)
    clauses = set(db.session.scalars(select(Clause.key)))
    handles = {a.handle_key: a.id for a in case.accounts}
    allow_other = bool(job.allow_other)
    if job.id is None:
        db.session.add(job)
    job.total = len(rows)
    db.session.commit()

    def one(item, index):
        number, values = item
        get = _getter(values, columns)
        row = {"line": number, "input": get("url")[:500], "url": get("url")}
        try:
            fields, violations, links = _row_fields(get, tz, clauses, handles, job.calendar)
        except (TableError, ValueError, OverflowError) as exc:
            return {**row, "status": "error", "reason": str(exc)}, None
        return _create(actor, case, index, get("url"), fields, violations, row, links, allow_other)

    return _run(actor, job, list(enumerate(rows, start=2)), one, progress)  # row 1 holds the headers


def resume_import(actor: User, job: Import) -> bool:
    """Queue a stopped import again, recorded as `import.resumed` (False when it cannot be, or another request
    did it first: the conditional UPDATE lets one of two clicks through). The caller starts the job."""
    if not job.resumable:
        return False
    lock_case(job.case_id)
    done, attempt = len(job.results), job.attempt
    queued = db.session.execute(update(Import).where(Import.id == job.id, Import.attempt == attempt,
                                                     Import.status.in_(("failed", "interrupted")))
                                .values(status="queued", error="", updated_at=utcnow())).rowcount
    if queued:
        record(actor, job.case_id, "import.resumed", f"import:{job.id}", {"rows_done": done, "attempt": attempt})
    db.session.commit()
    return bool(queued)


def _run(actor: User, job: Import, items: Sequence, one: Callable, progress: Callable[[int], None] | None = None
         ) -> Import:
    """Take the job (queued -> running, as a new attempt), then commit it batch by batch, then close it."""
    job_id, case_id = job.id, job.case_id
    attempt = db.session.execute(update(Import).where(Import.id == job_id, Import.status == "queued")
                                 .values(status="running", attempt=Import.attempt + 1, error="", updated_at=utcnow())
                                 .returning(Import.attempt)).scalar_one_or_none()
    db.session.commit()
    if attempt is None:
        raise Superseded(f"Import {job_id} is not queued: another run has it, or it has ended.")
    try:
        index = None
        while True:
            lock_case(case_id)  # first in every transaction: what follows sees every committed entry of the case
            job = _owned(job_id, attempt)
            done = len(job.results)
            if done >= len(items):
                break
            if index is None:
                index = DuplicateIndex(case_id)
            else:
                index.refresh()
            with db.session.no_autoflush:  # one flush per batch, not one per line
                pending = [one(item, index) for item in items[done:done + BATCH]]
            _commit_batch(actor, job, pending, len(items), attempt, index)
            if progress:
                progress(done + len(pending))
        _close(actor, job)
    except Superseded:
        raise
    except Exception as exc:
        db.session.rollback()  # the batch under way; the committed ones stay, with their events and counts
        stop_import(job_id, attempt, "failed", f"{type(exc).__name__}: {exc}", ("running",))
        raise
    return job


def stop_import(job_id: int, attempt: int, status: str, error: str, current=("queued", "running"), before=None
                ) -> bool:
    """Mark a job stopped if it is still in a `current` status with this attempt number (and, given `before`,
    has shown no sign of life since): never a job that finished or that another run has taken meanwhile."""
    alive = Import.id == job_id, Import.attempt == attempt, Import.status.in_(current)
    if before is not None:
        alive += (func.coalesce(Import.updated_at, Import.created_at) < before,)
    stopped = db.session.execute(update(Import).where(*alive).values(status=status, error=error[:2000])).rowcount
    db.session.commit()
    return bool(stopped)


def _owned(job_id: int, attempt: int) -> Import:
    job = db.session.get(Import, job_id, with_for_update=True, populate_existing=True)
    if job.attempt != attempt or job.status != "running":
        db.session.rollback()
        raise Superseded(f"Import {job_id} was stopped or taken over by another run.")
    return job


def _commit_batch(actor: User, job: Import, pending: list[tuple[dict, Known | Entry | None]], total: int,
                  attempt: int, index: DuplicateIndex) -> None:
    made = [{"number": e.number, **creation_record(e)} for r, e in pending if r["status"] == "created"]  # before
    db.session.flush()  # the flush (which gives the new entries their ids): new entries read nothing back yet
    results = [{**row, "entry_id": e.id if e else None, "entry_number": e.number if e else None}
               for row, e in pending]
    index.settle()
    created = [r["entry_number"] for r in results if r["status"] == "created"]
    duplicates = sum(1 for r in results if r["status"] == "duplicate")
    job.results = [*job.results, *results]  # a new list, so the JSON column is written
    job.created += len(created)
    job.duplicates += duplicates
    job.failed += len(results) - len(created) - duplicates
    job.progress = min(99, 100 * len(job.results) // max(1, total))
    record(actor, job.case_id, "import.batch", f"import:{job.id}", {
        "lines": [results[0]["line"], results[-1]["line"]], "created": created, "duplicates": duplicates,
        "problems": len(results) - len(created) - duplicates, "attempt": attempt,
        "entries": made})
    db.session.commit()


def _close(actor: User, job: Import) -> None:
    """Under the lock taken by the last look at the job: one summary of every batch, and the job is done."""
    job.status, job.progress, job.finished_at = "done", 100, utcnow()
    record(actor, job.case_id, "import.run", f"import:{job.id}", {
        "kind": job.kind, "file_sha256": job.file_sha256,
        "created": [r["entry_number"] for r in job.results if r["status"] == "created"],
        "duplicates": job.duplicates, "problems": job.failed, "attempts": job.attempt})
    db.session.commit()


def _getter(values: list[str], columns: dict[str, int]) -> Callable[[str], str]:
    """The row's cell for a target field ("" when no column is mapped to it)."""
    return lambda target: values[columns[target]].strip() if target in columns else ""


def _row_fields(get, tz, clauses: set[str], handles: dict[str, int], calendar: str = "auto"):
    if not get("url"):
        raise TableError("The row has no URL.")
    # every entry field a column can be mapped to (tables.TARGETS), read as text; the service checks them all
    fields = {name: get(name) for name, spec in FIELDS.items() if name in TARGETS and spec.kind in TEXT_KINDS}
    for name in fields:
        if FIELDS[name].kind == "choice":
            fields[name] = fields[name].lower()  # "Human" in a spreadsheet is the key "human"
    fields["posted_at"] = _posted_at(get, tz, calendar)
    fields["tags"] = [t for t in get("tags").replace(";", ",").split(",") if t.strip()]
    handle = get("account").lstrip("@").lower()
    if handle:
        if handle not in handles:
            raise TableError(f"The case has no account @{handle}.")
        fields["account_id"] = handles[handle]
    if get("captured_at"):
        fields["captured_at"] = _archived_at(get, tz, calendar)
    links, kept = _archive_links(get)
    archiver = [f"{label}: {value}" for label, value in (
        ("title", get("title")), ("archiver status", get("archive_status")),
        ("archiver hash", archiver_hash(get("hash"))), *kept) if value]
    if archiver:
        fields["notes"] = "\n".join(filter(None, [fields["notes"], *archiver]))
    keys = [k.strip() for k in get("clause").split(";") if k.strip()]
    unknown = [k for k in keys if k not in clauses]
    if unknown:
        raise TableError(f"Unknown clause key {', '.join(unknown)}.")
    if keys and not get("rationale"):
        raise TableError("A clause needs a rationale in the same row.")
    return fields, [(k, get("rationale")) for k in keys], links


LINK_COLUMNS = (("archive_url", "archive location"), ("wacz_url", "WACZ"), ("replay_url", "replay page"),
                ("screenshot_url", "screenshot"), ("thumbnail_url", "thumbnail"))
_IMAGE_FORMULA = re.compile(r'^=IMAGE\(\s*"([^"]+)"', re.IGNORECASE)  # the archiver's sheet shows thumbnails so


def _archive_links(get) -> tuple[list[str], list[tuple[str, str]]]:
    """The row's archive addresses (kept as links, never fetched), each once; what is not a web address, or
    loses part of itself as a link (a replay page's #fragment), is kept word for word for the notes."""
    links, kept = [], []
    for key, label in LINK_COLUMNS:
        value = get(key)
        found = _IMAGE_FORMULA.match(value)
        address = found.group(1) if found else value
        if not address:
            continue
        if not address.lower().startswith(("http://", "https://")):
            kept.append((f"{label} (not a web address)", value))
            continue
        try:
            canonical = parse_post_url(address).canonical
        except URLError:
            canonical = address  # a broken web address: `_create` refuses the row, saying why
        if canonical not in links:
            links.append(canonical)
        if canonical.rstrip("/") != address.rstrip("/") and "#" in address:
            kept.append((label, address))
    return links, kept


def _archived_at(get, tz, calendar: str):
    """When the archiver captured the post: the entry's capture time (UTC)."""
    try:
        found = read_time(get("captured_at"), tz, calendar)
    except DateError as exc:
        raise TableError(f"The archive date: {exc}") from exc
    except (ValueError, OverflowError) as exc:
        raise TableError(f"The archive date “{get('captured_at')[:80]}” cannot be read.") from exc
    return found.utc if found else None


def _posted_at(get, tz, calendar: str):
    """The row's post time in UTC. An impossible one (before the platform existed, in the future: often a Solar
    Hijri date read as Gregorian) refuses the row, with the reason: it is never stored silently."""
    try:
        found = read_time(get("posted_at"), tz, calendar)
    except DateError as exc:
        raise TableError(str(exc)) from exc
    except (ValueError, OverflowError) as exc:
        raise TableError(f"The date “{get('posted_at')[:80]}” cannot be read.") from exc
    if found is None:
        return None
    try:
        platform = parse_post_url(get("url")).platform
    except URLError:
        platform = "other"
    problem = plausibility_problem(found.utc, platform)
    if problem:
        raise TableError(f"The date “{get('posted_at')[:80]}” was read as {found.description}, and {problem} "
                         "The row is not imported: choose the calendar of the file's dates, or correct the date.")
    return found.utc


def _create(actor, case, index, url, fields, violations, row, links=(), allow_other=False
            ) -> tuple[dict, Entry | None]:
    try:
        post = parse_post_url(url)
    except URLError as exc:
        return {**row, "status": "invalid", "reason": str(exc)}, None
    reason = not_a_post(post)
    if reason and not (allow_other and post.platform == "other"):
        return {**row, "status": "invalid", "reason": f"{reason}."}, None  # shown after "Not a post URL: "
    existing = index.find(post)
    if existing is not None:
        return {**row, "status": "duplicate", "reason": "Already in the case."}, existing
    try:
        for link in links:  # checked before the entry exists: a refused row must leave nothing behind
            parse_post_url(link)
        entry = new_entry(actor, case, url, fields, violations, index)  # recorded in the batch's event
        for link in links:
            attach_archive_link(actor, entry, link)
    except DuplicateEntry as exc:
        return {**row, "status": "duplicate", "reason": "Already in the case."}, exc.existing
    except (EntryError, URLError) as exc:
        return {**row, "status": "invalid", "reason": str(exc)}, None
    index.add(entry)
    return {**row, "status": "created", "reason": entry.posted_at_warning}, entry


def preview_rows(case: Case, job: Import, headers: list[str], rows: list[list[str]]) -> list[dict]:
    """What the import would do with these rows, without creating anything."""
    columns = {target: headers.index(col) for target, col in job.mapping.items() if col in headers}
    tz = zone(job.timezone)
    clauses = set(db.session.scalars(select(Clause.key)))
    handles = {a.handle_key: a.id for a in case.accounts}
    index, out = DuplicateIndex(case.id), []
    for number, values in enumerate(rows, start=2):
        get = _getter(values, columns)
        problems = []
        try:
            fields, violations, _ = _row_fields(get, tz, clauses, handles, job.calendar)
            problems.extend(field_problems(fields).values())  # what the import will refuse the row for
            post = parse_post_url(get("url"))
            read = read_time(get("posted_at"), tz, job.calendar)
            conversion = read.description if read and read.converted else ""
            warning = id_time_warning(fields.get("posted_at"), post.posted_at)
            if index.find(post) is not None:
                problems.append("already in the case (will be reported as a duplicate)")
            reason = not_a_post(post)
            if reason and not (job.allow_other and post.platform == "other"):
                problems.append(f"not a post URL: {reason}")
        except (TableError, URLError, ValueError, OverflowError) as exc:
            fields, violations, post, conversion, warning = {}, [], None, "", ""
            problems.append(str(exc))
        out.append({"line": number, "url": get("url"), "canonical": post.canonical if post else "",
                    "posted_at": fields.get("posted_at"), "clauses": [k for k, _ in violations],
                    "text": get("text")[:120], "problems": problems, "conversion": conversion,
                    "warnings": [warning] if warning else []})
    return out
