"""Create entries in bulk, fast and without losing a line: every input line or row gets a result."""

from collections.abc import Callable

from sqlalchemy import select

from ...extensions import db
from ...models import Case, Clause, Entry, Import, User
from ...models._common import utcnow
from ..entries import DuplicateEntry, EntryError, create_entry
from ..custody import record
from ..evidence import add_archive_link
from ..urls import URLError, parse_post_url
from .extract import extract_urls
from .tables import TableError, parse_time, zone

MAX_PASTE = 5000
BATCH = 500


class DuplicateIndex:
    """The case's canonical URLs and post ids, in memory, so thousands of lines need no query each."""

    def __init__(self, case_id: int):
        self.by_url: dict[str, Entry] = {}
        self.by_post: dict[tuple[str, str], Entry] = {}
        for entry in db.session.scalars(select(Entry).where(Entry.case_id == case_id)):
            self.add(entry)

    def add(self, entry: Entry) -> None:
        self.by_url[entry.canonical_url] = entry
        if entry.post_id:
            self.by_post[(entry.platform, entry.post_id)] = entry

    def find(self, post) -> Entry | None:
        from ..entries import GLOBAL_IDS

        found = self.by_url.get(post.canonical)
        if found is None and post.post_id and post.platform in GLOBAL_IDS:
            found = self.by_post.get((post.platform, post.post_id))
        return found


def paste_urls(actor: User, case: Case, text: str) -> Import:
    lines = extract_urls(text)
    urls = [u for _, _, u in lines if u]
    if len(urls) > MAX_PASTE:
        raise TableError(f"{len(urls)} addresses: paste at most {MAX_PASTE} at a time.")
    job = Import(case_id=case.id, kind="paste", created_by_id=actor.id, status="running", total=len(lines))
    db.session.add(job)
    index, pending = DuplicateIndex(case.id), []
    with db.session.no_autoflush:  # one flush at the end, not one per line
        for number, line, url in lines:
            row = {"line": number, "input": line[:500], "url": url or ""}
            if url is None:
                pending.append(({**row, "status": "invalid", "reason": "No web address on this line."}, None))
                continue
            pending.append(_create(actor, case, index, url, {}, [], row))
    _finish(job, pending)
    return job


def import_rows(actor: User, case: Case, job: Import, headers: list[str], rows: list[list[str]],
                progress: Callable[[int], None] | None = None) -> Import:
    """Run an import with the job's column mapping; a row that cannot become an entry is reported, not dropped."""
    columns = {target: headers.index(col) for target, col in job.mapping.items() if col in headers}
    tz = zone(job.timezone)
    clauses = set(db.session.scalars(select(Clause.key)))
    handles = {a.handle_key: a.id for a in case.accounts}
    index, pending = DuplicateIndex(case.id), []
    job.status, job.total = "running", len(rows)
    db.session.commit()
    with db.session.no_autoflush:
        _import_loop(actor, case, rows, columns, tz, clauses, handles, index, pending, progress)
    _finish(job, pending)
    return job


def _import_loop(actor, case, rows, columns, tz, clauses, handles, index, pending, progress) -> None:
    for number, values in enumerate(rows, start=2):  # row 1 holds the headers
        get = lambda target: values[columns[target]].strip() if target in columns else ""  # noqa: E731
        row = {"line": number, "input": get("url")[:500], "url": get("url")}
        try:
            fields, violations, links = _row_fields(get, tz, clauses, handles)
        except (TableError, ValueError, OverflowError) as exc:
            pending.append(({**row, "status": "error", "reason": str(exc)}, None))
            continue
        pending.append(_create(actor, case, index, get("url"), fields, violations, row, links))
        if len(pending) % BATCH == 0 and progress:
            progress(len(pending))


def _row_fields(get, tz, clauses: set[str], handles: dict[str, int]):
    if not get("url"):
        raise TableError("The row has no URL.")
    fields = {name: get(name) for name in ("text", "language", "translation", "notes")}
    method = get("translation_method").lower()
    if method and method not in ("human", "machine"):
        raise TableError(f"Translation method must be human or machine, not “{method}”.")
    fields["translation_method"] = method
    try:
        fields["posted_at"] = parse_time(get("posted_at"), tz)
    except (ValueError, OverflowError) as exc:
        raise TableError(f"The date “{get('posted_at')}” cannot be read.") from exc
    fields["tags"] = [t for t in get("tags").replace(";", ",").split(",") if t.strip()]
    handle = get("account").lstrip("@").lower()
    if handle:
        if handle not in handles:
            raise TableError(f"The case has no account @{handle}.")
        fields["account_id"] = handles[handle]
    archiver = [f"{label}: {get(key)}" for key, label in (("archive_status", "archiver status"),
                                                            ("hash", "archiver hash")) if get(key)]
    if archiver:
        fields["notes"] = "\n".join(filter(None, [fields["notes"], *archiver]))
    keys = [k.strip() for k in get("clause").split(";") if k.strip()]
    unknown = [k for k in keys if k not in clauses]
    if unknown:
        raise TableError(f"Unknown clause key {', '.join(unknown)}.")
    if keys and not get("rationale"):
        raise TableError("A clause needs a rationale in the same row.")
    links = [get(k) for k in ("archive_url", "screenshot_url") if get(k).startswith(("http://", "https://"))]
    return fields, [(k, get("rationale")) for k in keys], links


def _create(actor, case, index, url, fields, violations, row, links=()) -> tuple[dict, Entry | None]:
    try:
        post = parse_post_url(url)
    except URLError as exc:
        return {**row, "status": "invalid", "reason": str(exc)}, None
    existing = index.find(post)
    if existing is not None:
        return {**row, "status": "duplicate", "reason": "Already in the case."}, existing
    try:
        entry = create_entry(actor, case, url, fields, violations, commit=False, known=index, log=False)
        for link in links:
            add_archive_link(actor, entry, link, commit=False, log=False)
    except DuplicateEntry as exc:
        return {**row, "status": "duplicate", "reason": "Already in the case."}, exc.existing
    except (EntryError, URLError) as exc:
        return {**row, "status": "invalid", "reason": str(exc)}, None
    index.add(entry)
    return {**row, "status": "created", "reason": ""}, entry


def _finish(job: Import, pending: list[tuple[dict, Entry | None]]) -> None:
    """One event for the whole intake (an event per row would make bulk intake crawl): it lists what it made."""
    db.session.flush()  # gives the new entries their ids
    job.results = [{**row, "entry_id": e.id if e else None, "entry_number": e.number if e else None}
                   for row, e in pending]
    job.created = sum(1 for r in job.results if r["status"] == "created")
    job.duplicates = sum(1 for r in job.results if r["status"] == "duplicate")
    job.failed = len(job.results) - job.created - job.duplicates
    job.status, job.progress, job.finished_at = "done", 100, utcnow()
    record(job.created_by or db.session.get(User, job.created_by_id), job.case_id, "import.run", f"import:{job.id}", {
        "kind": job.kind, "file_sha256": job.file_sha256, "created": [e.number for r, e in pending
                                                                      if r["status"] == "created"],
        "duplicates": job.duplicates, "problems": job.failed})
    db.session.commit()


def preview_rows(case: Case, job: Import, headers: list[str], rows: list[list[str]]) -> list[dict]:
    """What the import would do with these rows, without creating anything."""
    columns = {target: headers.index(col) for target, col in job.mapping.items() if col in headers}
    tz = zone(job.timezone)
    clauses = set(db.session.scalars(select(Clause.key)))
    handles = {a.handle_key: a.id for a in case.accounts}
    index, out = DuplicateIndex(case.id), []
    for number, values in enumerate(rows, start=2):
        get = lambda target: values[columns[target]].strip() if target in columns else ""  # noqa: E731
        problems = []
        try:
            fields, violations, _ = _row_fields(get, tz, clauses, handles)
            post = parse_post_url(get("url"))
            if index.find(post) is not None:
                problems.append("already in the case (will be reported as a duplicate)")
            if post.platform != "other" and not post.is_post:
                problems.append("not the address of one post")
        except (TableError, URLError, ValueError, OverflowError) as exc:
            fields, violations, post = {}, [], None
            problems.append(str(exc))
        out.append({"line": number, "url": get("url"), "canonical": post.canonical if post else "",
                    "posted_at": fields.get("posted_at"), "clauses": [k for k, _ in violations],
                    "text": get("text")[:120], "problems": problems})
    return out
