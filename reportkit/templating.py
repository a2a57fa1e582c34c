"""Jinja filters: sanitised Markdown, times (UTC for exports, the reader's zone for pages), sizes; `can(right)`."""

from datetime import UTC, datetime, tzinfo

import markdown as md
import nh3
from flask import Flask, has_request_context
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

from .bidi import ltr_urls, markdown_dirs, paragraphs
from .services import access, dates
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


def rights_helper() -> dict:
    """`can(right)` for the templates: whether the signed-in user's role in the page's `case` (or the case named,
    `can('edit', other_case)`) holds `right` in `models.PERMISSIONS`. It decides what a page shows; the view has
    already decided what may be done. Roles are looked up once per case and page."""
    from .models import PERMISSIONS

    rights = frozenset().union(*PERMISSIONS.values())
    roles: dict[int, str | None] = {}

    @pass_context
    def can(context, right: str, case=None) -> bool:
        if right not in rights:  # a typo in a template would hide a button for everyone: fail loudly instead
            raise ValueError(f"can({right!r}): not a right; the rights are {', '.join(sorted(rights))}")
        case = context.get("case") if case is None else case
        if case is None or not has_request_context():
            return False
        case_id = case if isinstance(case, int) else case.id
        if case_id not in roles:
            roles[case_id] = access.role_in(case_id, current_user)
        role = roles[case_id]
        return role is not None and right in PERMISSIONS[role]

    return {"can": can}


def init_app(app: Flask) -> None:
    from .models import ANNOTATION_KINDS, STATUSES

    app.jinja_env.filters.update(markdown=render_markdown, utc=utc, local=local, filesize=filesize, ltr_urls=ltr_urls)
    app.jinja_env.filters.update(paragraphs=paragraphs, markdown_dirs=markdown_dirs)  # bidi: a direction a paragraph
    app.jinja_env.globals.update(statuses=STATUSES, kinds=ANNOTATION_KINDS)
    app.jinja_env.globals.update(id_time_note=id_time_note, posted_at_problem=posted_at_problem)
    app.context_processor(rights_helper)
