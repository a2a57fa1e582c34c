"""Jinja filters: sanitised Markdown, times (UTC for exports, the reader's zone for pages), sizes."""

from datetime import UTC, datetime, tzinfo

import markdown as md
import nh3
from flask import Flask, has_request_context
from flask_login import current_user
from markupsafe import Markup

from .bidi import ltr_urls, markdown_dirs, paragraphs
from .services import dates
from .services.urls import URLError, parse_post_url

ALLOWED_TAGS = {"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "code", "pre", "a", "h3",
                "h4", "hr"}


def render_markdown(text: str | None) -> Markup:
    """Markdown to HTML, then sanitised with nh3: user HTML, scripts and javascript: links are removed."""
    html = md.markdown(text or "", extensions=["sane_lists"], output_format="html")
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")
    return Markup(clean)  # noqa: S704 - sanitised just above


def utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime(fmt)


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time for the person reading the page: in their time zone (Settings), with the zone named,
    "2024-05-28 10:30 Tehran (UTC+03:30)". Exports and the PDF dossier use `utc`."""
    if value is None:
        return ""
    return dates.zone_text(value, viewer_zone(), fmt)


def id_time_note(entry) -> str:
    """On an entry whose typed post time a person confirmed against the time in its post id: how far apart
    they are, in the reader's zone ("" when they agree, or nothing was confirmed)."""
    if entry.posted_at_source != "person" or entry.posted_at is None:
        return ""
    try:
        derived = parse_post_url(entry.canonical_url).posted_at
    except URLError:
        return ""
    gap = dates.disagreement(entry.posted_at, derived)
    if gap is None:
        return ""
    return (f"The post id says {dates.zone_text(derived, viewer_zone())}, {dates.gap_text(gap)} away; a person "
            "confirmed the typed time.")


def posted_at_problem(entry) -> str:
    """An impossible post time stored before imports checked (a Solar Hijri year read as Gregorian, say)."""
    problem = dates.plausibility_problem(entry.posted_at, entry.platform)
    return f"This time cannot be right: {problem} Edit the entry to correct it." if problem else ""


def viewer_zone() -> tzinfo:
    """The signed-in user's zone; UTC outside a request, for nobody signed in, or for a name not known here."""
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return UTC
    try:
        return dates.zone_named(current_user.time_zone)
    except dates.DateError:
        return UTC


def filesize(n: int | None) -> str:
    size = float(n or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def init_app(app: Flask) -> None:
    from .models import ANNOTATION_KINDS, STATUSES

    app.jinja_env.filters.update(markdown=render_markdown, utc=utc, local=local, filesize=filesize, ltr_urls=ltr_urls)
    app.jinja_env.filters.update(paragraphs=paragraphs, markdown_dirs=markdown_dirs)  # bidi: a direction a paragraph
    app.jinja_env.globals.update(statuses=STATUSES, kinds=ANNOTATION_KINDS)
    app.jinja_env.globals.update(id_time_note=id_time_note, posted_at_problem=posted_at_problem)
