"""Keep addresses readable inside right-to-left text.

In a Persian, Arabic or Hebrew paragraph the Unicode bidi algorithm treats a URL's ':' and '/' as neutral
characters and moves them: "https://example.org/a" can come out as "//:https" or with its last slash in
front. Both the browser pages and the PDF wrap each URL of the user's text in a left-to-right span (and
escape everything, the URL included), so the address reads as typed.
"""

import html as html_lib
import re
import unicodedata
from html.parser import HTMLParser

from markupsafe import Markup, escape

URL = re.compile(r"https?://[^\s<>\"']+")
SHORT = 80  # characters: a URL this short fits on one line, so it may be kept whole (class "whole")


def ltr_urls(text: str | None) -> Markup:
    """The text, escaped, with each URL in a left-to-right span (the URL's own characters escaped too)."""
    text, out, position = text or "", [], 0
    for match in URL.finditer(text):
        whole = ' class="whole"' if len(match.group()) <= SHORT else ""
        out += [escape(text[position:match.start()]), Markup(f'<span dir="ltr"{whole}>'), escape(match.group()),
                Markup("</span>")]
        position = match.end()
    out.append(escape(text[position:]))
    return Markup("").join(out)


# Every paragraph of user text gets its own direction, from its first strong character (UAX #9, rules P2-P3).
# A block with dir="auto" would do that in a browser, but WeasyPrint ignores "auto" (the PDF laid a Persian
# paragraph out left to right, its full stop at the wrong end), and one direction for a whole block turns the
# English line of a mixed text around (".Posts that call…"). So each line (plain text) or block (Markdown) is
# its own element, with its direction computed here, the same for pages and PDF.

STRONG_RTL = {"R", "AL"}
_BLOCKS = {"p", "li", "h3", "h4", "blockquote", "pre"}


def direction(text: str | None) -> str | None:
    """"rtl" or "ltr" from the first strong character, URLs skipped (they are laid out left to right in their
    own span whatever the paragraph); None when the text has no strong character (digits, punctuation)."""
    for char in URL.sub(" ", text or ""):
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in STRONG_RTL:
            return "rtl"
    return None


def paragraphs(text: str | None) -> Markup:
    """Plain user text as one <div> per line, each with the direction of its own first strong character (or
    "auto" when it has none), URLs kept left to right, everything escaped. No whitespace between the divs:
    the containers keep white-space: pre-wrap."""
    out = []
    for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            out.append(Markup('<div class="para blank"><br></div>'))
            continue
        out.append(Markup('<div class="para" dir="{}">{}</div>').format(direction(line) or "auto", ltr_urls(line)))
    while out and out[-1] == Markup('<div class="para blank"><br></div>'):  # a trailing newline adds no line
        out.pop()
    return Markup("").join(out)


_LIST_OR_BLOCK = re.compile(r"^\s*([-*+]\s|\d+[.)]\s|>|#|```|~~~|\s{4}|\t)")


def split_mixed_lines(markdown_text: str | None) -> str:
    """Markdown joins consecutive lines into one paragraph; when they are in different directions (a Persian
    line, then its English version) they become paragraphs of their own, so each can get its direction."""
    lines = (markdown_text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    for line in lines:
        if out and out[-1].strip() and line.strip() and not _LIST_OR_BLOCK.match(line) \
                and not _LIST_OR_BLOCK.match(out[-1]):
            before, now = direction(out[-1]), direction(line)
            if before and now and before != now:
                out.append("")
        out.append(line)
    return "\n".join(out)


class _Directions(HTMLParser):
    """Re-emits sanitised HTML with dir="rtl|ltr" on each block (p, li, h3, h4, blockquote, pre) from the first
    strong character of its own text."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.tokens: list[tuple[str, str, str]] = []  # (kind, tag, raw)

    def handle_starttag(self, tag, attrs):
        self.tokens.append(("start", tag, self.get_starttag_text()))

    def handle_startendtag(self, tag, attrs):
        self.tokens.append(("empty", tag, self.get_starttag_text()))

    def handle_endtag(self, tag):
        self.tokens.append(("end", tag, f"</{tag}>"))

    def handle_data(self, data):
        self.tokens.append(("data", "", data))

    def handle_entityref(self, name):
        self.tokens.append(("data", "", f"&{name};"))

    def handle_charref(self, name):
        self.tokens.append(("data", "", f"&#{name};"))


def html_dirs(html: str | Markup) -> Markup:
    """Our own sanitised HTML (Markdown cleaned by nh3) with a direction on each block; nothing else changes."""
    parser = _Directions()
    parser.feed(str(html))
    parser.close()
    tokens, out = parser.tokens, []
    for i, (kind, tag, raw) in enumerate(tokens):
        if kind == "start" and tag in _BLOCKS and " dir=" not in raw:
            depth, text = 0, []
            for k, t, r in tokens[i:]:
                depth += 1 if k == "start" and t == tag else -1 if k == "end" and t == tag else 0
                if k == "data":
                    text.append(html_lib.unescape(r))
                if depth == 0:
                    break
            found = direction("".join(text))
            if found:
                raw = raw[:-1].rstrip("/") + f' dir="{found}">'
        out.append(raw)
    return Markup("".join(out))  # noqa: S704 - our sanitised HTML, re-emitted token by token


def markdown_dirs(text: str | None) -> Markup:
    """User Markdown, sanitised, each paragraph with its own direction: for summaries, notes and the like."""
    from .templating import render_markdown  # templating imports this module for its filters

    return html_dirs(render_markdown(split_mixed_lines(text)))
