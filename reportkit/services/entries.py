"""Write operations on entries: create from a URL, edit, tag, map clauses. The acting user is passed in."""

import re
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import event as sa_event
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import Account, Case, Clause, Entry, Tag, User, Violation
from ..models.entries import EDITABLE, FIELDS
from ..platforms import GLOBAL_IDS  # platforms whose post id names one post (intake reads it here too)
from . import dates
from .cases import add_account
from .custody import lock_case, record, reloaded, transaction_cache
from .errors import ServiceError
from .language import guess_language
from .policies import clause_misfit
from .reviews import ensure_open, reset_round
from .urls import PostURL, parse_post_url


class EntryError(ServiceError):
    """Entry input refused (422), said about its field."""


# Text no database stores: a lone UTF-16 surrogate (SQLite and UTF-8 refuse it) and NUL (PostgreSQL refuses
# it). Every way in (API payload, imported file, bulk value) checks with this, so it never fails deep in a write.
SURROGATE_MESSAGE = ("contains a lone UTF-16 surrogate (half of a character), which cannot be stored. "
                     "The text was damaged on the way; copy it again from its source.")
NUL_MESSAGE = "contains a NUL character (\\u0000), which cannot be stored. Remove it."
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value) -> str | None:
    """Why `value` (a string, or lists and dicts of them, keys included) cannot be stored, or None."""
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        return None if found is None else NUL_MESSAGE if found.group() == "\x00" else SURROGATE_MESSAGE
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        problem = unstorable(key) if isinstance(key, str) else None
        problem = problem or unstorable(item)
        if problem:
            return problem
    return None


def check_storable(value, field: str) -> None:
    problem = unstorable(value)
    if problem:
        raise EntryError(f"The {field.replace('_', ' ')} {problem}", field)


_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
LANGUAGE_MESSAGE = "Use a language tag such as fa, ar, he, en or fa-IR."


def field_problems(fields: dict) -> dict[str, str]:
    """What is wrong with each value of `fields` that names an entry field (models.entries.FIELDS), by name.
    The one check of entry fields: the page form, the API and the import all end here (other keys, such as
    tags or posted_at, are checked where they are used)."""
    problems = {}
    for name, value in fields.items():
        spec = FIELDS.get(name)
        if spec is not None and value is not None:
            problem = _field_problem(spec, value)
            if problem:
                problems[name] = problem
    return problems


def _field_problem(spec, value) -> str | None:
    label = spec.label[:1].upper() + spec.label[1:]
    if spec.kind in ("text", "line", "language", "choice"):
        if not isinstance(value, str):
            return f"{label}: give text."
        problem = unstorable(value)
        if problem:
            return f"The {spec.label} {problem}"
        if spec.max and len(value) > spec.max:
            return f"The {spec.label} is longer than {spec.max} characters."
        if spec.kind == "language" and value.strip() and not _BCP47.match(value.strip()):
            return LANGUAGE_MESSAGE
        if spec.kind == "choice" and value not in ("", *spec.choices):
            return f"The {spec.label} must be one of: {', '.join(spec.choices)} (or nothing)."
    elif spec.kind == "severity":
        if isinstance(value, bool) or not isinstance(value, int) or value not in (0, *spec.choices):
            return (f"The severity must be one of {', '.join(str(k) for k in spec.choices)} "
                    "(or 0 for not rated).")
    elif spec.kind == "flag" and not isinstance(value, bool):
        return f"{label}: give true or false."
    elif spec.kind == "time" and not (isinstance(value, datetime) and value.tzinfo is not None):
        return f"The {spec.label} must be a time with its zone."
    return None


def check_fields(fields: dict) -> dict:
    """`fields` checked (EntryError for the first problem, about its field) and tidied: a language tag without
    the spaces around it."""
    problems = field_problems(fields)
    if problems:
        name, message = next(iter(problems.items()))
        raise EntryError(message, name)
    fields = dict(fields)
    if isinstance(fields.get("language"), str):
        fields["language"] = fields["language"].strip()
    return fields


class DuplicateEntry(EntryError):
    def __init__(self, existing: Entry):
        super().__init__(f"This post is already in the case as entry #{existing.number}.", "url")
        self.existing = existing


def find_duplicate(case_id: int, post: PostURL) -> Entry | None:
    found = db.session.scalar(select(Entry).where(Entry.case_id == case_id, Entry.canonical_url == post.canonical))
    if found is None and post.post_id and post.platform in GLOBAL_IDS:
        found = db.session.scalar(select(Entry).where(
            Entry.case_id == case_id, Entry.platform == post.platform, Entry.post_id == post.post_id))
    return found


class CaseEntries:
    """Finds an entry of the case already holding a post, with a query (bulk intake keeps an index in memory
    with the same `find`: intake.DuplicateIndex)."""

    def __init__(self, case_id: int):
        self.case_id = case_id

    def find(self, post: PostURL) -> Entry | None:
        return find_duplicate(self.case_id, post)


def create_entry(actor: User, case: Case, url: str, fields: dict | None = None,
                 violations: list[tuple[str, ...]] = ()) -> Entry:
    """Create an entry from a post URL, with its clauses, record its creation and commit.
    `violations` are (clause key, rationale) or (clause key, rationale, English version of the rationale)."""
    entry = new_entry(actor, case, url, fields, violations, CaseEntries(case.id))
    made = creation_record(entry)  # before the flush: a new entry's collections need no query yet
    db.session.flush()  # the entry's id, for its first event
    record(actor, case.id, "entry.created", f"entry:{entry.number}", made, entry_id=entry.id)
    db.session.commit()
    return entry


def new_entry(actor: User, case: Case, url: str, fields: dict | None, violations: list[tuple[str, ...]],
              existing) -> Entry:
    """Building block (records nothing, commits nothing): check a new entry and add it, with its clauses, to
    the session under the case lock. `existing.find(post)` names an entry that already holds the post
    (`CaseEntries`, or bulk intake's in-memory index). The caller records the creation and commits."""
    post = parse_post_url(url)
    if post.platform != "other" and not post.is_post:
        raise EntryError(f"This {post.platform} address is not the address of one post (a profile or a short "
                         "link?). Open the post itself and paste its address.", "url")
    fields = check_fields(fields or {})
    if fields.get("text") and not (fields.get("language") or "").strip():
        fields["language"] = guess_language(fields["text"])  # prefilled; a person's value always wins
    cache = _clause_cache(violations)
    _check_violations(violations, cache, post)  # before anything is added: a refused import row leaves nothing behind
    lock_case(case.id)  # the duplicate check and the number must see every entry committed before this one
    found = existing.find(post)
    if found is not None:
        raise DuplicateEntry(found)
    entry = Entry(case_id=case.id, number=next_entry_number(case), submitted_url=post.submitted,
                  canonical_url=post.canonical, platform=post.platform, post_id=post.post_id,
                  handle=post.handle, created_by_id=actor.id)
    entry.account = _account_for(case, post, fields.pop("account_id", None))
    _set_posted_at(entry, post, fields.pop("posted_at", None), bool(fields.pop("confirm_posted_at", False)))
    if fields.get("captured_at") or (fields.get("captured_by") or "").strip():
        entry.captured_at_source = "person"
    tags = fields.pop("tags", None)
    _apply(entry, {**{name: None for name in EDITABLE}, **fields})  # every field set: its record is complete now
    check_request(entry)
    db.session.add(entry)
    if tags is not None:
        set_tags(entry, tags)
    for clause_key, rationale, *english in violations:
        attach_violation(actor, entry, clause_key, rationale, english[0] if english else "", cache)
    return entry


def creation_record(entry: Entry) -> dict:
    """What the custody log keeps of a new entry (its event, or its line in an import's batch event): every
    field, clause and link, so that `verify` can rebuild the entry from its history (services/replay.py)."""
    return {"url": entry.canonical_url, "submitted_url": entry.submitted_url, "posted_at": str(entry.posted_at or ""),
            "clauses": [v.clause.key for v in entry.violations],
            "rationales": {v.clause.key: v.rationale for v in entry.violations},
            **({"rationales_en": {v.clause.key: v.rationale_en for v in entry.violations if v.rationale_en}}
               if any(v.rationale_en for v in entry.violations) else {}),
            "links": [e.archive_url for e in entry.evidence if e.kind == "archive_link"], "fields": entry.snapshot()}


def next_entry_number(case: Case) -> int:
    """The case's next entry number, taken under the case lock (a read-modify-write without it gave two writers
    the same number, and the second a 500). Read once per transaction, counted on in memory, written back once
    before the commit (`_write_entry_seq`): a 10,000-row import pays one UPDATE, not 10,000."""
    lock_case(case.id)
    counters = transaction_cache("entry_seq")
    if case.id not in counters:
        counters[case.id] = db.session.scalar(select(Case.entry_seq).where(Case.id == case.id))
    counters[case.id] += 1
    set_committed_value(case, "entry_seq", counters[case.id])
    return counters[case.id]


@sa_event.listens_for(Session, "before_commit")
def _write_entry_seq(session) -> None:
    for case_id, value in transaction_cache("entry_seq", session).items():
        session.execute(update(Case).where(Case.id == case_id).values(entry_seq=value)
                        .execution_options(synchronize_session=False))



def update_entry(actor: User, entry: Entry, fields: dict) -> Entry:
    fields = check_fields(fields)
    ensure_open(entry)
    before = entry.snapshot()
    if "account_id" in fields:
        entry.account = _account_by_id(entry.case, fields.pop("account_id"))
    confirmed = bool(fields.pop("confirm_posted_at", False))
    if "posted_at" in fields:
        posted_at = fields.pop("posted_at")
        if posted_at:
            _set_posted_at(entry, parse_post_url(entry.canonical_url), posted_at, confirmed)
        else:
            entry.posted_at, entry.posted_at_source = None, ""
    if "tags" in fields:
        set_tags(entry, fields.pop("tags"))
    _apply(entry, fields)
    check_request(entry)
    if (entry.captured_at, entry.captured_by) != _captured(before):
        entry.captured_at_source = "person" if entry.captured_at or entry.captured_by else ""  # a person corrected
    after = entry.snapshot()
    changed = {k: [before[k], after[k]] for k in after if after[k] != before[k]}
    if changed:
        record(actor, entry.case_id, "entry.edited", f"entry:{entry.number}", changed, entry_id=entry.id)
        reset_round(actor, entry, f"{', '.join(k.replace('_', ' ') for k in changed)} changed")
    db.session.commit()
    return entry


def set_tags(entry: Entry, names) -> None:
    wanted = []
    for name in names:
        clean = name.strip().lower()[:60]
        if clean and clean not in wanted:
            wanted.append(clean)
    entry.tags[:] = [t for t in entry.tags if t.name in wanted]
    have = {t.name for t in entry.tags}
    entry.tags.extend(Tag(name=n) for n in wanted if n not in have)


def add_violation(actor: User, entry: Entry, clause_key: str, rationale: str, rationale_en: str = "") -> Violation:
    """Map a clause onto an entry, record it, start a new review round and commit."""
    ensure_open(entry)
    violation = attach_violation(actor, entry, clause_key, rationale, rationale_en)
    mapped = {"clause": violation.clause.key, "rationale": violation.rationale}
    if violation.rationale_en:
        mapped["rationale_en"] = violation.rationale_en
    record(actor, entry.case_id, "clause.mapped", f"entry:{entry.number}", mapped, entry_id=entry.id)
    reset_round(actor, entry, f"clause {violation.clause.key} mapped")
    db.session.commit()
    return violation


def attach_violation(actor: User, entry: Entry, clause_key: str, rationale: str, rationale_en: str = "",
                     clauses: dict | None = None) -> Violation:
    """Building block (records nothing, commits nothing): check a mapping and add it to the entry. `clauses`:
    the clauses already looked up, by key (a new entry's, or an import's)."""
    clause = (clauses or {}).get(clause_key.strip()) or db.session.scalar(
        select(Clause).where(Clause.key == clause_key.strip()))
    if clause is None:
        raise EntryError(f"There is no policy clause with the key “{clause_key}”.", "clause")
    misfit = clause_misfit(clause, entry.platform, _host(entry.canonical_url))
    if misfit:
        raise EntryError(misfit, "clause")
    if not rationale or not rationale.strip():
        raise EntryError("Explain why this post breaks this clause.", "rationale")
    check_storable(rationale_en or "", "rationale_en")
    if any(v.clause_id == clause.id for v in entry.violations):
        raise EntryError("This clause is already mapped to the entry.", "clause")
    violation = Violation(clause=clause, rationale=rationale.strip(), rationale_en=(rationale_en or "").strip(),
                          created_by_id=actor.id)
    entry.violations.append(violation)
    return violation


def set_rationale_en(actor: User, entry: Entry, violation: Violation, text: str) -> Violation:
    """Add, change or clear the English version of a rationale (printed next to it in the dossier). It changes
    what the dossier prints, so a sealed entry must be reopened first, and reviewers approve it again."""
    ensure_open(entry)
    violation = reloaded(violation)
    if violation is None or violation.entry_id != entry.id:
        raise EntryError("This clause was removed from the entry a moment ago.", "clause")
    text = (text or "").strip()
    check_storable(text, "rationale_en")
    if len(text) > 50_000:
        raise EntryError("The English version is longer than 50,000 characters.", "rationale_en")
    if text == violation.rationale_en:
        return violation
    record(actor, entry.case_id, "clause.rationale_en", f"entry:{entry.number}",
           {"clause": violation.clause.key, "rationale_en": [violation.rationale_en, text]}, entry_id=entry.id)
    violation.rationale_en = text
    reset_round(actor, entry, f"English rationale for {violation.clause.key} changed")
    db.session.commit()
    return violation


def check_request(entry: Entry) -> None:
    """Countries only (and always) with a restriction; the values themselves are checked by `field_problems`.
    Every way in (form, API, import) ends here."""
    countries = country_codes(entry.action_countries)
    if entry.requested_action == "restrict_in_countries" and not countries:
        raise EntryError("Name the countries the post should be restricted in (ISO codes such as DE, FR).",
                         "action_countries")
    if countries and entry.requested_action != "restrict_in_countries":
        raise EntryError("Countries go with the action “restrict the post in named countries” only.",
                         "action_countries")
    entry.action_countries = ", ".join(countries)


_COUNTRY = re.compile(r"^[A-Z]{2}$")


def country_codes(value) -> list[str]:
    """“de, FR;at” -> ["DE", "FR", "AT"]; refuses anything that is not a two-letter code, with a message."""
    if value is None:
        return []
    if not isinstance(value, str):
        raise EntryError("Give the countries as two-letter codes separated by commas, e.g. DE, FR.",
                         "action_countries")
    codes = []
    for part in re.split(r"[,;\s]+", value.strip()):
        if not part:
            continue
        code = part.upper()
        if not _COUNTRY.match(code):
            raise EntryError(f"“{part[:20]}” is not a two-letter country code (ISO 3166-1, e.g. DE, FR, TR).",
                             "action_countries")
        if code not in codes:
            codes.append(code)
    return codes


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _check_violations(violations, clauses: dict, post: PostURL | None = None) -> None:
    seen = set()
    for clause_key, rationale, *_english in violations:
        key = clause_key.strip()
        if key not in clauses:
            raise EntryError(f"There is no policy clause with the key “{clause_key}”.", "clause")
        misfit = clause_misfit(clauses[key], post.platform, _host(post.canonical)) if post is not None else None
        if misfit:
            raise EntryError(misfit, "clause")
        if not rationale or not rationale.strip():
            raise EntryError("Explain why this post breaks this clause.", "rationale")
        if key in seen:
            raise EntryError(f"The clause {key} is listed twice.", "clause")
        seen.add(key)


def _clause_cache(violations) -> dict:
    """The clauses these violations name, looked up once per transaction (an import maps thousands of rows to
    a handful of clauses)."""
    keys = {v[0].strip() for v in violations}
    known = transaction_cache("clauses")
    if keys - known.keys():
        known.update({c.key: c for c in db.session.scalars(select(Clause).where(Clause.key.in_(keys - known.keys())))})
    return {k: known[k] for k in keys if k in known}


def remove_violation(actor: User, entry: Entry, violation: Violation) -> None:
    ensure_open(entry)
    violation = reloaded(violation)
    if violation is None:
        raise EntryError("This clause was removed from the entry a moment ago.", "clause")
    record(actor, entry.case_id, "clause.unmapped", f"entry:{entry.number}",
           {"clause": violation.clause.key, "rationale": violation.rationale}, entry_id=entry.id)
    entry.violations.remove(violation)
    reset_round(actor, entry, f"clause {violation.clause.key} removed")
    db.session.commit()


def _apply(entry: Entry, fields: dict) -> None:
    for name, value in fields.items():
        if name not in EDITABLE:
            raise EntryError(f"Unknown field “{name}”.", name)
        setattr(entry, name, value if value is not None else _empty(name))


def _empty(name: str):
    return {"flag": False, "time": None, "severity": 0}.get(FIELDS[name].kind, "")


def _set_posted_at(entry: Entry, post: PostURL, typed: datetime | None, confirmed: bool = False) -> None:
    """The post's time: typed by a person, or derived from its id. A typed time that is impossible (before the
    platform existed, in the future) is refused; one more than a minute from the id's time loses to it unless
    the person confirmed it (`confirm_posted_at`). `entry.posted_at_warning` says when the id's time won."""
    entry.posted_at_warning, entry.posted_at_conflict = "", None
    if typed is None:
        if post.posted_at is not None:
            entry.posted_at, entry.posted_at_source = post.posted_at, "id"
        return
    problem = dates.plausibility_problem(typed, post.platform)
    if problem:
        raise EntryError(f"Posted at: {problem}", "posted_at")
    warning = dates.id_time_warning(typed, post.posted_at)
    if warning and not confirmed:
        entry.posted_at, entry.posted_at_source, entry.posted_at_warning = post.posted_at, "id", warning
        entry.posted_at_conflict = (typed, post.posted_at)  # for a warning in the reader's zone
    else:
        entry.posted_at, entry.posted_at_source = typed, "person"


def _captured(snapshot: dict) -> tuple:
    """(captured_at, captured_by) of a snapshot, as the row holds them."""
    at = snapshot.get("captured_at")
    return (datetime.fromisoformat(at) if at else None), snapshot.get("captured_by") or ""


def _account_by_id(case: Case, account_id) -> Account | None:
    if account_id in (None, "", 0):
        return None
    account = next((a for a in case.accounts if a.id == int(account_id)), None)
    if account is None:
        raise EntryError("That account does not belong to this case.", "account_id")
    return account


def _account_for(case: Case, post: PostURL, account_id) -> Account | None:
    if account_id not in (None, "", 0):
        return _account_by_id(case, account_id)
    if not post.handle:
        return None
    key = post.handle.lower()
    match = next((a for a in case.accounts if a.platform == post.platform and a.handle_key == key), None)
    if match is None and case.allow_new_accounts:
        match = add_account(case, post.platform, post.handle)
    return match


def bulk_update(actor: User, case: Case, entry_ids: list[int], action: str, value: str = "") -> tuple[int, int]:
    """Apply one action to many entries of a case; returns (changed, skipped). Sealed entries are skipped."""
    from .reviews import ReviewError, transition

    value = _bulk_value(case, action, value)  # refused before anything changes, with a message
    entries = db.session.scalars(select(Entry).where(Entry.case_id == case.id, Entry.id.in_(entry_ids))).all()
    changed = skipped = 0
    for entry in entries:
        try:
            if action == "submit":
                transition(actor, entry, "ready")
            elif action == "tag":
                lock_case(case.id)  # the tags as committed now: two bulk taggings at once both count
                update_entry(actor, entry, {"tags": entry.tag_names + [value]})
            elif action == "account":
                update_entry(actor, entry, {"account_id": value})
            db.session.commit()  # one by one, so that a refused entry never undoes the others
            changed += 1
        except ReviewError:
            db.session.rollback()
            skipped += 1
    return changed, skipped


BULK_ACTIONS = ("submit", "tag", "account")


def _bulk_value(case: Case, action: str, value):
    """The checked value of a bulk action: a tag to add, or an account of this very case (or none)."""
    if action not in BULK_ACTIONS:
        raise EntryError(f"Unknown action “{str(action)[:40]}”.", "action")
    if action == "tag":
        value = str(value).strip()
        check_storable(value, "tag")
        if not value or len(value) > 60:
            raise EntryError("A tag is 1 to 60 characters.", "value")
    elif action == "account":
        if value in (None, "", 0, "0"):
            return None
        if not str(value).isdigit():
            raise EntryError("That account does not belong to this case.", "account_id")
        value = int(value)
        _account_by_id(case, value)
    return value
