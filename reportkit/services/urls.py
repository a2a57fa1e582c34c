"""Recognise a post URL, name its platform, handle and post id, and give one canonical address.

Which platform owns a host, and how each reads its post addresses, is in the registry (reportkit/platforms.py);
this module does what is common: refuse what is no web address, pick the platform, canonicalise the rest.

Many URL shapes lead to one post (mirrors, mobile hosts, tracking parameters, `/photo/1` tails); the
canonical address is what duplicates are detected on. Where a post id encodes its creation time (X
snowflakes, TikTok ids, Bluesky TIDs) the time is derived, so nobody has to type it.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from ..platforms import OTHER, REGISTRY, label, platform_of_host


class URLError(ValueError):
    """The input is not a URL we accept; the message says why in words a user understands."""


@dataclass(frozen=True)
class PostURL:
    submitted: str
    canonical: str
    platform: str
    handle: str = ""
    post_id: str = ""
    posted_at: datetime | None = None  # derived from the id, UTC

    @property
    def is_post(self) -> bool:
        return bool(self.post_id)


MAX_URL_LENGTH = 2048
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_\-]{0,61}[a-z0-9_])?\.)*[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?$")
_IPV6 = re.compile(r"^\[[0-9a-f:.]+\]$")
_TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|igshid|igsh|mibextid|si|ref_src|ref_url|s|t|feature|_rdr|__tn__"
                       r"|__cft__.*)$")


def parse_post_url(raw: str) -> PostURL:
    """Parse what a person pasted; raise URLError with a clear reason if it cannot be a web address."""
    parts = _split(raw)
    host = parts.hostname.rstrip(".")
    bare = re.sub(r"^(www\.|mobile\.|m\.)", "", host)
    segs = [s for s in parts.path.split("/") if s]
    query = parse_qs(parts.query)
    submitted = raw.strip()
    owner = platform_of_host(bare)
    candidates = [owner] if owner else [p for p in REGISTRY.values() if p.any_host]
    for platform in candidates:
        found = platform.parse(bare, segs, query) if platform.parse else None
        if found:
            canonical, handle, post_id = found
            posted_at = platform.time_from_id(post_id) if post_id and platform.time_from_id else None
            return PostURL(submitted, canonical, platform.key, handle, post_id, posted_at)
    return PostURL(submitted, _normalise(parts, host), owner.key if owner else OTHER)


def without_tracking(url: str) -> str:
    """The address with its share-tracking parameters (who shared it, from where) and fragment removed; the
    rest as it was. Exports print this, never the address as submitted."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    pairs = [(k, v) for k, vs in parse_qs(parts.query, keep_blank_values=True).items() for v in vs
             if not _TRACKING.match(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(pairs), ""))


def _split(raw: str):
    if not isinstance(raw, str) or not raw.strip():
        raise URLError("Enter the address of the post.")
    text = raw.strip()
    if len(text) > MAX_URL_LENGTH:
        raise URLError(f"That address is longer than {MAX_URL_LENGTH} characters.")
    if re.search(r"[\s\x00-\x1f\x7f]", text):
        raise URLError("An address cannot contain spaces or control characters.")
    if not _SCHEME.match(text) or text.lower().startswith(("localhost:",)):
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise URLError(f"Only http and https addresses are accepted, not “{parts.scheme}:”.")
    if not parts.netloc:
        raise URLError("That address has no host name.")
    if "@" in parts.netloc:
        raise URLError("Addresses with a user name or password in them are refused.")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise URLError("That address has an invalid port number.") from exc
    host = (parts.hostname or "").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii").lower() if not _IPV6.match(f"[{host}]") else host
    except UnicodeError as exc:
        raise URLError("That host name is not valid.") from exc
    if not (_HOST.match(host) or _IPV6.match(f"[{host}]")) or "." not in host and ":" not in host:
        raise URLError("That host name is not valid.")
    return parts._replace(scheme=parts.scheme.lower())


def _normalise(parts, host: str) -> str:
    """Lower-case scheme and host, default port dropped, fragment and tracking parameters removed."""
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        netloc = f"[{host}]" if port in (None, 80, 443) else f"[{host}]:{port}"
    pairs = [(k, v) for k, vs in parse_qs(parts.query, keep_blank_values=True).items() for v in vs
             if not _TRACKING.match(k)]
    return urlunsplit((parts.scheme, netloc, parts.path or "/", urlencode(pairs), ""))


def not_a_post(post: PostURL) -> str:
    """Why the address does not name one post of a platform we know, in a person's words ("" when it does).
    Bulk intake refuses such a line unless the person chose to add web pages as "other" (a news article, a
    blog); a known platform's address that names no post (a profile, a share button) is refused everywhere."""
    parts = urlsplit(post.canonical)
    segs = [s.lower() for s in parts.path.split("/") if s]
    platform = REGISTRY.get(post.platform)
    special = platform.not_a_post(parts.hostname or "", segs) if platform and platform.not_a_post else ""
    if special:  # the platform's own reason (a Facebook group's share link is refused even with its id)
        return special
    if post.is_post:
        return ""
    if post.platform == OTHER:
        return (f"{parts.hostname} is not a platform reportkit knows: a news article or another web page, "
                "not a social-media post")
    name = label(post.platform)
    if not segs:
        return f"the home page of {name}, not a post"
    if any(s in ("watch", "shorts", "live", "status", "statuses", "p", "reel", "reels", "video", "post", "posts")
           for s in segs[:3]):
        return f"an address on {name} whose post id is missing or not one the platform uses"
    if segs[0] in ("search", "explore", "hashtag", "results", "tag", "discover", "feed"):
        return f"a search or list on {name}, not one post"
    if len(segs) == 1 or segs[0] in ("profile", "profile.php", "people", "user", "channel", "c") or \
            segs[0].startswith("@") and len(segs) <= 2:
        return f"a profile or page on {name}, not one of its posts"
    return f"this address on {name} names no single post (a list or a short link?)"
