"""A local fake platform for re-checks: answers like X's oEmbed, Telegram's embed view, Bluesky's public API and
a Mastodon server, for a post in the mode a test sets (online, removed, withheld, login, slow, malformed,
ratelimit). It also serves as an HTTP proxy (a request for an absolute address), so tests of RECHECK_PROXY see
that the check went through it. No test touches the internet."""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


class FakePlatform:
    def __init__(self):
        self.modes: dict[str, str] = {}  # post id -> mode (default online)
        self.seen: list[str] = []  # request lines, as received
        self.last_body: bytes = b""
        handler = type("Handler", (_Handler,), {"platform": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def endpoints(self, base: str | None = None) -> dict:
        base = base or self.base
        return {"x": [base + "/x/oembed?url={url}", "oembed"],
                "telegram": [base + "/telegram{path}", "telegram"],
                "bluesky": [base + "/bsky/getPostThread?uri=at://{handle}/app.bsky.feed.post/{post_id}", "bluesky"],
                "mastodon": [base + "/mastodon/{host}/api/v1/statuses/{post_id}", "mastodon"]}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class _Handler(BaseHTTPRequestHandler):
    platform: FakePlatform

    def log_message(self, *args):  # quiet under pytest
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        self.platform.seen.append(self.requestline)
        parts = urlsplit(self.path)  # an absolute address when asked as a proxy
        address = unquote(parts.path + "?" + parts.query)
        ids = re.findall(r"\d{5,}", address)
        mode = self.platform.modes.get(ids[-1] if ids else "", "online")
        kind = parts.path.split("/")[1]
        if mode == "slow":
            time.sleep(3)
        status, body, headers = _answer(kind, mode)
        self.platform.last_body = body
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _answer(kind: str, mode: str) -> tuple[int, bytes, dict]:
    as_json = {"Content-Type": "application/json"}
    if mode == "withheld":
        return 451, b'{"error": "withheld in your country"}', as_json
    if mode == "login":
        return 302, b"", {"Location": "/login?next=/post"}
    if mode == "ratelimit":
        return 429, b'{"error": "slow down"}', as_json
    if mode == "malformed":
        return 200, b"<html><body>Something went wrong, but don't fret", {"Content-Type": "text/html"}
    online = mode in ("online", "slow")
    if kind == "telegram":
        html = ('<div class="tgme_widget_message_text">We will find you.</div>' if online else
                '<div class="tgme_widget_message_error">Post not found</div>')
        return 200, html.encode(), {"Content-Type": "text/html"}
    if kind == "bsky":
        return (200, json.dumps({"thread": {"$type": "app.bsky.feed.defs#threadViewPost", "post": {}}}).encode(),
                as_json) if online else (400, b'{"error": "NotFound", "message": "Post not found"}', as_json)
    if kind == "mastodon":
        return (200, b'{"id": "1", "content": "<p>We will find you.</p>"}', as_json) if online else \
            (404, b'{"error": "Record not found"}', as_json)
    return (200, b'{"html": "<blockquote>We will find you.</blockquote>", "type": "rich"}', as_json) if online \
        else (404, b'{"error": "not found"}', as_json)
