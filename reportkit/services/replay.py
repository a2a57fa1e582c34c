"""Rebuild every entry of a case from its events and compare the result with the rows.

The hash chain proves that events were not changed or removed. But the app shows and exports the *rows*, and
someone with database access can change a row (an entry's URL or text, an evidence row pointed at other bytes,
an evidence row deleted with its file) without touching an event. So `verify` replays the history: an entry's
URL, fields, clauses, files, links, status, approvals and withdrawals, rebuilt from its events, must equal the
rows, and every row must have the event that made it.

What replay cannot check: fields of entries whose creation event predates full creation records (only fields
edited since are compared), and entries created by a bulk import before its batch events named each entry's
record (only their later history is compared). Such entries are counted (`Replay.partial`).
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from ..extensions import db
from ..models import Approval, Case, Entry, Event

CREATED_IN_BULK = ("import.batch", "import.run")


@dataclass
class History:
    """What an entry's events say it is."""

    number: int | None = None
    created: bool = False
    url: str | None = None
    fields: dict = field(default_factory=dict)
    complete: bool = False  # the creation event held every field
    clauses: dict = field(default_factory=dict)  # key -> rationale (None: not recorded)
    rationales_en: dict = field(default_factory=dict)  # key -> English version of the rationale ("" none)
    files: Counter = field(default_factory=Counter)  # sha256 of uploaded originals
    prints: Counter = field(default_factory=Counter)
    links: Counter = field(default_factory=Counter)
    withdrawn_files: set = field(default_factory=set)
    purged_files: set = field(default_factory=set)
    approvals: Counter = field(default_factory=Counter)  # (user id, round)
    approved_hashes: Counter = field(default_factory=Counter)  # (user id, round, evidence hashes approved)
    file_meta: Counter = field(default_factory=Counter)  # (sha256, name, size, mime) as uploaded
    notes: Counter = field(default_factory=Counter)  # (kind, body) of notes and change requests
    regions: Counter = field(default_factory=Counter)  # evidence id -> regions drawn on it
    marked: dict = field(default_factory=dict)  # evidence id -> sha256 of its marked copy (None: none)
    status: str = "draft"
    withdrawn: bool = False


@dataclass
class Replay:
    problems: list[str] = field(default_factory=list)
    entries: int = 0
    partial: int = 0  # entries whose creation is known only by number (older events)


def replay_case(case_id: int) -> Replay:
    out = Replay()
    out.problems += _compare_case(case_id)
    rows = {e.id: e for e in db.session.scalars(select(Entry).where(Entry.case_id == case_id))}
    by_number = {e.number: e.id for e in rows.values()}
    histories: dict[int, History] = {}
    bulk_numbers: set[int] = set()
    for ev in db.session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id)):
        if ev.action in CREATED_IN_BULK:
            bulk_numbers.update(ev.data.get("created") or [])
            for detail in ev.data.get("entries") or []:  # an import's batch names each entry it created
                if detail.get("number") in by_number:
                    _created(histories.setdefault(by_number[detail["number"]], History()), detail, detail["number"])
        elif ev.entry_id is not None:
            _apply(histories.setdefault(ev.entry_id, History()), ev)
    for entry_id in sorted(set(histories) - set(rows)):
        if histories[entry_id].created:
            out.problems.append(f"entry id {entry_id}: its events exist but the entry row is missing (deleted)")
    for entry in sorted(rows.values(), key=lambda e: e.number):
        out.entries += 1
        history = histories.get(entry.id, History())
        if not history.created:
            if entry.number not in bulk_numbers:
                out.problems.append(f"entry #{entry.number}: no event created it (added behind the application)")
                continue
            out.partial += 1
        out.problems += [f"entry #{entry.number}: {p}" for p in _compare(entry, history)]
    return out


def _apply(h: History, ev: Event) -> None:
    d = ev.data or {}
    if ev.action == "entry.created":
        _created(h, d, _number(ev.target))
    elif ev.action == "entry.edited":
        h.fields.update({k: after for k, (_before, after) in d.items()})
    elif ev.action == "clause.mapped":
        h.clauses[d.get("clause")] = d.get("rationale")
        h.rationales_en[d.get("clause")] = d.get("rationale_en", "")
    elif ev.action == "clause.rationale_en":
        h.rationales_en[d.get("clause")] = (d.get("rationale_en") or ["", ""])[1]
    elif ev.action == "clause.unmapped":
        h.clauses.pop(d.get("clause"), None)
        h.rationales_en.pop(d.get("clause"), None)
    elif ev.action == "evidence.uploaded":
        h.files[d.get("sha256")] += 1
        h.file_meta[(d.get("sha256"), d.get("name"), d.get("size"), d.get("mime"))] += 1
        if d.get("print_copy"):
            h.prints[d["print_copy"]] += 1
    elif ev.action == "evidence.linked":
        h.links[d.get("url")] += 1
    elif ev.action == "evidence.withdrawn":
        h.withdrawn_files.add(_number(ev.target))
    elif ev.action == "evidence.purged":
        h.purged_files.add(_number(ev.target))
        h.withdrawn_files.add(_number(ev.target))
        h.prints -= Counter(d.get("derivatives") or [])
    elif ev.action == "status.changed":
        h.status = d.get("to", h.status)
        if h.status == "changes_requested":
            h.notes[("change_request", ev.explanation)] += 1
    elif ev.action == "entry.approved":
        h.approvals[(ev.actor_id, d.get("round"))] += 1
        h.approved_hashes[(ev.actor_id, d.get("round"), tuple(sorted(d.get("evidence_sha256") or [])))] += 1
        if ev.explanation:
            h.notes[("approval_note", ev.explanation)] += 1
    elif ev.action == "annotation.added":
        h.notes[(d.get("kind"), d.get("body"))] += 1
    elif ev.action in ("region.added", "region.removed"):
        h.regions[_number(ev.target)] += 1 if ev.action == "region.added" else -1
    elif ev.action == "evidence.marked":
        h.marked[_number(ev.target)] = d.get("sha256")
    elif ev.action == "entry.withdrawn":
        h.withdrawn = True


def _created(h: History, d: dict, number: int | None) -> None:
    """A creation record (services.entries.creation_record; older events hold less of it)."""
    h.created, h.url, h.number = True, d.get("url"), number
    if "fields" in d:
        h.fields, h.complete = dict(d["fields"]), True
    rationales = d.get("rationales") or {}
    h.clauses = {k: rationales.get(k) for k in d.get("clauses") or []}
    h.rationales_en = {k: (d.get("rationales_en") or {}).get(k, "") for k in d.get("clauses") or []}
    h.links.update(d.get("links") or [])


def _compare(entry: Entry, h: History) -> list[str]:
    problems = []
    if h.created and entry.canonical_url != h.url:
        problems.append(f"its URL is {entry.canonical_url}, but its history says {h.url}")
    if h.number is not None and entry.number != h.number:
        problems.append(f"its number was #{h.number} in its history")
    now = entry.snapshot()
    for name, value in sorted(h.fields.items()):
        if name in now and _norm(now[name], name) != _norm(value, name):
            problems.append(f"its {name.replace('_', ' ')} differs from its history")
    if h.created or h.clauses:
        have = {v.clause.key: v.rationale for v in entry.violations}
        if set(have) != set(h.clauses) and h.created:
            problems.append(f"its clauses are {sorted(have)}, but its history says {sorted(h.clauses)}")
        for key, rationale in h.clauses.items():
            if rationale is not None and key in have and have[key] != rationale:
                problems.append(f"the rationale for {key} differs from its history")
        english = {v.clause.key: v.rationale_en for v in entry.violations}
        for key, text in h.rationales_en.items():
            if key in english and english[key] != text:
                problems.append(f"the English rationale for {key} differs from its history")
    files = [e for e in entry.evidence if e.sha256]
    if Counter(e.sha256 for e in files) != h.files and (h.created or h.files):
        problems.append("its evidence files differ from its upload events (a file added, removed or repointed)")
    prints = Counter(d.sha256 for e in files for d in e.derivatives if d.purpose == "print")
    if prints != +h.prints and (h.created or h.prints):
        problems.append("its print copies differ from its upload events")
    links = Counter(e.archive_url for e in entry.evidence if e.kind == "archive_link")
    if h.created and links != h.links:
        problems.append("its archive links differ from its history")
    for ev in entry.evidence:
        if (ev.withdrawn_at is not None) != (ev.id in h.withdrawn_files) and (h.created or ev.withdrawn_at):
            problems.append(f"evidence {ev.id}: withdrawn in the rows and in the history do not agree")
        if (ev.purged_at is not None) != (ev.id in h.purged_files):
            problems.append(f"evidence {ev.id}: purged in the rows and in the history do not agree")
    if h.created and entry.status != h.status:
        problems.append(f"its status is {entry.status}, but its history says {h.status}")
    if (entry.withdrawn_at is not None) != h.withdrawn:
        problems.append("withdrawn in the rows and in the history do not agree")
    approvals = list(db.session.scalars(select(Approval).where(Approval.entry_id == entry.id)))
    if Counter((a.user_id, a.review_round) for a in approvals) != h.approvals and (h.created or h.approvals):
        problems.append("its approvals differ from its approval events")
    elif Counter((a.user_id, a.review_round, tuple(sorted(a.evidence_sha256 or []))) for a in approvals) \
            != h.approved_hashes and (h.created or h.approvals):
        problems.append("the evidence hashes its approvals cover differ from its approval events")
    if Counter((e.sha256, e.original_name, e.size, e.mime) for e in files) != h.file_meta and h.file_meta:
        problems.append("its files' names, sizes or types differ from their upload events")
    if Counter((n.kind, n.body) for n in entry.annotations) != h.notes and (h.created or h.notes):
        problems.append("its notes or change requests differ from its history")
    for ev in files:
        marked = ev.marked_copy
        if len(ev.regions) != h.regions[ev.id] and (h.created or ev.regions):
            problems.append(f"evidence {ev.id}: its regions differ from its history (a redaction added or removed)")
        if (marked is not None) != bool(ev.regions):
            problems.append(f"evidence {ev.id}: a marked copy {'without' if marked else 'missing for its'} regions")
        if ev.id in h.marked and (marked.sha256 if marked else None) != h.marked[ev.id]:
            problems.append(f"evidence {ev.id}: its marked copy is not the one recorded (a redaction undone?)")
    return problems


def _compare_case(case_id: int) -> list[str]:
    """The case's own fields and its members, against case.created, case.edited and member events."""
    fields: dict = {}
    members: dict[int, str] = {}
    names: dict[int, str] = {}
    for ev in db.session.scalars(select(Event).where(Event.case_id == case_id, Event.entry_id.is_(None),
                                                     Event.action.like("case.%") | Event.action.like("member.%"))
                                 .order_by(Event.id)):
        d, user_id = ev.data or {}, _number(ev.target)
        if ev.action == "case.created":
            fields.update({"title": d.get("title"), "subject": d.get("subject"), **(d.get("settings") or {})})
            members[ev.actor_id] = "owner"
        elif ev.action == "case.edited":
            fields.update({k: after for k, (_before, after) in d.items()})
        elif ev.action == "member.added":
            members[user_id] = d.get("role")
        elif ev.action == "member.role_changed":
            members[user_id] = (d.get("role") or [None, None])[1]
        elif ev.action == "member.removed":
            members.pop(user_id, None)
        elif ev.action == "member.export_name":
            names[user_id] = d.get("export_name", "")
    case = db.session.get(Case, case_id)
    if case is None or not fields:
        return []
    problems = [f"the case's {k.replace('_', ' ')} differs from its history" for k, v in sorted(fields.items())
                if hasattr(case, k) and getattr(case, k) != v]
    rows = {m.user_id: m for m in case.memberships}
    if None not in members and {u: m.role for u, m in rows.items()} != members:
        problems.append("the case's members or their roles differ from its history")
    problems += [f"member {u}: the name printed in exports differs from its history" for u, m in rows.items()
                 if m.export_name != names.get(u, "")]
    return problems


def _number(target: str) -> int | None:
    tail = (target or "").rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


def _norm(value, name: str = ""):
    """Times compare as instants (an event may hold +03:30, the row UTC), tags as a set (older events list
    them in the order they were added); everything else as it is."""
    if name == "tags" and isinstance(value, str):
        return sorted(t for t in (x.strip() for x in value.split(",")) if t)
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value

