"""Find the web addresses in pasted text: one per line, several per line, or mixed with prose."""

import re

from ...platforms import scheme_less_hosts

# An address with its scheme, or one written without it on a host a platform owns ("t.me/chan/6").
_URL = re.compile(
    r"(?:https?://|(?<![\w@./])(?:(?:www|mobile|m)\.)?(?:" + "|".join(map(re.escape, scheme_less_hosts())) + ")/)"
    r"[^\s<>\"'`«»]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>'\"’”»"


def extract_urls(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, the line, an address or None) for every non-blank line; a line with two addresses
    gives two rows, so nothing pasted is lost."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        urls = [_clean(m.group(0)) for m in _URL.finditer(line)]
        if not urls:
            found.append((number, line.strip(), None))
        found.extend((number, line.strip(), url) for url in urls)
    return found


def _clean(url: str) -> str:
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # a balanced parenthesis belongs to the address
        url = url[:-1]
    return url
