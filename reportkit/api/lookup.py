"""What reportkit makes of a post address before anything is saved: the browser extension asks this so the person
sees the canonical URL, the platform, and whether the post is already an entry of the case ("already entry #12")
before capturing. It reads only; it needs the case's read right, like the entry list."""

from flask import g, request, url_for

from ..platforms import label
from ..services import access, serialize
from ..services.entries import find_duplicate
from ..services.language import guess_language
from ..services.urls import URLError, not_a_post, parse_post_url
from .base import APIError, bp

MAX_TEXT = 5000  # the language guess reads far less (services/language.py); more is refused, not cut silently


@bp.get("/cases/<int:case_id>/lookup")
def lookup(case_id: int):
    case = access.case_for(g.api_user, case_id)
    raw = request.args.get("url", "")
    text = request.args.get("text")
    if text is not None and len(text) > MAX_TEXT:
        raise APIError(422, "validation_error", "The text is too long to guess its language from.",
                       {"text": [f"At most {MAX_TEXT:,} characters (the first sentences are enough)."]})
    try:
        post = parse_post_url(raw)
    except URLError as exc:
        raise APIError(422, "validation_error", str(exc), {"url": [str(exc)]}) from None
    problem = not_a_post(post)
    entry = find_duplicate(case.id, post)
    return {
        "url": post.submitted, "canonical_url": post.canonical, "platform": post.platform,
        "platform_label": label(post.platform), "handle": post.handle or None, "post_id": post.post_id or None,
        "posted_at": serialize.iso(post.posted_at),
        # a known platform's address that names no post is refused when the entry is made (services/entries.py)
        "accepted": post.platform == "other" or post.is_post, "problem": problem or None,
        "entry": {"id": entry.id, "number": entry.number, "status": entry.status, "sealed": entry.sealed,
                  "web_url": url_for("entries.view", entry_id=entry.id)} if entry else None,
        "language": guess_language(text) or None if text is not None else None,
    }
