"""Jinja filters: sanitised Markdown, UTC times, sizes."""

from datetime import datetime, timezone

import markdown as md
import nh3
from flask import Flask
from markupsafe import Markup

from .bidi import ltr_urls

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
    return value.astimezone(timezone.utc).strftime(fmt)


def filesize(n: int | None) -> str:
    size = float(n or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def init_app(app: Flask) -> None:
    from .models import ANNOTATION_KINDS, STATUSES

    app.jinja_env.filters.update(markdown=render_markdown, utc=utc, filesize=filesize, ltr_urls=ltr_urls)
    app.jinja_env.globals.update(statuses=STATUSES, kinds=ANNOTATION_KINDS)
