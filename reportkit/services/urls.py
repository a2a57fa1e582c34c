"""Recognise a post URL, name its platform, handle and post id, and give one canonical address.

Many URL shapes lead to one post (mirrors, mobile hosts, tracking parameters, `/photo/1` tails); the
canonical address is what duplicates are detected on. Where a post id encodes its creation time (X
snowflakes, TikTok ids, Bluesky TIDs) the time is derived, so nobody has to type it.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from ..models.cases import PLATFORMS


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
_TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|igshid|igsh|mibextid|si|ref_src|ref_url|s|t|feature|_rdr|__tn__|__cft__.*)$")

X_HOSTS = {"twitter.com", "x.com", "fxtwitter.com", "vxtwitter.com", "fixupx.com", "fixvx.com", "twittpr.com",
           "nitter.net", "fxtwitter.net"}
FB_HOSTS = {"facebook.com", "fb.com", "web.facebook.com", "business.facebook.com"}
YT_HOSTS = {"youtube.com", "music.youtube.com", "youtube-nocookie.com"}
TG_HOSTS = {"t.me", "telegram.me", "telegram.dog"}
X_RESERVED = {"i", "home", "search", "explore", "intent", "share", "settings", "hashtag", "messages"}

TWITTER_EPOCH_MS = 1288834974657
FIRST_SNOWFLAKE = 30_000_000_000  # ids below this (before Nov 2010) carry no time
BSKY_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def parse_post_url(raw: str) -> PostURL:
    """Parse what a person pasted; raise URLError with a clear reason if it cannot be a web address."""
    parts = _split(raw)
    host = parts.hostname.rstrip(".")
    bare = re.sub(r"^(www\.|mobile\.|m\.)", "", host)
    segs = [s for s in parts.path.split("/") if s]
    query = parse_qs(parts.query)
    submitted = raw.strip()
    for parser in (_x, _facebook, _instagram, _threads, _youtube, _tiktok, _telegram, _bluesky, _mastodon):
        found = parser(bare, segs, query)
        if found:
            platform, canonical, handle, post_id, posted_at = found
            return PostURL(submitted, canonical, platform, handle, post_id, posted_at)
    return PostURL(submitted, _normalise(parts, host), _platform_of_host(bare))


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


def _platform_of_host(bare: str) -> str:
    if bare in X_HOSTS:
        return "x"
    if bare in FB_HOSTS or bare == "fb.watch":
        return "facebook"
    if bare == "instagram.com":
        return "instagram"
    if bare in ("threads.net", "threads.com"):
        return "threads"
    if bare in YT_HOSTS or bare == "youtu.be":
        return "youtube"
    if bare.endswith("tiktok.com"):
        return "tiktok"
    if bare in TG_HOSTS:
        return "telegram"
    if bare == "bsky.app":
        return "bluesky"
    return "other"


def _x(host, segs, query):
    if host not in X_HOSTS or len(segs) < 3:
        return None
    if segs[0] == "i" and segs[1:3] == ["web", "status"] and len(segs) >= 4:
        handle, post_id = "", segs[3]
    elif segs[0] == "i" and segs[1] == "status":
        handle, post_id = "", segs[2]
    elif segs[1] in ("status", "statuses") and segs[0].lower() not in X_RESERVED:
        handle, post_id = segs[0], segs[2]
    else:
        return None
    if not post_id.isdigit() or len(post_id) > 20:
        return None
    if handle and not re.fullmatch(r"[A-Za-z0-9_]{1,50}", handle):
        return None
    canonical = f"https://x.com/{handle}/status/{post_id}" if handle else f"https://x.com/i/status/{post_id}"
    return "x", canonical, handle, post_id, snowflake_time(int(post_id))


def snowflake_time(post_id: int) -> datetime | None:
    if post_id < FIRST_SNOWFLAKE:
        return None
    return datetime.fromtimestamp(((post_id >> 22) + TWITTER_EPOCH_MS) / 1000, tz=UTC)


def _facebook(host, segs, query):
    if host == "fb.watch" and segs:
        return "facebook", f"https://fb.watch/{segs[0]}/", "", segs[0], None
    if host not in FB_HOSTS or not segs:
        return None
    base = "https://www.facebook.com"
    first = segs[0].lower()
    if first in ("permalink.php", "story.php") and query.get("story_fbid"):
        story, owner = query["story_fbid"][0], query.get("id", [""])[0]
        canonical = f"{base}/permalink.php?" + urlencode({"story_fbid": story, **({"id": owner} if owner else {})})
        return "facebook", canonical, owner, story, None
    if first in ("watch", "watch.php") and query.get("v"):
        return "facebook", f"{base}/watch/?v={query['v'][0]}", "", query["v"][0], None
    if first in ("photo", "photo.php") and query.get("fbid"):
        return "facebook", f"{base}/photo/?fbid={query['fbid'][0]}", "", query["fbid"][0], None
    if first in ("reel", "reels") and len(segs) >= 2:
        return "facebook", f"{base}/reel/{segs[1]}", "", segs[1], None
    if first == "share" and len(segs) >= 2:
        kind, code = (segs[1], segs[2]) if len(segs) >= 3 else ("", segs[1])
        path = f"share/{kind}/{code}/" if kind else f"share/{code}/"
        return "facebook", f"{base}/{path}", "", code, None
    if first == "groups" and len(segs) >= 4 and segs[2] in ("posts", "permalink"):
        return "facebook", f"{base}/groups/{segs[1]}/posts/{segs[3]}", segs[1], segs[3], None
    if len(segs) >= 3 and segs[1] in ("posts", "videos", "photos"):
        post_id = segs[-1] if segs[1] == "photos" else segs[2]
        return "facebook", f"{base}/{segs[0]}/{segs[1]}/{post_id}", segs[0], post_id, None
    return None


def _instagram(host, segs, query):
    if host != "instagram.com" or len(segs) < 2:
        return None
    handle = ""
    if len(segs) >= 3 and segs[1] in ("p", "reel", "reels", "tv"):
        handle, segs = segs[0], segs[1:]
    if segs[0] not in ("p", "reel", "reels", "tv") or not re.fullmatch(r"[A-Za-z0-9_\-]{5,64}", segs[1]):
        return None
    kind = "reel" if segs[0] in ("reel", "reels") else "p"
    return "instagram", f"https://www.instagram.com/{kind}/{segs[1]}/", handle, segs[1], None


def _threads(host, segs, query):
    if host not in ("threads.net", "threads.com") or len(segs) < 3 or not segs[0].startswith("@"):
        return None
    if segs[1] not in ("post", "t"):
        return None
    handle = segs[0][1:]
    return "threads", f"https://www.threads.com/@{handle}/post/{segs[2]}", handle, segs[2], None


_YT_ID = re.compile(r"^[A-Za-z0-9_\-]{11}$")


def _youtube(host, segs, query):
    video = ""
    if host == "youtu.be" and segs:
        video = segs[0]
    elif host in YT_HOSTS:
        if segs[:1] == ["watch"] and query.get("v"):
            video = query["v"][0]
        elif len(segs) >= 2 and segs[0] in ("shorts", "live", "embed", "v", "e"):
            video = segs[1]
    if not _YT_ID.match(video):
        return None
    return "youtube", f"https://www.youtube.com/watch?v={video}", "", video, None


def _tiktok(host, segs, query):
    if not host.endswith("tiktok.com"):
        return None
    if len(segs) >= 3 and segs[0].startswith("@") and segs[1] in ("video", "photo") and segs[2].isdigit():
        handle, post_id = segs[0][1:], segs[2]
    elif segs[:1] == ["v"] and len(segs) >= 2 and segs[1].split(".")[0].isdigit():
        handle, post_id = "", segs[1].split(".")[0]
    elif host in ("vm.tiktok.com", "vt.tiktok.com") and segs:
        return "tiktok", f"https://{host}/{segs[0]}/", "", "", None  # a short link: open it to find the post
    else:
        return None
    canonical = f"https://www.tiktok.com/@{handle}/video/{post_id}" if handle else \
        f"https://www.tiktok.com/video/{post_id}"
    return "tiktok", canonical, handle, post_id, _tiktok_time(int(post_id))


def _tiktok_time(post_id: int) -> datetime | None:
    seconds = post_id >> 32
    if not 1_451_606_400 <= seconds <= 4_102_444_800:  # 2016 .. 2100: anything else is not a TikTok id
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _telegram(host, segs, query):
    if host not in TG_HOSTS:
        return None
    if segs[:1] == ["s"]:
        segs = segs[1:]
    if len(segs) >= 3 and segs[0] == "c" and segs[2].isdigit():
        return "telegram", f"https://t.me/c/{segs[1]}/{segs[2]}", f"c/{segs[1]}", segs[2], None
    if len(segs) >= 2 and segs[1].isdigit() and re.fullmatch(r"[A-Za-z0-9_]{3,64}", segs[0]):
        return "telegram", f"https://t.me/{segs[0]}/{segs[1]}", segs[0], segs[1], None
    return None


def _bluesky(host, segs, query):
    if host != "bsky.app" or len(segs) < 4 or segs[0] != "profile" or segs[2] != "post":
        return None
    handle, rkey = segs[1], segs[3]
    return "bluesky", f"https://bsky.app/profile/{handle}/post/{rkey}", handle, rkey, tid_time(rkey)


def tid_time(rkey: str) -> datetime | None:
    """A Bluesky record key (TID) is 13 base32-sortable characters: 53 bits of microseconds, 10 of clock id."""
    if not re.fullmatch(r"[234567a-j][234567a-z]{12}", rkey):
        return None
    value = 0
    for ch in rkey:
        value = value * 32 + BSKY_ALPHABET.index(ch)
    micros = value >> 10
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


def _mastodon(host, segs, query):
    if len(segs) == 2 and segs[0].startswith("@") and segs[1].isdigit() and len(segs[0]) > 1:
        user, post_id = segs[0][1:], segs[1]
    elif len(segs) == 4 and segs[0] == "users" and segs[2] == "statuses" and segs[3].isdigit():
        user, post_id = segs[1], segs[3]
    else:
        return None
    if "@" in user:  # a remote account seen through this server: keep it as it is
        return None
    return "mastodon", f"https://{host}/@{user}/{post_id}", f"{user}@{host}", post_id, None


def not_a_post(post: PostURL) -> str:
    """Why the address does not name one post of a platform we know, in a person's words ("" when it does).
    Bulk intake refuses such a line unless the person chose to add web pages as "other" (a news article, a
    blog); a known platform's address that names no post (a profile, a share button) is refused everywhere."""
    parts = urlsplit(post.canonical)
    segs = [s.lower() for s in parts.path.split("/") if s]
    if post.platform == "facebook" and segs[:2] == ["share", "g"]:
        return "a Facebook group shared by link, not a post in it"
    if post.is_post:
        return ""
    if post.platform == "other":
        return (f"{parts.hostname} is not a platform reportkit knows: a news article or another web page, "
                "not a social-media post")
    name = PLATFORMS.get(post.platform, post.platform)
    if post.platform == "facebook" and segs[:1] in (["sharer"], ["sharer.php"], ["dialog"]):
        return "a Facebook “share” button link: it names the page being shared, not a post"
    if post.platform == "tiktok" and parts.hostname in ("vm.tiktok.com", "vt.tiktok.com"):
        return "a TikTok short link: open it and paste the address of the video it leads to"
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
