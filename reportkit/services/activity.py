"""The custody log in words: each event as a sentence a team member reads ("Rana moved entry #25 from Draft to
Ready for review"), with the entries, files, imports and dossiers it names as links. The raw event (action,
target, JSON) stays available next to it; this module only describes, it never changes anything.

A sentence is a list of parts: plain strings, and `Link`s the template turns into anchors (Jinja escapes
every part; no markup is built here). Every kind of event the code records has a sentence in `SENTENCES`
(tests/test_pages_ux.py checks this against the source); an unknown kind gets a readable generic one."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import ANNOTATION_KINDS, PLATFORMS, REGION_KINDS, STATUSES, Clause, Dossier, Entry, Event, Evidence, User
from ..models.captures import CAPTURE_OUTCOMES
from ..models.cases import role_label
from ..models.filings import APPEAL_KINDS, CHANNELS, FILE_KINDS
from ..models.observations import OUTCOMES
from ..templating import filesize


@dataclass(frozen=True)
class Link:
    text: str
    endpoint: str
    values: dict = field(default_factory=dict)
    anchor: str = ""


@dataclass
class Described:
    event: Event
    parts: list
    note: str = ""  # the event's explanation (a reason someone typed): shown as their words, apart

    @property
    def text(self) -> str:
        """The sentence as plain text (links as their words)."""
        return "".join(p.text if isinstance(p, Link) else str(p) for p in self.parts)


@dataclass
class _Names:
    """What the events of one page name, looked up once for the page (not once per event)."""
    entries: dict = field(default_factory=dict)  # entry id -> number
    platforms: dict = field(default_factory=dict)  # entry id -> platform key
    users: dict = field(default_factory=dict)  # user id -> label
    clauses: dict = field(default_factory=dict)  # key -> path
    files: dict = field(default_factory=dict)  # evidence id -> (entry id, name)
    dossiers: dict = field(default_factory=dict)  # document id -> dossier id


def describe_events(events: list[Event]) -> list[Described]:
    names = _look_up(events)
    return [describe(ev, names) for ev in events]


def describe(event: Event, names: _Names | None = None) -> Described:
    names = names or _look_up([event])
    data = event.data if isinstance(event.data, dict) else {}
    say = SENTENCES.get(event.action)
    parts = None
    if say is not None:
        try:
            parts = say(_Ctx(event, data, names))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            parts = None  # an older or odd payload: the generic sentence, never an error page
    if parts is None:
        parts = _generic(_Ctx(event, data, names))
    parts = [p for p in parts if p != ""]
    if parts and isinstance(parts[0], str) and parts[0].startswith(("command line", "a former member")):
        parts[0] = parts[0][0].upper() + parts[0][1:]  # a sentence starts with a capital; people's names stay as typed
    return Described(event, parts, event.explanation or "")


class _Ctx:
    def __init__(self, event: Event, data: dict, names: _Names):
        self.ev, self.data, self.names = event, data, names

    @property
    def who(self) -> str:
        return self.ev.who

    def entry(self, entry_id: int | None = None, anchor: str = ""):
        entry_id = entry_id or self.ev.entry_id
        number = self.names.entries.get(entry_id) or _number(self.ev.target)
        if entry_id and entry_id in self.names.entries:
            return Link(f"entry #{number}", "entries.view", {"entry_id": entry_id}, anchor)
        return f"entry #{number}" if number else "an entry"

    def user(self, target: str | None = None) -> str:
        user_id = _id(target or self.ev.target, "user")
        return self.names.users.get(user_id, "a former member") if user_id else "someone"

    def clause(self, key: str) -> str:
        return self.names.clauses.get(key, key)

    def file(self):
        evidence_id = _id(self.ev.target, "evidence")
        entry_id, name = self.names.files.get(evidence_id, (None, self.data.get("name") or "a file"))
        name = self.data.get("name") or name
        if entry_id:
            return Link(name, "entries.view", {"entry_id": entry_id}, f"evidence-{evidence_id}")
        return name


def _number(target: str) -> int | None:
    return _id(target, "entry")


def _id(target: str, kind: str) -> int | None:
    prefix, _, rest = (target or "").partition(":")
    return int(rest) if prefix == kind and rest.isdigit() else None


def _look_up(events: list[Event]) -> _Names:
    names = _Names()
    entry_ids = {ev.entry_id for ev in events if ev.entry_id}
    user_ids = {ev.actor_id for ev in events if ev.actor_id} | {
        i for ev in events if (i := _id(ev.target, "user"))} | {
        ev.data.get("invited_by") for ev in events if isinstance(ev.data, dict) and ev.data.get("invited_by")}
    evidence_ids = {i for ev in events if (i := _id(ev.target, "evidence"))}
    keys = {ev.data.get("clause") for ev in events if isinstance(ev.data, dict) and ev.data.get("clause")}
    documents = {ev.target.partition(":")[2] for ev in events if ev.target.startswith("dossier:")}
    if entry_ids:
        rows = db.session.execute(select(Entry.id, Entry.number, Entry.platform).where(Entry.id.in_(entry_ids))).all()
        names.entries = {i: n for i, n, _ in rows}
        names.platforms = {i: p for i, _, p in rows}
    if user_ids:
        names.users = {u.id: u.label for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
    if evidence_ids:
        names.files = {i: (e, n or "") for i, e, n in db.session.execute(
            select(Evidence.id, Evidence.entry_id, Evidence.original_name).where(Evidence.id.in_(evidence_ids)))}
    if keys:
        names.clauses = {c.key: c.path for c in db.session.scalars(select(Clause).where(Clause.key.in_(keys)))}
    if documents:
        names.dossiers = dict(db.session.execute(
            select(Dossier.document_id, Dossier.id).where(Dossier.document_id.in_(documents))).all())
    return names


def _readable(action: str) -> str:
    return action.replace(".", " ").replace("_", " ")


def _fields(changed) -> str:
    names = [str(k).replace("_", " ") for k in (changed or {})]
    return ", ".join(names) if names else "nothing"


def _when(value: str) -> str:
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d")
    except (TypeError, ValueError):
        return ""


def _plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else (word[:-1] + 'ies' if word.endswith('y') else word + 's')}"


def _generic(c: _Ctx) -> list:
    target = c.entry() if c.ev.entry_id else (c.ev.target or "the case")
    return [f"{c.who} recorded “{_readable(c.ev.action)}” for ", target, "."]


def _dossier(c: _Ctx):
    document = c.ev.target.partition(":")[2] or c.data.get("dossier", "")
    dossier_id = c.names.dossiers.get(document)
    return Link(document, "dossiers.view", {"dossier_id": dossier_id}) if dossier_id else document


def _import(c: _Ctx):
    import_id = _id(c.ev.target, "import")
    return Link(f"import #{import_id}", "imports.view", {"import_id": import_id}) if import_id else "an import"


def _case_created(c):
    return [f"{c.who} opened the case “{c.data['title']}”",
            f" with {_plural(len(c.data.get('accounts', [])), 'account')}." if c.data.get("accounts") else "."]


def _member_added(c):
    role = role_label(c.data.get("role"))
    if c.data.get("invitation"):
        return [f"{c.user()} accepted an invitation and joined as {role.lower()}",
                f" (invited by {c.names.users.get(c.data['invited_by'], 'a former member')})."
                if c.data.get("invited_by") else "."]
    return [f"{c.who} added {c.user()} as {role.lower()}."]


def _role_changed(c):
    before, after = c.data["role"]
    return [f"{c.who} changed the role of {c.user()} from {role_label(before).lower()} to {role_label(after).lower()}."]


def _export_name(c):
    name = c.data.get("export_name")
    return [f"{c.who} set the name printed for {c.user()} in exports to “{name}”." if name else
            f"{c.who} set {c.user()} to be printed in exports under a pseudonym."]


def _entry_created(c):
    url = c.data.get("url", "")
    platform = c.names.platforms.get(c.ev.entry_id, "")
    what = f"a post on {PLATFORMS.get(platform, platform)}" if platform else "a post"
    return [f"{c.who} added ", c.entry(), f": {what}" + (f", {url}" if url else "") + "."]


def _status(c):
    before, after = STATUSES.get(c.data["from"], c.data["from"]), STATUSES.get(c.data["to"], c.data["to"])
    filed = c.data.get("filings") or []
    said = "; ".join(f"{PLATFORMS.get(f.get('platform'), f.get('platform', ''))} {str(f.get('filed_at', ''))[:10]}"
                     + (f" ({f['reference']})" if f.get("reference") else "") for f in filed)
    return [f"{c.who} moved ", c.entry(anchor="review"), f" from {before} to {after}",
            f"; it had been reported: {said}." if filed else "."]


def _approved(c):
    hashes = c.data.get("evidence_sha256") or []
    return [f"{c.who} approved ", c.entry(anchor="review"),
            f" (review round {c.data.get('round', 1)}, {_plural(len(hashes), 'file')} covered)."]


def _reset(c):
    voided = len(c.data.get("approvals_voided") or [])
    return ["", c.entry(anchor="review"), f" needs its approvals again: {c.data.get('change', 'it changed')}",
            f" ({_plural(voided, 'approval')} set aside)." if voided else "."]


def _uploaded(c):
    size = f", {filesize(c.data['size'])}" if c.data.get("size") else ""
    return [f"{c.who} uploaded ", c.file(), f" ({c.data.get('mime', 'file')}{size}) to ", c.entry(anchor="evidence"),
            "."]


def _annotation(c):
    kind = ANNOTATION_KINDS.get(c.data.get("kind"), "note").lower()
    extra = " (printed in the dossier)" if c.data.get("include_in_dossier") else ""
    return [f"{c.who} wrote a {kind} on ", c.entry(anchor="notes"), f"{extra}."]


def _region(c, added: bool):
    kind = REGION_KINDS.get(c.data.get("kind"), "region").lower()
    label = f" “{c.data['label']}”" if c.data.get("label") else ""
    if added:
        return [f"{c.who} marked a {kind} region{label} on ", c.file(), " of ", c.entry(anchor="evidence"), "."]
    return [f"{c.who} removed a {kind} region{label} from ", c.file(), " of ", c.entry(anchor="evidence"), "."]


def _dossier_exported(c):
    entries = c.data.get("entries") or []
    pages = f"{_plural(c.data['pages'], 'page')}, " if c.data.get("pages") else ""
    signed = " and signed it" if c.data.get("signed_by") else ""
    return [f"{c.who} exported the dossier ", _dossier(c), f" ({pages}{_plural(len(entries), 'entry')}){signed}."]


def _package(c):
    originals = len(c.data.get("originals") or [])
    with_originals = f", with {_plural(originals, 'unredacted original')}" if originals else ""
    return [f"{c.who} exported an evidence package of dossier {c.data.get('dossier', '')} "
            f"({_plural(c.data.get('files', 0), 'file')}{with_originals})."]


def _verification(c):
    problems = c.data.get("problems") or []
    ok = c.data.get("ok", not problems)
    result = "everything checked out" if ok else f"{_plural(len(problems), 'problem')} found"
    return [f"{c.who} verified the case's files and history: {result}."]


def _count(value) -> int:
    """A count recorded as a number, or as the list of what was counted (entry numbers)."""
    return len(value) if isinstance(value, list | tuple) else int(value or 0)


def _outcome(c) -> str:
    return (f"{_plural(_count(c.data.get('created')), 'entry')} created, "
            f"{_plural(_count(c.data.get('duplicates')), 'duplicate')}, "
            f"{_count(c.data.get('problems'))} with problems")


def _batch(c):
    first, last = (c.data.get("lines") or [0, 0])[:2]
    return [f"{c.who} imported lines {first}–{last} in ", _import(c), f": {_outcome(c)}."]


def _run(c):
    return [f"{c.who} finished ", _import(c), f" ({c.data.get('kind', 'file')}): {_outcome(c)}."]


def _not_duplicate(c):
    other = c.data.get("other_entry")
    return [f"{c.who} said ", c.file(), " of ", c.entry(anchor="evidence"),
            f" is not the same post as entry #{other}." if other else " is not a duplicate."]


SENTENCES = {
    "case.created": _case_created,
    "case.edited": lambda c: [f"{c.who} changed the case's {_fields(c.data)}."],
    "case.deleted": lambda c: [f"{c.who} deleted the case “{c.data.get('title', '')}”",
                               f" ({c.data['reason']})." if c.data.get("reason") else "."],
    "member.added": _member_added,
    "member.invited": lambda c: [f"{c.who} invited someone to join as {role_label(c.data.get('role')).lower()}",
                                 f" (the invitation expires on {_when(c.data['expires_at'])})."
                                 if _when(c.data.get("expires_at")) else ".", ],
    "member.declined": lambda c: [f"{c.who} declined an invitation to join as "
                                  f"{role_label(c.data.get('role')).lower()}."],
    "invitation.withdrawn": lambda c: [f"{c.who} withdrew an invitation to join as "
                                       f"{role_label(c.data.get('role')).lower()}."],
    "member.role_changed": _role_changed,
    "member.export_name": _export_name,
    "member.removed": lambda c: [f"{c.who} removed {c.user()} (who was {role_label(c.data.get('role')).lower()})."],
    "account.added": lambda c: [f"{c.who} added the account "
                                f"{PLATFORMS.get(c.data.get('platform'), c.data.get('platform', ''))} "
                                f"@{c.data.get('handle', '')} to the case."],
    "account.edited": lambda c: [f"{c.who} changed an account's {_fields(c.data)}."],
    "entry.created": _entry_created,
    "entry.edited": lambda c: [f"{c.who} edited ", c.entry(), f": {_fields(c.data)}."],
    "entry.withdrawn": lambda c: [f"{c.who} withdrew ", c.entry(), " (it stays in the history)."],
    "entry.approved": _approved,
    "status.changed": _status,
    "review.reset": _reset,
    "clause.mapped": lambda c: [f"{c.who} mapped ", c.entry(anchor="violations"),
                                f" to the clause {c.clause(c.data['clause'])}."],
    "clause.unmapped": lambda c: [f"{c.who} removed the clause {c.clause(c.data['clause'])} from ",
                                  c.entry(anchor="violations"), "."],
    "clause.rationale_en": lambda c: [f"{c.who} changed the English rationale for {c.clause(c.data['clause'])} on ",
                                      c.entry(anchor="violations"), "."],
    "evidence.uploaded": _uploaded,
    "evidence.linked": lambda c: [f"{c.who} added an archive link to ", c.entry(anchor="evidence"),
                                  f": {c.data.get('url', '')}."],
    "evidence.marked": lambda c: ["A marked copy of ", c.file(), " of ", c.entry(anchor="evidence"),
                                  f" was drawn ({_plural(c.data.get('regions', 0), 'region')})."],
    "evidence.downloaded": lambda c: [f"{c.who} downloaded the original of ", c.file(), " from ", c.entry(), "."],
    "evidence.withdrawn": lambda c: [f"{c.who} withdrew ", c.file(), " from ", c.entry(anchor="evidence"),
                                     " (it stays stored)."],
    "evidence.purged": lambda c: [f"{c.who} purged the file {c.data.get('name') or ''} from ", c.entry(), "."],
    "evidence.not_duplicate": _not_duplicate,
    "annotation.added": _annotation,
    "annotation.resolved": lambda c: [f"{c.who} marked a change request on ", c.entry(anchor="notes"),
                                      " resolved."],
    "annotation.dossier": lambda c: [f"{c.who} chose to {'print' if c.data.get('include') else 'leave out'} a note "
                                     "of ", c.entry(anchor="notes"),
                                     " in the dossier." if c.data.get("include") else " of the dossier."],
    "region.added": lambda c: _region(c, True),
    "region.removed": lambda c: _region(c, False),
    "dossier.exported": _dossier_exported,
    "package.exported": _package,
    "verification.run": _verification,
    "import.created": lambda c: [f"{c.who} uploaded {c.data.get('filename') or 'a file'} "
                                 f"({_plural(c.data.get('rows', 0), 'row')}) as ", _import(c), "."],
    "import.mapped": lambda c: [f"{c.who} mapped the columns of ", _import(c), " and started it."],
    "import.resumed": lambda c: [f"{c.who} resumed ", _import(c), f" after row {c.data.get('rows_done', 0)}."],
    "import.batch": _batch,
    "import.run": _run,
    "filing.recorded": lambda c: [f"{c.who} recorded that {_numbers(c.data.get('entries'))} "
                                  f"{'was' if len(c.data.get('entries') or []) == 1 else 'were'} reported to "
                                  f"{PLATFORMS.get(c.data.get('platform'), c.data.get('platform', ''))} "
                                  f"({CHANNELS.get(c.data.get('channel'), c.data.get('channel', '')).lower()})",
                                  f", reference {c.data['reference']}." if c.data.get("reference") else "."],
    "filing.file_added": lambda c: [f"{c.who} attached {FILE_KINDS.get(c.data.get('kind'), 'a file').lower()} "
                                    f"to filing {c.data.get('filing')}: {c.data.get('name', '')}."],
    "filing.changed": lambda c: [f"{c.who} changed filing {c.data.get('filing')}'s "
                                 f"{', '.join(k.replace('_', ' ') for k in c.data if k != 'filing')}."],
    "decision.recorded": lambda c: [f"{c.who} recorded the platform's answer on {_numbers(c.data.get('entries'))}: "
                                    + ("no answer" if c.data.get("no_answer") else "no violation found"
                                       if c.data.get("no_action") else ", ".join(
                                           str(c.data[k]).replace("_", " ") for k in DECISION_KEYS
                                           if c.data.get(k))) + "."],
    "post.checked": lambda c: [("A scheduled re-check" if c.data.get("scheduled") else f"{c.who}'s re-check")
                               + " found ", c.entry(), f" {OUTCOMES.get(c.data.get('outcome'), 'unknown')}",
                               " again, after it had been removed." if c.data.get("back_online") else "."],
    "capture.requested": lambda c: [f"{c.who} asked the server to capture ", c.entry(anchor="evidence"),
                                    f" ({c.data['proxy']})." if c.data.get("proxy") else "."],
    "capture.finished": lambda c: ["The server's capture of ", c.entry(anchor="evidence"),
                                   f" found {CAPTURE_OUTCOMES.get(c.data.get('outcome'), 'nothing')}",
                                   f" ({_plural(len(c.data.get('evidence') or []), 'file')} stored)."
                                   if c.data.get("outcome") == "captured" else "."],
    "appeal.changed": lambda c: [f"{c.who} recorded an outcome of a step on filing {c.data.get('filing')}: "
                                 f"{str(c.data.get('outcome', 'details changed')).replace('_', ' ')}."],
    "appeal.recorded": lambda c: [f"{c.who} recorded a step after the decision on filing {c.data.get('filing')}: "
                                  f"{APPEAL_KINDS.get(c.data.get('kind'), c.data.get('kind', '')).lower()}."],
}
DECISION_KEYS = ("visibility", "account", "monetary", "provision")


def _numbers(numbers) -> str:
    numbers = numbers or []
    return ("entry " if len(numbers) == 1 else "entries ") + ", ".join(f"#{n}" for n in numbers)
