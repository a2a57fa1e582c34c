"""HTML for each part of the dossier, from Jinja templates under templates/pdf/, with autoescaping on."""

import logging
from functools import cache

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from weasyprint import HTML

from ... import TEMPLATES
from ...bidi import ltr_urls, paragraphs
from .fetcher import EvidenceFetcher
from .sections import shown


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    # Only for HTML we made ourselves: Markdown already cleaned by nh3, and the chart's SVG (its text escaped).
    env.filters["safe_html"] = Markup
    env.filters["ltr_urls"] = ltr_urls
    env.filters["paragraphs"] = paragraphs  # each line of user text with the direction of its own first letter
    env.globals["dossier_sections"] = shown  # the sections and their order (sections.py)
    return env


def front_html(d: dict) -> str:
    return environment().get_template("pdf/front.html").render(d=d, single=False)


def entries_html(d: dict, entries: list[dict]) -> str:
    return environment().get_template("pdf/entries.html").render(d=d, entries=entries)


def back_html(d: dict) -> str:
    return environment().get_template("pdf/back.html").render(d=d)


def single_html(d: dict) -> str:
    return environment().get_template("pdf/single.html").render(d=d, single=True)


def layout(html: str, store):
    """Lay out a part: user content is never trusted, so no presentational hints and our fetcher only."""
    return HTML(string=html, base_url="evidence:", url_fetcher=EvidenceFetcher(store)).render(
        presentational_hints=False)


class MissingAnchorFilter(logging.Filter):
    """The contents pages link to entries laid out in other parts; we add those links after merging."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No anchor #")


logging.getLogger("weasyprint").addFilter(MissingAnchorFilter())
