"""Write operations on entries: create from a URL, edit, tag, map clauses. The acting user is passed in."""

import re
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from ..models import Account, Case, Clause, Entry, Tag, User, Violation
from ..models.entries import EDITABLE
from .cases import add_account
from .custody import lock_case, record, reloaded, transaction_cache
from .reviews import ensure_open, reset_round
from .urls import PostURL, parse_post_url

# Platforms whose post id names one post across the whole platform, so two URLs with it are one post.
GLOBAL_IDS = {"x", "youtube", "tiktok", "instagram", "threads", "facebook"}


class EntryError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


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


def create_entry(actor: User, case: Case, url: str, fields: dict | None = None,
                 violations: list[tuple[str, str]] = (), commit: bool = True, known=None, log: bool = True) -> Entry:
    """Create an entry from a post URL. `known` (a DuplicateIndex) replaces the duplicate query in bulk intake."""
    post = parse_post_url(url)
    if post.platform != "other" and not post.is_post:
        raise EntryError(f"This {post.platform} address is not the address of one post (a profile or a short "
                         "link?). Open the post itself and paste its address.", "url")
    fields = dict(fields or {})
    cache = _clause_cache(violations)
    _check_violations(violations, cache)  # before anything is added: a refused import row leaves nothing behind
    lock_case(case.id)  # the duplicate check and the number must see every entry committed before this one
    existing = known.find(post) if known is not None else find_duplicate(case.id, post)
    if existing is not None:
        raise DuplicateEntry(existing)
    entry = Entry(case_id=case.id, number=next_entry_number(case), submitted_url=post.submitted,
                  canonical_url=post.canonical, platform=post.platform, post_id=post.post_id,
                  handle=post.handle, created_by_id=actor.id)
    entry.account = _account_for(case, post, fields.pop("account_id", None))
    _set_posted_at(entry, post, fields.pop("posted_at", None))
    tags = fields.pop("tags", None)
    _apply(entry, {**{name: None for name in EDITABLE}, **fields})  # every field set: its record is complete now
    db.session.add(entry)
    if tags is not None:
        set_tags(entry, tags)
    for clause_key, rationale in violations:
        add_violation(actor, entry, clause_key, rationale, commit=False, clauses=cache, log=False)
    if log:
        made = creation_record(entry)  # before the flush: a new entry's collections need no query yet
        db.session.flush()  # the entry's id, for its first event
        record(actor, case.id, "entry.created", f"entry:{entry.number}", made, entry_id=entry.id)
    if commit:
        db.session.commit()
    return entry


def creation_record(entry: Entry) -> dict:
    """What the custody log keeps of a new entry (its event, or its line in an import's batch event): every
    field, clause and link, so that `verify` can rebuild the entry from its history (services/replay.py)."""
    return {"url": entry.canonical_url, "submitted_url": entry.submitted_url, "posted_at": str(entry.posted_at or ""),
            "clauses": [v.clause.key for v in entry.violations],
            "rationales": {v.clause.key: v.rationale for v in entry.violations},
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
    ensure_open(entry)
    fields = dict(fields)
    before = entry.snapshot()
    if "account_id" in fields:
        entry.account = _account_by_id(entry.case, fields.pop("account_id"))
    if "posted_at" in fields:
        posted_at = fields.pop("posted_at")
        entry.posted_at, entry.posted_at_source = (posted_at, "person") if posted_at else (None, "")
    if "tags" in fields:
        set_tags(entry, fields.pop("tags"))
    _apply(entry, fields)
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


def add_violation(actor: User, entry: Entry, clause_key: str, rationale: str, commit: bool = True,
                  clauses: dict | None = None, log: bool = True) -> Violation:
    ensure_open(entry)
    clause = (clauses or {}).get(clause_key.strip()) or db.session.scalar(
        select(Clause).where(Clause.key == clause_key.strip()))
    if clause is None:
        raise EntryError(f"There is no policy clause with the key “{clause_key}”.", "clause")
    if not rationale or not rationale.strip():
        raise EntryError("Explain why this post breaks this clause.", "rationale")
    if any(v.clause_id == clause.id for v in entry.violations):
        raise EntryError("This clause is already mapped to the entry.", "clause")
    violation = Violation(clause=clause, rationale=rationale.strip(), created_by_id=actor.id)
    entry.violations.append(violation)
    if log:
        record(actor, entry.case_id, "clause.mapped", f"entry:{entry.number}",
               {"clause": clause.key, "rationale": violation.rationale}, entry_id=entry.id)
        reset_round(actor, entry, f"clause {clause.key} mapped")
    if commit:
        db.session.commit()
    return violation


def _check_violations(violations, clauses: dict) -> None:
    seen = set()
    for clause_key, rationale in violations:
        key = clause_key.strip()
        if key not in clauses:
            raise EntryError(f"There is no policy clause with the key “{clause_key}”.", "clause")
        if not rationale or not rationale.strip():
            raise EntryError("Explain why this post breaks this clause.", "rationale")
        if key in seen:
            raise EntryError(f"The clause {key} is listed twice.", "clause")
        seen.add(key)


def _clause_cache(violations) -> dict:
    """The clauses these violations name, looked up once per transaction (an import maps thousands of rows to
    a handful of clauses)."""
    keys = {k.strip() for k, _ in violations}
    known = transaction_cache("clauses")
    if keys - known.keys():
        known.update({c.key: c for c in db.session.scalars(select(Clause).where(Clause.key.in_(keys - known.keys())))})
    return {k: known[k] for k in keys if k in known}


def remove_violation(entry: Entry, violation: Violation, actor: User | None = None) -> None:
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
    return False if name in ("graphic", "private_info") else None if name == "captured_at" else ""


def _set_posted_at(entry: Entry, post: PostURL, typed: datetime | None) -> None:
    if typed is not None:
        entry.posted_at, entry.posted_at_source = typed, "person"
    elif post.posted_at is not None:
        entry.posted_at, entry.posted_at_source = post.posted_at, "id"


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
