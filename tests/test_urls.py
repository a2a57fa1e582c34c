"""Table-driven tests of post-URL recognition: many real shapes per platform."""

from datetime import UTC, datetime

import pytest

from reportkit.platforms import snowflake_time, tid_time
from reportkit.services.urls import URLError, not_a_post, parse_post_url

X_ID = "1453347171011694596"
X_CANON = f"https://x.com/khamenei_ir/status/{X_ID}"

CASES = [
    # X / Twitter
    (f"https://twitter.com/khamenei_ir/status/{X_ID}", "x", "khamenei_ir", X_ID, X_CANON),
    (f"https://x.com/khamenei_ir/status/{X_ID}?s=20&t=AbCd", "x", "khamenei_ir", X_ID, X_CANON),
    (f"https://mobile.twitter.com/khamenei_ir/status/{X_ID}", "x", "khamenei_ir", X_ID, X_CANON),
    (f"https://www.twitter.com/khamenei_ir/status/{X_ID}/photo/1", "x", "khamenei_ir", X_ID, X_CANON),
    (f"https://fxtwitter.com/khamenei_ir/status/{X_ID}", "x", "khamenei_ir", X_ID, X_CANON),
    (f"https://vxtwitter.com/khamenei_ir/status/{X_ID}/video/1", "x", "khamenei_ir", X_ID, X_CANON),
    (f"https://fixupx.com/khamenei_ir/status/{X_ID}#m", "x", "khamenei_ir", X_ID, X_CANON),
    (f"x.com/khamenei_ir/status/{X_ID}", "x", "khamenei_ir", X_ID, X_CANON),
    (f"https://twitter.com/i/web/status/{X_ID}", "x", "", X_ID, f"https://x.com/i/status/{X_ID}"),
    (f"https://x.com/i/status/{X_ID}", "x", "", X_ID, f"https://x.com/i/status/{X_ID}"),
    (f"HTTPS://X.COM/khamenei_ir/statuses/{X_ID}", "x", "khamenei_ir", X_ID, X_CANON),
    # Facebook
    ("https://www.facebook.com/PageName/posts/pfbid02abcDEF123", "facebook", "PageName", "pfbid02abcDEF123",
     "https://www.facebook.com/PageName/posts/pfbid02abcDEF123"),
    ("https://m.facebook.com/PageName/posts/10158?__tn__=K-R", "facebook", "PageName", "10158",
     "https://www.facebook.com/PageName/posts/10158"),
    ("https://www.facebook.com/permalink.php?story_fbid=987&id=123", "facebook", "123", "987",
     "https://www.facebook.com/permalink.php?story_fbid=987&id=123"),
    ("https://m.facebook.com/story.php?story_fbid=987&id=123&mibextid=x", "facebook", "123", "987",
     "https://www.facebook.com/permalink.php?story_fbid=987&id=123"),
    ("https://www.facebook.com/watch/?v=555666", "facebook", "", "555666", "https://www.facebook.com/watch/?v=555666"),
    ("https://www.facebook.com/reel/777888?fs=e", "facebook", "", "777888", "https://www.facebook.com/reel/777888"),
    ("https://www.facebook.com/share/p/1AbCdEf/", "facebook", "", "1AbCdEf", "https://www.facebook.com/share/p/1AbCdEf/"),
    ("https://www.facebook.com/groups/42/posts/99/", "facebook", "42", "99", "https://www.facebook.com/groups/42/posts/99"),
    ("https://fb.watch/abCDef/", "facebook", "", "abCDef", "https://fb.watch/abCDef/"),
    # Instagram
    ("https://www.instagram.com/p/CxYz12345/", "instagram", "", "CxYz12345", "https://www.instagram.com/p/CxYz12345/"),
    ("https://instagram.com/p/CxYz12345/?igsh=abc&img_index=2", "instagram", "", "CxYz12345",
     "https://www.instagram.com/p/CxYz12345/"),
    ("https://www.instagram.com/reel/C9AbCdEfGh/", "instagram", "", "C9AbCdEfGh",
     "https://www.instagram.com/reel/C9AbCdEfGh/"),
    ("https://www.instagram.com/reels/C9AbCdEfGh", "instagram", "", "C9AbCdEfGh",
     "https://www.instagram.com/reel/C9AbCdEfGh/"),
    # Threads
    ("https://www.threads.net/@someone/post/C8AbCdEf", "threads", "someone", "C8AbCdEf",
     "https://www.threads.com/@someone/post/C8AbCdEf"),
    ("https://threads.com/@someone/post/C8AbCdEf?xmt=1", "threads", "someone", "C8AbCdEf",
     "https://www.threads.com/@someone/post/C8AbCdEf"),
    # YouTube
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s", "youtube", "", "dQw4w9WgXcQ",
     "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
    ("https://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ", "youtube", "", "dQw4w9WgXcQ",
     "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
    ("https://youtu.be/dQw4w9WgXcQ?si=abc", "youtube", "", "dQw4w9WgXcQ", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
    ("https://www.youtube.com/shorts/dQw4w9WgXcQ", "youtube", "", "dQw4w9WgXcQ",
     "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
    ("https://www.youtube.com/live/dQw4w9WgXcQ?feature=shared", "youtube", "", "dQw4w9WgXcQ",
     "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
    # TikTok
    ("https://www.tiktok.com/@scout2015/video/6718335390845095173", "tiktok", "scout2015", "6718335390845095173",
     "https://www.tiktok.com/@scout2015/video/6718335390845095173"),
    ("https://m.tiktok.com/@scout2015/video/6718335390845095173?is_from_webapp=1&lang=en", "tiktok", "scout2015",
     "6718335390845095173", "https://www.tiktok.com/@scout2015/video/6718335390845095173"),
    # Telegram
    ("https://t.me/durov/142", "telegram", "durov", "142", "https://t.me/durov/142"),
    ("https://t.me/s/durov/142", "telegram", "durov", "142", "https://t.me/durov/142"),
    ("https://telegram.me/durov/142?single", "telegram", "durov", "142", "https://t.me/durov/142"),
    ("https://t.me/c/1234567/89", "telegram", "c/1234567", "89", "https://t.me/c/1234567/89"),
    # Bluesky
    ("https://bsky.app/profile/jay.bsky.team/post/3kdgrrkvnnv2l", "bluesky", "jay.bsky.team", "3kdgrrkvnnv2l",
     "https://bsky.app/profile/jay.bsky.team/post/3kdgrrkvnnv2l"),
    # Mastodon-style
    ("https://mastodon.social/@Gargron/109380440340366345", "mastodon", "Gargron@mastodon.social",
     "109380440340366345", "https://mastodon.social/@Gargron/109380440340366345"),
    ("https://mastodon.social/users/Gargron/statuses/109380440340366345", "mastodon", "Gargron@mastodon.social",
     "109380440340366345", "https://mastodon.social/@Gargron/109380440340366345"),
    # Unknown hosts: accepted as "other", normalised
    ("HTTPS://Example.ORG:443/path?utm_source=x&b=2#frag", "other", "", "", "https://example.org/path?b=2"),
    ("http://news.example.com", "other", "", "", "http://news.example.com/"),
    ("https://example.org:8443/a", "other", "", "", "https://example.org:8443/a"),
    ("https://twitter.com/khamenei_ir", "x", "", "", "https://twitter.com/khamenei_ir"),
]


@pytest.mark.parametrize(("url", "platform", "handle", "post_id", "canonical"), CASES)
def test_recognises_and_canonicalises(url, platform, handle, post_id, canonical):
    post = parse_post_url(url)
    assert (post.platform, post.handle, post.post_id, post.canonical) == (platform, handle, post_id, canonical)
    assert post.submitted == url.strip()


@pytest.mark.parametrize(("url", "message"), [
    ("javascript:alert(1)", "Only http and https"),
    ("JavaScript:alert(document.cookie)", "Only http and https"),
    ("file:///etc/passwd", "Only http and https"),
    ("data:text/html,<script>alert(1)</script>", "Only http and https"),
    ("ftp://example.org/x", "Only http and https"),
    ("https://user:secret@x.com/a/status/1", "user name or password"),
    ("https://user@example.org/", "user name or password"),
    ("", "Enter the address"),
    ("   ", "Enter the address"),
    ("https://", "no host"),
    ("http://exa mple.com/", "spaces"),
    ("https://example.org/\x00", "control"),
    ("https://example.org:99999/", "port"),
    ("https://exa_mple..com/", "not valid"),
    ("not a url", "spaces"),
    ("nodots", "not valid"),
    ("https://x.com/" + "a" * 2100, "longer than"),
])
def test_rejects_with_clear_message(url, message):
    with pytest.raises(URLError, match=message):
        parse_post_url(url)


def test_x_snowflake_gives_post_time():
    post = parse_post_url(f"https://x.com/a/status/{X_ID}")
    assert post.posted_at == datetime(2021, 10, 27, 13, 5, 42, 110000, tzinfo=UTC)
    assert snowflake_time(20) is None  # pre-snowflake ids carry no time


def test_tiktok_id_gives_post_time():
    post = parse_post_url("https://www.tiktok.com/@scout2015/video/6718335390845095173")
    assert post.posted_at == datetime(2019, 7, 27, 13, 32, 33, tzinfo=UTC)


def test_bluesky_tid_gives_post_time():
    assert tid_time("3kdgrrkvnnv2l") == datetime(2023, 11, 5, 11, 21, 7, 270267, tzinfo=UTC)
    assert tid_time("not-a-tid") is None


def test_platforms_without_time_in_id_leave_it_empty():
    assert parse_post_url("https://t.me/durov/142").posted_at is None
    assert parse_post_url("https://youtu.be/dQw4w9WgXcQ").posted_at is None


@pytest.mark.parametrize("url", ["https://www.youtube.com/@channel/12345", "https://www.tiktok.com/@someone/12345",
                                 "https://x.com/@someone/12345", "https://t.me/@someone/12345"])
def test_a_known_platforms_address_is_never_taken_for_a_mastodon_post(url):
    """Mastodon posts live on anyone's server, but not on a host a known platform owns: such an address is that
    platform's, and names no post (it used to be read as a Mastodon post "someone@youtube.com")."""
    post = parse_post_url(url)
    assert post.platform != "mastodon" and not post.is_post
    assert not_a_post(post)


def test_tiktok_owns_its_subdomains_only():
    assert parse_post_url("https://vm.tiktok.com/ZMabc123/").platform == "tiktok"
    assert not_a_post(parse_post_url("https://vm.tiktok.com/ZMabc123/")).startswith("a TikTok short link")
    assert parse_post_url("https://faketiktok.com/@a/video/6718335390845095173").platform == "other"


@pytest.mark.parametrize(("url", "reason"), [
    ("https://www.facebook.com/share/g/1AbCdEf/", "a Facebook group shared by link"),
    ("https://www.facebook.com/sharer/sharer.php?u=https://example.org", "“share” button"),
    ("https://x.com/", "the home page of X / Twitter"),
    ("https://www.instagram.com/someone/", "a profile or page on Instagram"),
    ("https://news.example.org/a", "news.example.org is not a platform reportkit knows"),
])
def test_not_a_post_says_why(url, reason):
    assert reason in not_a_post(parse_post_url(url))
