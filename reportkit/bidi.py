"""Keep addresses readable inside right-to-left text.

In a Persian, Arabic or Hebrew paragraph the Unicode bidi algorithm treats a URL's ':' and '/' as neutral
characters and moves them: "https://example.org/a" can come out as "//:https" or with its last slash in
front. Both the browser pages and the PDF wrap each URL of the user's text in a left-to-right span (and
escape everything, the URL included), so the address reads as typed.
"""

import re

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
