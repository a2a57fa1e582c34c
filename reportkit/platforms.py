"""The platforms reportkit knows: one entry each, read by URL parsing, duplicate detection, the clause picker,
time checks, forms and pages.

Each platform says its key (stored on entries and accounts), its label, the hosts its posts live on, how to
read a post address (`parse`), whether its post ids are unique across the whole platform (`global_ids`: two
addresses with one id are one post), whose rules in the policy catalogue govern its posts (`rules`, a platform
key of `data/policies.yaml`), the earliest day a post can carry (`founded`) and, where the id encodes it, the
post's time (`time_from_id`). Adding a platform is one `PlatformInfo` here, its rules in the catalogue and tests
(docs/DEVELOPING.md, "Add a platform").

This module is plain data and pure functions: it imports nothing of the app, so models and services can read it.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlencode

# What a parser returns for an address that names one post (or, for a short link, names none yet):
# (canonical address, handle, post id). The post id may be "" (a short link: open it to find the post).
Found = tuple[str, str, str]
# A parser gets the host without www./mobile./m., the path's non-empty segments and the parsed query.
Parser = Callable[[str, list[str], dict[str, list[str]]], Found | None]


@dataclass(frozen=True)
class PlatformInfo:
    key: str
    label: str
    founded: date  # the earliest day a real post can carry (UTC): a floor, never a marketing launch date
    hosts: frozenset[str] = frozenset()  # hosts as typed, without www./mobile./m.; the platform's own
    subdomains: bool = False  # any subdomain of `hosts` is the platform's too (vm.tiktok.com)
    parse: Parser | None = None  # None: no post shape is known (other)
    any_host: bool = False  # its posts live on anyone's server (Mastodon): parsed only if no platform owns the host
    global_ids: bool = False  # one post id names one post across the platform, whatever the address
    rules: str = ""  # the catalogue platform whose rules govern these posts ("meta" for Facebook); "" = its key
    time_from_id: Callable[[str], datetime | None] | None = None
    # Why an address of the platform is no post, when the platform has a better reason than the general
    # ones of services/urls.not_a_post (host, path segments in lower case) -> reason or "".
    not_a_post: Callable[[str, list[str]], str] | None = None

    @property
    def rules_key(self) -> str:
        return self.rules or self.key

    def owns(self, host: str) -> bool:
        return host in self.hosts or self.subdomains and any(host.endswith("." + h) for h in self.hosts)


# ---------------------------------------------------------------- time from a post id

TWITTER_EPOCH_MS = 1288834974657
FIRST_SNOWFLAKE = 30_000_000_000  # ids below this (before Nov 2010) carry no time
BSKY_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def snowflake_time(post_id: int | str) -> datetime | None:
    """An X (Twitter) snowflake id's time: milliseconds since the Twitter epoch in the bits above 22."""
    post_id = int(post_id)
    if post_id < FIRST_SNOWFLAKE:
        return None
    return datetime.fromtimestamp(((post_id >> 22) + TWITTER_EPOCH_MS) / 1000, tz=UTC)


def tiktok_time(post_id: int | str) -> datetime | None:
    """A TikTok video id's time: Unix seconds in the bits above 32."""
    seconds = int(post_id) >> 32
    if not 1_451_606_400 <= seconds <= 4_102_444_800:  # 2016 .. 2100: anything else is not a TikTok id
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def tid_time(rkey: str) -> datetime | None:
    """A Bluesky record key (TID) is 13 base32-sortable characters: 53 bits of microseconds, 10 of clock id."""
    if not re.fullmatch(r"[234567a-j][234567a-z]{12}", rkey):
        return None
    value = 0
    for ch in rkey:
        value = value * 32 + BSKY_ALPHABET.index(ch)
    micros = value >> 10
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)


# ---------------------------------------------------------------- post address parsers

X_RESERVED = {"i", "home", "search", "explore", "intent", "share", "settings", "hashtag", "messages"}


def _x(host, segs, query):
    if len(segs) < 3:
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
    return canonical, handle, post_id


def _facebook(host, segs, query):
    if host == "fb.watch":
        return (f"https://fb.watch/{segs[0]}/", "", segs[0]) if segs else None
    if not segs:
        return None
    base = "https://www.facebook.com"
    first = segs[0].lower()
    if first in ("permalink.php", "story.php") and query.get("story_fbid"):
        story, owner = query["story_fbid"][0], query.get("id", [""])[0]
        canonical = f"{base}/permalink.php?" + urlencode({"story_fbid": story, **({"id": owner} if owner else {})})
        return canonical, owner, story
    if first in ("watch", "watch.php") and query.get("v"):
        return f"{base}/watch/?v={query['v'][0]}", "", query["v"][0]
    if first in ("photo", "photo.php") and query.get("fbid"):
        return f"{base}/photo/?fbid={query['fbid'][0]}", "", query["fbid"][0]
    if first in ("reel", "reels") and len(segs) >= 2:
        return f"{base}/reel/{segs[1]}", "", segs[1]
    if first == "share" and len(segs) >= 2:
        kind, code = (segs[1], segs[2]) if len(segs) >= 3 else ("", segs[1])
        path = f"share/{kind}/{code}/" if kind else f"share/{code}/"
        return f"{base}/{path}", "", code
    if first == "groups" and len(segs) >= 4 and segs[2] in ("posts", "permalink"):
        return f"{base}/groups/{segs[1]}/posts/{segs[3]}", segs[1], segs[3]
    if len(segs) >= 3 and segs[1] in ("posts", "videos", "photos"):
        post_id = segs[-1] if segs[1] == "photos" else segs[2]
        return f"{base}/{segs[0]}/{segs[1]}/{post_id}", segs[0], post_id
    return None


def _facebook_not_a_post(host, segs):
    if segs[:2] == ["share", "g"]:
        return "a Facebook group shared by link, not a post in it"
    if segs[:1] in (["sharer"], ["sharer.php"], ["dialog"]):
        return "a Facebook “share” button link: it names the page being shared, not a post"
    return ""


def _instagram(host, segs, query):
    if len(segs) < 2:
        return None
    handle = ""
    if len(segs) >= 3 and segs[1] in ("p", "reel", "reels", "tv"):
        handle, segs = segs[0], segs[1:]
    if segs[0] not in ("p", "reel", "reels", "tv") or not re.fullmatch(r"[A-Za-z0-9_\-]{5,64}", segs[1]):
        return None
    kind = "reel" if segs[0] in ("reel", "reels") else "p"
    return f"https://www.instagram.com/{kind}/{segs[1]}/", handle, segs[1]


def _threads(host, segs, query):
    if len(segs) < 3 or not segs[0].startswith("@") or segs[1] not in ("post", "t"):
        return None
    handle = segs[0][1:]
    return f"https://www.threads.com/@{handle}/post/{segs[2]}", handle, segs[2]


_YT_ID = re.compile(r"^[A-Za-z0-9_\-]{11}$")


def _youtube(host, segs, query):
    video = ""
    if host == "youtu.be":
        video = segs[0] if segs else ""
    elif segs[:1] == ["watch"] and query.get("v"):
        video = query["v"][0]
    elif len(segs) >= 2 and segs[0] in ("shorts", "live", "embed", "v", "e"):
        video = segs[1]
    if not _YT_ID.match(video):
        return None
    return f"https://www.youtube.com/watch?v={video}", "", video


def _tiktok(host, segs, query):
    if len(segs) >= 3 and segs[0].startswith("@") and segs[1] in ("video", "photo") and segs[2].isdigit():
        handle, post_id = segs[0][1:], segs[2]
    elif segs[:1] == ["v"] and len(segs) >= 2 and segs[1].split(".")[0].isdigit():
        handle, post_id = "", segs[1].split(".")[0]
    elif host in ("vm.tiktok.com", "vt.tiktok.com") and segs:
        return f"https://{host}/{segs[0]}/", "", ""  # a short link: open it to find the post
    else:
        return None
    canonical = f"https://www.tiktok.com/@{handle}/video/{post_id}" if handle else \
        f"https://www.tiktok.com/video/{post_id}"
    return canonical, handle, post_id


def _tiktok_not_a_post(host, segs):
    if host in ("vm.tiktok.com", "vt.tiktok.com"):
        return "a TikTok short link: open it and paste the address of the video it leads to"
    return ""


def _telegram(host, segs, query):
    if segs[:1] == ["s"]:
        segs = segs[1:]
    if len(segs) >= 3 and segs[0] == "c" and segs[2].isdigit():
        return f"https://t.me/c/{segs[1]}/{segs[2]}", f"c/{segs[1]}", segs[2]
    if len(segs) >= 2 and segs[1].isdigit() and re.fullmatch(r"[A-Za-z0-9_]{3,64}", segs[0]):
        return f"https://t.me/{segs[0]}/{segs[1]}", segs[0], segs[1]
    return None


def _bluesky(host, segs, query):
    if len(segs) < 4 or segs[0] != "profile" or segs[2] != "post":
        return None
    handle, rkey = segs[1], segs[3]
    return f"https://bsky.app/profile/{handle}/post/{rkey}", handle, rkey


def _mastodon(host, segs, query):
    if len(segs) == 2 and segs[0].startswith("@") and segs[1].isdigit() and len(segs[0]) > 1:
        user, post_id = segs[0][1:], segs[1]
    elif len(segs) == 4 and segs[0] == "users" and segs[2] == "statuses" and segs[3].isdigit():
        user, post_id = segs[1], segs[3]
    else:
        return None
    if "@" in user:  # a remote account seen through this server: keep it as it is
        return None
    return f"https://{host}/@{user}/{post_id}", f"{user}@{host}", post_id


# ---------------------------------------------------------------- the registry

OTHER = "other"  # an address of no platform we know (a news article, a blog): kept only when chosen

_ALL = (
    PlatformInfo("x", "X / Twitter", date(2006, 3, 21),  # the first tweet
                 hosts=frozenset({"twitter.com", "x.com", "fxtwitter.com", "vxtwitter.com", "fixupx.com", "fixvx.com",
                                  "twittpr.com", "nitter.net", "fxtwitter.net"}),
                 parse=_x, global_ids=True, time_from_id=snowflake_time),
    PlatformInfo("facebook", "Facebook", date(2004, 2, 4),  # thefacebook.com opened
                 hosts=frozenset({"facebook.com", "fb.com", "web.facebook.com", "business.facebook.com", "fb.watch"}),
                 parse=_facebook, global_ids=True, rules="meta", not_a_post=_facebook_not_a_post),
    PlatformInfo("instagram", "Instagram", date(2010, 7, 16),  # first photo, closed beta (public 2010-10-06)
                 hosts=frozenset({"instagram.com"}), parse=_instagram, global_ids=True, rules="meta"),
    PlatformInfo("threads", "Threads", date(2023, 7, 5),  # launch
                 hosts=frozenset({"threads.net", "threads.com"}), parse=_threads, global_ids=True, rules="meta"),
    PlatformInfo("youtube", "YouTube", date(2005, 2, 14),  # youtube.com registered; first video 2005-04-23
                 hosts=frozenset({"youtube.com", "music.youtube.com", "youtube-nocookie.com", "youtu.be"}),
                 parse=_youtube, global_ids=True),
    # Douyin 2016-09, TikTok 2017; musical.ly (2014) videos moved to TikTok in 2018
    PlatformInfo("tiktok", "TikTok", date(2014, 4, 1),
                 hosts=frozenset({"tiktok.com"}), subdomains=True, parse=_tiktok, global_ids=True,
                 time_from_id=tiktok_time, not_a_post=_tiktok_not_a_post),
    PlatformInfo("telegram", "Telegram", date(2013, 8, 14),  # the first release
                 hosts=frozenset({"t.me", "telegram.me", "telegram.dog"}), parse=_telegram),
    PlatformInfo("bluesky", "Bluesky", date(2022, 11, 1),  # developers' posts before the invite beta (2023-02)
                 hosts=frozenset({"bsky.app"}), parse=_bluesky, time_from_id=tid_time),
    PlatformInfo("mastodon", "Mastodon", date(2016, 3, 16),  # the first release
                 parse=_mastodon, any_host=True),
    PlatformInfo(OTHER, "Other", date(1991, 8, 6)),  # the first web page
)

# Key -> platform, in the order forms offer them ("other" last).
REGISTRY: dict[str, PlatformInfo] = {p.key: p for p in _ALL}
# Key -> label: what forms, pages and dossiers show (also `reportkit.models.PLATFORMS`).
LABELS: dict[str, str] = {p.key: p.label for p in _ALL}
# Platforms whose post id names one post across the whole platform, so two addresses with it are one post.
GLOBAL_IDS: frozenset[str] = frozenset(p.key for p in _ALL if p.global_ids)


def label(key: str) -> str:
    """The platform's label; an unknown key as it is."""
    return LABELS.get(key, key)


def platform_of_host(host: str) -> PlatformInfo | None:
    """The platform that owns a host (without www./mobile./m.), or None (Mastodon servers are anyone's)."""
    return next((p for p in _ALL if p.owns(host)), None)


def rules_key(key: str) -> str:
    """The catalogue platform whose rules govern posts of `key` ("meta" for Facebook, Instagram, Threads)."""
    platform = REGISTRY.get(key)
    return platform.rules_key if platform else key


def scheme_less_hosts() -> list[str]:
    """Every host a platform owns, longest first: what intake recognises as an address without "https://"."""
    return sorted({h for p in _ALL for h in p.hosts}, key=lambda h: (-len(h), h))
