"""Is a reported post still up? Ask the platform's public embed endpoint and keep what it answered.

The outcome is online, removed, withheld, or unknown: a login wall, a rate limit, a redirect, a network error or
an answer we cannot read is "unknown", never a guess. Each check is an `Observation` (time, HTTP status, the
SHA-256 of the body) and a custody event. The endpoints are configuration (`RECHECK_ENDPOINTS`, merged over
`ENDPOINTS` below), so tests point them at a local fake platform; `RECHECK_PROXY` sends every check through a
proxy, so platforms do not see the server's address.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import requests
from sqlalchemy import func, select

from ..extensions import db
from ..models import Entry, Filing, User
from ..models.filings import filing_entry
from ..models.observations import Observation
from .custody import record

# platform -> (address template, how to read the answer). Placeholders: {url} (the post's address, quoted),
# {host}, {path}, {post_id}, {handle}. Public endpoints, no token; verify each before relying on it.
ENDPOINTS = {
    "x": ("https://publish.twitter.com/oembed?url={url}", "oembed"),
    "youtube": ("https://www.youtube.com/oembed?url={url}&format=json", "oembed"),
    "tiktok": ("https://www.tiktok.com/oembed?url={url}", "oembed"),
    "bluesky": ("https://public.api.bsky.app/xrpc/app.bsky.feed.getPostThread?depth=0&uri="
                "at://{handle}/app.bsky.feed.post/{post_id}", "bluesky"),
    "mastodon": ("https://{host}/api/v1/statuses/{post_id}", "mastodon"),
    "telegram": ("https://t.me{path}?embed=1", "telegram"),
}
MAX_BODY = 2 * 1024 * 1024  # bytes read from an answer; the hash covers what was read


@dataclass(frozen=True)
class Seen:
    outcome: str
    detail: str


def endpoint_for(app, entry: Entry) -> tuple[str, str] | None:
    """The address to ask about this entry and how to read it; None for a platform without a public endpoint
    (Meta's oEmbed needs an app token: the honest answer there is "unknown")."""
    configured = {**ENDPOINTS, **{k: tuple(v) for k, v in (app.config.get("RECHECK_ENDPOINTS") or {}).items()}}
    if entry.platform not in configured:
        return None
    template, reader = configured[entry.platform]
    parts = urlsplit(entry.canonical_url)
    return template.format(url=quote(entry.canonical_url, safe=""), host=parts.hostname or "", path=parts.path,
                           post_id=quote(entry.post_id or "", safe=""), handle=quote(entry.handle or "", safe="")), \
        reader


def read_answer(reader: str, status: int, body: bytes) -> Seen:
    """What an answer says about the post. Only clear signs count as removed or withheld."""
    if status == 451:
        return Seen("withheld", "The platform answered 451: unavailable for legal reasons where we checked.")
    if status in (404, 410) and reader != "bluesky":
        return Seen("removed", f"The platform answered {status}: not found.")
    if status in (401, 403):
        return Seen("unknown", f"The platform answered {status}: a login or permission wall, not a removal.")
    if status == 429:
        return Seen("unknown", "Rate-limited by the platform (429): checked again later.")
    if reader == "telegram":
        text = body.decode("utf-8", "replace")
        if status == 200 and "tgme_widget_message_error" in text:
            return Seen("removed", "Telegram's embed view says the post is not found.")
        if status == 200 and "tgme_widget_message_text" in text:
            return Seen("online", "Telegram's embed view shows the post.")
        return Seen("unknown", f"Telegram's embed view answered {status} without the post or an error.")
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return Seen("unknown", f"The platform answered {status} with something that is not JSON.")
    if reader == "bluesky":
        if status == 400 and isinstance(data, dict) and data.get("error") == "NotFound":
            return Seen("removed", "Bluesky's public API says the post is not found.")
        if status == 200 and isinstance(data, dict) and isinstance(data.get("thread"), dict):
            if data["thread"].get("$type", "").endswith("#notFoundPost") or data["thread"].get("notFound"):
                return Seen("removed", "Bluesky's public API says the post is not found.")
            return Seen("online", "Bluesky's public API returns the post.")
    elif reader == "mastodon":
        if status == 200 and isinstance(data, dict) and data.get("id"):
            return Seen("online", "The server's API returns the post.")
    elif status == 200 and isinstance(data, dict) and data.get("html"):
        return Seen("online", "The embed endpoint returns the post.")
    return Seen("unknown", f"The platform answered {status} in a shape we do not read as online or removed.")


def check_entry(app, actor: User | None, entry: Entry, scheduled: bool = False) -> Observation:
    """Check one entry now, write the observation and its custody event (one transaction). `scheduled`: the
    queue's daily task asked, not a person (the event says so; its actor is then None)."""
    found = endpoint_for(app, entry)
    status, digest, address = None, "", ""
    if found is None:
        seen = Seen("unknown", f"No public endpoint to check {entry.platform} posts without an account.")
    else:
        address, reader = found
        try:
            status, body = _fetch(app, address)
        except requests.RequestException as exc:
            seen = Seen("unknown", f"Network error: {type(exc).__name__}.")
        else:
            digest = hashlib.sha256(body).hexdigest()
            seen = read_answer(reader, status, body)
    return record_observation(actor, entry, seen, status, digest, address, scheduled)


def record_observation(actor: User | None, entry: Entry, seen: Seen, status: int | None, digest: str,
                       address: str, scheduled: bool = False, when: datetime | None = None) -> Observation:
    """Write what a check saw, and its custody event (one transaction)."""
    previous = db.session.scalar(select(Observation.outcome).where(Observation.entry_id == entry.id,
                                                                   Observation.outcome != "unknown")
                                 .order_by(Observation.checked_at.desc(), Observation.id.desc()).limit(1))
    obs = Observation(entry_id=entry.id, checked_at=when or datetime.now(UTC), outcome=seen.outcome,
                      http_status=status,
                      body_sha256=digest, endpoint=address.split("?")[0][:300], detail=seen.detail,
                      back_online=previous in ("removed", "withheld") and seen.outcome == "online",
                      requested_by_id=getattr(actor, "id", None))
    db.session.add(obs)
    db.session.flush()
    record(actor, entry.case_id, "post.checked", f"entry #{entry.number}",
           {"outcome": seen.outcome, "http_status": status, "body_sha256": digest, "back_online": obs.back_online,
            "observation": obs.id, "scheduled": scheduled}, entry_id=entry.id)
    db.session.commit()
    return obs


def _fetch(app, address: str) -> tuple[int, bytes]:
    proxy = app.config.get("RECHECK_PROXY") or None
    with requests.get(address, timeout=app.config.get("RECHECK_TIMEOUT", 10), allow_redirects=False, stream=True,
                      proxies={"http": proxy, "https": proxy} if proxy else None,
                      headers={"User-Agent": "reportkit-recheck/1 (+a reported post's availability)"}) as resp:
        if 300 <= resp.status_code < 400:  # a redirect to a login page or a consent wall: not an answer
            return resp.status_code, b""
        body = resp.raw.read(MAX_BODY + 1, decode_content=True)[:MAX_BODY]
        return resp.status_code, body


def filed_entries(case_id: int | None = None, due_before: datetime | None = None) -> list[Entry]:
    """Entries in at least one filing (of one case), optionally only those not checked since `due_before`."""
    query = select(Entry).where(Entry.id.in_(select(filing_entry.c.entry_id).join(
        Filing, Filing.id == filing_entry.c.filing_id)), Entry.withdrawn_at.is_(None))
    if case_id is not None:
        query = query.where(Entry.case_id == case_id)
    if due_before is not None:
        last = select(func.max(Observation.checked_at)).where(Observation.entry_id == Entry.id).scalar_subquery()
        query = query.where((last.is_(None)) | (last < due_before))
    return list(db.session.scalars(query.order_by(Entry.case_id, Entry.number)))


def recheck_due(app) -> int:
    """The scheduler's task: check every filed entry not checked in `RECHECK_EVERY_HOURS`."""
    due = datetime.now(UTC) - timedelta(hours=app.config.get("RECHECK_EVERY_HOURS", 24))
    entries = filed_entries(due_before=due)
    for entry in entries:
        check_entry(app, None, entry, scheduled=True)
    return len(entries)


def observations_of(entry_id: int) -> list[Observation]:
    return list(db.session.scalars(select(Observation).where(Observation.entry_id == entry_id)
                                   .order_by(Observation.checked_at.desc(), Observation.id.desc())))


def run_recheck_job(app, entry_id: int, user_id: int | None) -> None:
    """The queue's task for "re-check now" (a person asked: page, API or CLI)."""
    with app.app_context():
        try:
            entry = db.session.get(Entry, entry_id)
            if entry is not None:
                check_entry(app, db.session.get(User, user_id) if user_id else None, entry)
        except Exception:  # noqa: BLE001 - logged for the operator; no observation means "not checked"
            db.session.rollback()
            app.logger.exception("re-check of entry %s failed", entry_id)
        finally:
            db.session.remove()


def run_recheck_due(app) -> None:
    """The scheduler's task (services/queue.py): every filed post not checked for RECHECK_EVERY_HOURS."""
    with app.app_context():
        try:
            app.logger.info("scheduled re-check: %s posts checked", recheck_due(app))
        except Exception:  # noqa: BLE001
            db.session.rollback()
            app.logger.exception("scheduled re-check failed")
        finally:
            db.session.remove()
