"""The entries of a case, filtered and sorted as on the case page and in the API (one query for both)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Clause, Entry, Evidence, Tag, Violation

SORTS = {
    "posted_desc": (Entry.posted_at.desc(), Entry.number.desc()),
    "posted_asc": (Entry.posted_at.asc(), Entry.number.asc()),
    "number_asc": (Entry.number.asc(),),
    "number_desc": (Entry.number.desc(),),
    "captured_desc": (Entry.captured_at.desc(), Entry.number.desc()),
}


@dataclass
class EntryFilter:
    account_id: int | None = None
    platform: str = ""
    clause: str = ""
    tag: str = ""
    language: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    status: str = ""
    filing: str = ""  # a key of FILING_FILTERS: where reporting stands (issue 17)
    sort: str = "number_desc"
    zone: tzinfo = UTC  # the days of date_from/date_to are the reader's days (dossiers: UTC)


def entry_query(case_id: int, f: EntryFilter) -> Select:
    query = select(Entry).where(Entry.case_id == case_id, Entry.withdrawn_at.is_(None))
    if f.account_id:
        query = query.where(Entry.account_id == f.account_id)
    if f.platform:
        query = query.where(Entry.platform == f.platform)
    if f.language:
        query = query.where(Entry.language == f.language)
    if f.status:
        query = query.where(Entry.status == f.status)
    if f.filing:
        query = query.where(_filing_condition(f.filing))
    if f.tag:
        query = query.where(Entry.id.in_(select(Tag.entry_id).where(Tag.name == f.tag.strip().lower())))
    if f.clause:
        query = query.where(Entry.id.in_(
            select(Violation.entry_id).join(Clause).where(Clause.key == f.clause)))
    if f.date_from:
        query = query.where(Entry.posted_at >= _utc(f.date_from, f.zone))
    if f.date_to:
        query = query.where(Entry.posted_at < _utc(f.date_to + timedelta(days=1), f.zone))
    if f.q.strip():
        like = f"%{_escape_like(f.q.strip())}%"
        query = query.where(or_(Entry.text.ilike(like, escape="\\"), Entry.translation.ilike(like, escape="\\"),
                                Entry.notes.ilike(like, escape="\\"), Entry.canonical_url.ilike(like, escape="\\")))
    query = query.order_by(*SORTS.get(f.sort, SORTS["number_desc"]))
    return query.options(
        selectinload(Entry.violations).selectinload(Violation.clause).selectinload(Clause.policy),
        selectinload(Entry.tags),
        selectinload(Entry.account),
        selectinload(Entry.evidence).selectinload(Evidence.derivatives),
    )


def clause_counts(case_id: int) -> list[tuple[Clause, int]]:
    rows = db.session.execute(
        select(Clause, func.count(Violation.id))
        .join(Violation, Violation.clause_id == Clause.id)
        .join(Entry, Entry.id == Violation.entry_id)
        .where(Entry.case_id == case_id)
        .group_by(Clause.id)
        .order_by(func.count(Violation.id).desc())
    ).all()
    return [(clause, count) for clause, count in rows]


def _utc(day: date, zone: tzinfo = UTC) -> datetime:
    """The UTC instant the day begins in `zone`."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def status_counts(case_id: int) -> dict[str, int]:
    rows = db.session.execute(select(Entry.status, func.count(Entry.id)).where(Entry.case_id == case_id)
                              .group_by(Entry.status)).all()
    return dict(rows)


FILING_FILTERS = {"not_filed": "Not reported yet", "filed": "Reported", "no_answer": "Reported, no decision yet",
                  "decided": "The platform decided", "appealed": "Appealed or escalated"}


def _filing_condition(key: str):
    """Entries where reporting stands at `key` (services/filings.entry_status says it per entry)."""
    from ..models import Appeal, Decision, Filing
    from ..models.filings import filing_entry

    filed = Entry.id.in_(select(filing_entry.c.entry_id))
    decided = Entry.id.in_(select(Decision.entry_id).where(Decision.no_answer.is_(False)))
    appealed = Entry.id.in_(select(Appeal.entry_id).where(Appeal.entry_id.is_not(None))) | Entry.id.in_(
        select(filing_entry.c.entry_id).join(Filing, Filing.id == filing_entry.c.filing_id)
        .join(Appeal, (Appeal.filing_id == Filing.id) & Appeal.entry_id.is_(None)))
    return {"not_filed": ~filed, "filed": filed, "no_answer": filed & ~decided, "decided": decided,
            "appealed": appealed}[key]
