"""Record where entries were reported, what the platform decided, and the appeals that followed.

Every write is one unit of work: it takes the case lock, checks, adds rows, records a custody event and commits.
Input is refused whole with a `FilingError` naming the field; nothing is half-saved or silently changed.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from ..extensions import db
from ..models import PLATFORMS, Dossier, Entry, User
from ..models.entries import REQUESTED_ACTIONS
from ..models.filings import (
    ACCOUNT,
    APPEAL_KINDS,
    APPEAL_OUTCOMES,
    CHANNELS,
    GROUNDS,
    MONETARY,
    PROVISION,
    VISIBILITY,
    Appeal,
    Decision,
    Filing,
)
from .custody import lock_case, record
from .dates import DateError, parse_time
from .errors import ServiceError

# DSA Art. 20(1): a complaint against a decision can be made for at least six months after it.
COMPLAINT_WINDOW = relativedelta(months=6)
CLOCK_SKEW = timedelta(minutes=5)  # a time "now" from a browser a little ahead of the server is not the future


class FilingError(ServiceError):
    """Filing input refused (422), said about its field."""


def parse_when(value, field: str, required: bool = True) -> datetime | None:
    """An ISO 8601 (or Solar Hijri) time, read in UTC when it names no zone; never in the future."""
    if value in (None, ""):
        if required:
            raise FilingError("Give a date and time.", field)
        return None
    if isinstance(value, datetime):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, str):
        try:
            parsed = parse_time(value)
        except DateError as exc:
            raise FilingError(str(exc), field) from None
        when = parsed.utc
    else:
        raise FilingError("Give the time as text, e.g. 2026-11-25T14:30Z.", field)
    if when > datetime.now(UTC) + CLOCK_SKEW:
        raise FilingError("This time is in the future.", field)
    return when


def _choice(value, vocabulary: dict, field: str) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or value not in vocabulary:
        raise FilingError(f"Choose one of: {', '.join(vocabulary)}.", field)
    return value


def _text(value, field: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FilingError("Give text.", field)
    if len(value) > limit:
        raise FilingError(f"At most {limit} characters (this has {len(value)}).", field)
    return value.strip()


def _entries(case_id: int, entry_ids, field: str = "entry_ids") -> list[Entry]:
    if not isinstance(entry_ids, list | tuple) or not entry_ids or \
            not all(isinstance(i, int) and not isinstance(i, bool) for i in entry_ids):
        raise FilingError("Give a list of entry ids (at least one).", field)
    found = db.session.scalars(select(Entry).where(Entry.id.in_(set(entry_ids)), Entry.case_id == case_id)).all()
    missing = sorted(set(entry_ids) - {e.id for e in found})
    if missing:
        raise FilingError(f"Not entries of this case: {', '.join(map(str, missing))}.", field)
    withdrawn = sorted(e.number for e in found if e.withdrawn_at is not None)
    if withdrawn:
        raise FilingError(f"Withdrawn entries cannot be filed: #{', #'.join(map(str, withdrawn))}.", field)
    return sorted(found, key=lambda e: e.number)


def record_filing(actor: User | None, case_id: int, platform, channel, entry_ids, dossier_id=None, filed_at=None,
                  reference=None, requested_action=None, notes=None) -> Filing:
    """That these entries were reported on `platform` through `channel` (with a finished dossier, or without)."""
    platform = _choice(platform, PLATFORMS, "platform")
    if not platform:
        raise FilingError("Choose the platform it was reported to.", "platform")
    channel = _choice(channel, CHANNELS, "channel")
    if not channel:
        raise FilingError("Choose how it was reported.", "channel")
    when = parse_when(filed_at, "filed_at", required=False) or datetime.now(UTC)
    reference, notes = _text(reference, "reference", 200), _text(notes, "notes", 20_000)
    requested_action = _choice(requested_action, REQUESTED_ACTIONS, "requested_action")
    lock_case(case_id)
    entries = _entries(case_id, entry_ids)
    dossier = None
    if dossier_id is not None:
        dossier = db.session.get(Dossier, dossier_id) if isinstance(dossier_id, int) else None
        if dossier is None or dossier.case_id != case_id:
            raise FilingError("No such dossier in this case.", "dossier_id")
        if dossier.status != "done" or not dossier.sha256:
            raise FilingError("This dossier is not finished: file with a finished one, or without.", "dossier_id")
    filing = Filing(case_id=case_id, platform=platform, channel=channel, filed_at=when,
                    filed_by_id=getattr(actor, "id", None), reference=reference, notes=notes,
                    requested_action=requested_action, dossier_id=dossier.id if dossier else None,
                    document_id=dossier.document_id if dossier else "",
                    document_sha256=dossier.sha256 if dossier else "", entries=entries)
    db.session.add(filing)
    db.session.flush()
    record(actor, case_id, "filing.recorded", f"filing {filing.id}",
           {"filing": filing.id, "platform": platform, "channel": channel, "entries": [e.number for e in entries],
            "reference": reference, "document_id": filing.document_id, "document_sha256": filing.document_sha256,
            "filed_at": when.isoformat()})
    db.session.commit()
    return filing


CHANGEABLE = ("reference", "confirmed_at", "notes", "requested_action")


def update_filing(actor: User | None, filing: Filing, changes: dict) -> Filing:
    """The reference, the date the platform confirmed receipt, notes, the requested action. What was filed (the
    entries, the platform, the channel, the document) is history and does not change: record another filing."""
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise FilingError(f"{unknown[0]} cannot be changed: record another filing instead.", unknown[0])
    values = {}
    if "reference" in changes:
        values["reference"] = _text(changes["reference"], "reference", 200)
    if "notes" in changes:
        values["notes"] = _text(changes["notes"], "notes", 20_000)
    if "requested_action" in changes:
        values["requested_action"] = _choice(changes["requested_action"], REQUESTED_ACTIONS, "requested_action")
    if "confirmed_at" in changes:
        values["confirmed_at"] = parse_when(changes["confirmed_at"], "confirmed_at", required=False)
        if values["confirmed_at"] and values["confirmed_at"] < filing.filed_at:
            raise FilingError("Receipt cannot be confirmed before the filing.", "confirmed_at")
    lock_case(filing.case_id)
    changed = {k: v for k, v in values.items() if getattr(filing, k) != v}
    for key, value in changed.items():
        setattr(filing, key, value)
    if changed:
        record(actor, filing.case_id, "filing.changed", f"filing {filing.id}",
               {"filing": filing.id, **{k: v.isoformat() if isinstance(v, datetime) else v
                                        for k, v in changed.items()}})
    db.session.commit()
    return filing


COUNTRY = re.compile(r"[A-Z]{2}")


def _countries(value) -> list[str]:
    if value in (None, ""):
        return []
    items = [part.strip() for part in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(c, str) and COUNTRY.fullmatch(c) for c in items):
        raise FilingError("Give two-letter country codes in capitals (ISO 3166-1), e.g. [\"DE\", \"FR\"].",
                          "territorial_scope")
    return sorted(set(items))


def record_decision(actor: User | None, filing: Filing, data: dict) -> list[Decision]:
    """The platform's answer for some (default: all) entries of a filing: an action, "no violation found", or
    "no answer" (as of `decided_at`, default now)."""
    actions = {"visibility": _choice(data.get("visibility"), VISIBILITY, "visibility"),
               "account": _choice(data.get("account"), ACCOUNT, "account"),
               "monetary": _choice(data.get("monetary"), MONETARY, "monetary"),
               "provision": _choice(data.get("provision"), PROVISION, "provision")}
    flags = {}
    for key in ("no_action", "no_answer", "automated"):
        value = data.get(key)
        if value is not None and not isinstance(value, bool):
            raise FilingError("Give true or false.", key)
        flags[key] = value
    no_action, no_answer = bool(flags["no_action"]), bool(flags["no_answer"])
    if sum((any(actions.values()), no_action, no_answer)) != 1:
        raise FilingError("Record one of: what the platform did (visibility, account, monetary, provision), "
                          "no_action (no violation found) or no_answer.", "visibility")
    decided_at = parse_when(data.get("decided_at"), "decided_at", required=not no_answer) or datetime.now(UTC)
    if decided_at < filing.filed_at:
        raise FilingError("A decision cannot come before the filing.", "decided_at")
    scope = _countries(data.get("territorial_scope"))
    ground = _choice(data.get("ground"), GROUNDS, "ground")
    explanation = _text(data.get("explanation"), "explanation", 50_000)
    statement_id = _text(data.get("statement_id"), "statement_id", 200)
    lock_case(filing.case_id)
    ids = data.get("entry_ids")
    filed = {e.id: e for e in filing.entries}
    if ids is None:
        entries = list(filed.values())
    else:
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool)
                                                           for i in ids):
            raise FilingError("Give a list of entry ids (at least one), or leave it out for all.", "entry_ids")
        outside = sorted(set(ids) - set(filed))
        if outside:
            raise FilingError(f"Not entries of this filing: {', '.join(map(str, outside))}.", "entry_ids")
        entries = sorted((filed[i] for i in set(ids)), key=lambda e: e.number)
    rows = [Decision(filing_id=filing.id, entry_id=e.id, decided_at=decided_at, territorial_scope=scope,
                     ground=ground, explanation=explanation, automated=flags["automated"], no_action=no_action,
                     no_answer=no_answer, statement_id=statement_id, recorded_by_id=getattr(actor, "id", None),
                     **actions) for e in entries]
    db.session.add_all(rows)
    db.session.flush()
    record(actor, filing.case_id, "decision.recorded", f"filing {filing.id}",
           {"filing": filing.id, "entries": [e.number for e in entries], "decided_at": decided_at.isoformat(),
            **{k: v for k, v in actions.items() if v}, "no_action": no_action, "no_answer": no_answer,
            "territorial_scope": scope, "ground": ground, "statement_id": statement_id})
    db.session.commit()
    return rows


def record_appeal(actor: User | None, filing: Filing, data: dict) -> Appeal:
    kind = _choice(data.get("kind"), APPEAL_KINDS, "kind")
    if not kind:
        raise FilingError("Choose the kind of step.", "kind")
    filed_at = parse_when(data.get("filed_at"), "filed_at", required=False) or datetime.now(UTC)
    outcome = _choice(data.get("outcome"), APPEAL_OUTCOMES, "outcome") or "pending"
    outcome_at = parse_when(data.get("outcome_at"), "outcome_at", required=False)
    if outcome_at and outcome == "pending":
        raise FilingError("An outcome date needs an outcome.", "outcome")
    entry_id = data.get("entry_id")
    lock_case(filing.case_id)
    if entry_id is not None and entry_id not in {e.id for e in filing.entries}:
        raise FilingError("Not an entry of this filing.", "entry_id")
    if not filing.decisions and kind in ("internal_complaint", "out_of_court"):
        raise FilingError("Record the platform's decision (or no answer) first: the complaint is against it.",
                          "kind")
    appeal = Appeal(filing_id=filing.id, entry_id=entry_id, kind=kind, filed_at=filed_at, outcome=outcome,
                    outcome_at=outcome_at, reference=_text(data.get("reference"), "reference", 200),
                    notes=_text(data.get("notes"), "notes", 20_000), recorded_by_id=getattr(actor, "id", None))
    db.session.add(appeal)
    db.session.flush()
    record(actor, filing.case_id, "appeal.recorded", f"filing {filing.id}",
           {"filing": filing.id, "appeal": appeal.id, "kind": kind, "outcome": outcome,
            "filed_at": filed_at.isoformat(), "reference": appeal.reference})
    db.session.commit()
    return appeal


def dossier_entry_numbers(dossier: Dossier) -> set[int]:
    """The entries a finished dossier printed, as its export event recorded them."""
    from ..models import Event

    data = db.session.scalar(select(Event.data).where(Event.case_id == dossier.case_id,
                                                      Event.action == "dossier.exported",
                                                      Event.target == f"dossier:{dossier.document_id}"))
    return set((data or {}).get("entries") or [])


def main_platform(entries: list[Entry]) -> str | None:
    """The platform most of these entries are on: the one a filing of them goes to, unless a person says not."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.platform] = counts.get(entry.platform, 0) + 1
    return max(counts, key=counts.get) if counts else None


def complaint_window_closes(decision: Decision) -> date | None:
    """The last day of the internal-complaint window (DSA Art. 20: at least six months from the decision)."""
    return (decision.decided_at + COMPLAINT_WINDOW).date() if decision.decided_at and not decision.no_answer \
        else None


@dataclass(frozen=True)
class Status:
    key: str  # not_filed | filed | confirmed | decided | appealed | escalated
    label: str


def decision_label(d: Decision) -> str:
    if d.no_answer:
        return "no answer"
    if d.no_action:
        return "no action"
    parts = [VISIBILITY.get(d.visibility, ""), ACCOUNT.get(d.account, ""), MONETARY.get(d.monetary, "") if
             d.monetary else "", PROVISION.get(d.provision, "")]
    text = ", ".join(p.lower() for p in parts if p)
    if d.territorial_scope:
        text += f" in {len(d.territorial_scope)} countr{'y' if len(d.territorial_scope) == 1 else 'ies'}"
    return text


def entry_status(entry_id: int) -> Status:
    """The furthest step any filing of the entry reached: escalated > appealed > decided > confirmed > filed."""
    filings = db.session.scalars(select(Filing).where(Filing.entries.any(Entry.id == entry_id))
                                 .order_by(Filing.filed_at)).all()
    if not filings:
        return Status("not_filed", "not filed")
    appeals = [a for f in filings for a in f.appeals if a.entry_id in (None, entry_id)]
    if any(a.kind in ("out_of_court", "coordinator", "escalation") for a in appeals):
        return Status("escalated", "escalated")
    if appeals:
        return Status("appealed", "appealed")
    decisions = sorted((d for f in filings for d in f.decisions if d.entry_id == entry_id),
                       key=lambda d: (d.decided_at or d.created_at, d.id))
    answered = [d for d in decisions if not d.no_answer]
    if answered:
        return Status("decided", f"decided: {decision_label(answered[-1])}")
    if any(f.confirmed_at for f in filings):
        return Status("confirmed", "confirmed")
    return Status("filed", "filed")


FILE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "application/pdf", "text/html",
              "multipart/related", "message/rfc822")
MAIL_HEADERS = (b"return-path:", b"received:", b"from:", b"delivered-to:", b"mime-version:", b"date:",
                b"message-id:", b"subject:", b"to:", b"x-")


def _file_type(head: bytes, path) -> str:
    """A screenshot, a PDF, a saved page, or an email as saved by a mail client (.eml): said from the bytes."""
    from .sniff import UnsupportedType, sniff

    try:
        mime = sniff(head, path).mime
    except UnsupportedType:
        mime = "message/rfc822" if head.lstrip().lower().startswith(MAIL_HEADERS) else ""
    if mime not in FILE_TYPES:
        raise FilingError("Attach a screenshot (PNG, JPEG, WebP, GIF), a PDF, a saved page (HTML, MHTML) or an "
                          "email saved as .eml.", "file", 415)
    return mime


def add_filing_file(actor: User | None, filing: Filing, stream, filename: str, kind: str, store,
                    max_size: int | None, decision_id: int | None = None, appeal_id: int | None = None):
    """Keep a file of a filing by its hash (bytes first, then the row; undone on any failure)."""
    from ..models.filings import FILE_KINDS, FilingFile
    from .evidence import _safe_name, _undo
    from .storage import TooLarge

    kind = _choice(kind, FILE_KINDS, "kind")
    if not kind:
        raise FilingError("Say what the file is.", "kind")
    if decision_id is not None and decision_id not in {d.id for d in filing.decisions}:
        raise FilingError("Not a decision of this filing.", "decision_id")
    if appeal_id is not None and appeal_id not in {a.id for a in filing.appeals}:
        raise FilingError("Not an appeal of this filing.", "appeal_id")
    try:
        staged = store.stage(stream, max_size)
    except TooLarge as exc:
        raise FilingError("The file is larger than the upload limit.", "file", 413) from exc
    try:
        mime = _file_type(staged.head, staged.tmp_path)
    except BaseException:
        store.discard(staged)
        raise
    added: list[str] = []
    try:
        with store.writing():
            store.commit(staged, added)
            lock_case(filing.case_id)
            row = FilingFile(filing_id=filing.id, decision_id=decision_id, appeal_id=appeal_id, kind=kind,
                             sha256=staged.sha256, name=_safe_name(filename), mime=mime, size=staged.size,
                             uploaded_by_id=getattr(actor, "id", None))
            db.session.add(row)
            db.session.flush()
            record(actor, filing.case_id, "filing.file_added", f"filing {filing.id}",
                   {"filing": filing.id, "file": row.id, "kind": kind, "sha256": staged.sha256, "name": row.name,
                    "size": staged.size, "mime": mime})
            db.session.commit()
    except BaseException:
        _undo(store, added)
        store.discard(staged)
        raise
    return row


@dataclass(frozen=True)
class Reporting:
    """What the entry page shows about reporting: where it stands, its filings, the last re-checks."""
    status: Status
    filings: list
    observations: list


def entry_reporting(entry_id: int, last: int = 5) -> Reporting:
    from ..models.observations import Observation

    filings = list(db.session.scalars(select(Filing).where(Filing.entries.any(Entry.id == entry_id))
                                      .order_by(Filing.filed_at.desc(), Filing.id.desc())))
    seen = list(db.session.scalars(select(Observation).where(Observation.entry_id == entry_id)
                                   .order_by(Observation.checked_at.desc(), Observation.id.desc()).limit(last)))
    return Reporting(entry_status(entry_id), filings, seen)


def _answers(filing: Filing) -> dict[int, Decision]:
    """Each entry's latest answer in this filing that is not "no answer"."""
    latest: dict[int, Decision] = {}
    for d in sorted(filing.decisions, key=lambda d: (d.decided_at or filing.filed_at, d.id)):
        if not d.no_answer:
            latest[d.entry_id] = d
    return latest


def unanswered_numbers(case_id: int, filing_id: int) -> list[int] | None:
    """Entry numbers of a filing whose platform did nothing (no violation found, or no answer); None when the
    filing is not this case's."""
    filing = db.session.get(Filing, filing_id)
    if filing is None or filing.case_id != case_id:
        return None
    answers = _answers(filing)
    return sorted(e.number for e in filing.entries if e.id not in answers or answers[e.id].no_action)


def follow_up_data(filing_id: int, entries: list[Entry]) -> dict:
    """What a follow-up dossier says about the earlier report, as plain data (the render workers have no
    database): the filing, each entry's answer and re-checks, and the argument for the next step."""
    from ..models.observations import OUTCOMES, Observation

    filing = db.session.get(Filing, filing_id)
    answers, now = _answers(filing), datetime.now(UTC)
    dsa = filing.channel in ("dsa_notice", "trusted_flagger")
    rows = []
    for entry in entries:
        decision = answers.get(entry.id)
        checks = db.session.scalars(select(Observation).where(Observation.entry_id == entry.id)
                                    .order_by(Observation.checked_at.desc()).limit(5)).all()
        last = next((o for o in checks if o.outcome != "unknown"), None)
        up = f" The last re-check ({last.checked_at:%Y-%m-%d}) found it {OUTCOMES[last.outcome]}." if last else ""
        if decision is not None:
            closes = complaint_window_closes(decision)
            answer = f"No violation found, decided {decision.decided_at:%Y-%m-%d}."
            argument = ("The platform found no violation." + up + (
                f" Under Article 20 DSA the notifier may lodge a complaint against this decision until {closes}; "
                if dsa and closes else " The notifier asks for the decision to be reviewed; ")
                + "its entry in this dossier sets out again which rule the post breaks and why.")
        else:
            days = (now - filing.filed_at).days
            answer = f"No decision received, {days} days after the filing."
            closes = None
            argument = (f"No decision was received {days} days after the report"
                        + (f", whose receipt was confirmed on {filing.confirmed_at:%Y-%m-%d}" if filing.confirmed_at
                           else "") + "." + up + (
                " Article 16(5) DSA requires the provider to notify its decision without undue delay; without an "
                "answer the notifier may complain to the Digital Services Coordinator (Article 53 DSA)."
                if dsa else " The notifier asks for a decision."))
        rows.append({"number": entry.number, "url": entry.canonical_url, "answer": answer,
                     "statement": decision.explanation if decision else "",
                     "statement_id": decision.statement_id if decision else "",
                     "window_closes": closes.isoformat() if closes else "", "argument": argument,
                     "checks": [{"at": f"{o.checked_at:%Y-%m-%d %H:%M} UTC", "outcome": OUTCOMES[o.outcome],
                                 "http_status": o.http_status or ""} for o in checks]})
    return {"filing": {"platform": PLATFORMS.get(filing.platform, filing.platform), "channel": filing.channel_label,
                       "filed_at": f"{filing.filed_at:%Y-%m-%d %H:%M} UTC", "reference": filing.reference,
                       "document_id": filing.document_id, "document_sha256": filing.document_sha256,
                       "confirmed_at": f"{filing.confirmed_at:%Y-%m-%d}" if filing.confirmed_at else ""},
            "entries": rows}


def update_appeal(actor: User | None, appeal: Appeal, data: dict) -> Appeal:
    """The outcome of a step when it comes (and its reference, notes); what was filed and when stays."""
    unknown = sorted(set(data) - {"outcome", "outcome_at", "reference", "notes"})
    if unknown:
        raise FilingError(f"{unknown[0]} cannot be changed: record another step instead.", unknown[0])
    values = {}
    if "outcome" in data:
        values["outcome"] = _choice(data["outcome"], APPEAL_OUTCOMES, "outcome") or "pending"
    if "outcome_at" in data:
        values["outcome_at"] = parse_when(data["outcome_at"], "outcome_at", required=False)
        if values["outcome_at"] and values["outcome_at"] < appeal.filed_at:
            raise FilingError("The outcome cannot come before the step was filed.", "outcome_at")
    if "reference" in data:
        values["reference"] = _text(data["reference"], "reference", 200)
    if "notes" in data:
        values["notes"] = _text(data["notes"], "notes", 20_000)
    outcome = values.get("outcome", appeal.outcome)
    if values.get("outcome_at", appeal.outcome_at) and outcome == "pending":
        raise FilingError("An outcome date needs an outcome.", "outcome")
    lock_case(appeal.filing.case_id)
    changed = {k: v for k, v in values.items() if getattr(appeal, k) != v}
    for key, value in changed.items():
        setattr(appeal, key, value)
    if changed:
        record(actor, appeal.filing.case_id, "appeal.changed", f"filing {appeal.filing_id}",
               {"filing": appeal.filing_id, "appeal": appeal.id,
                **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in changed.items()}})
    db.session.commit()
    return appeal
