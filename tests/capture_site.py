"""A local site for capture tests (tests/test_capture.py): a post page, a redirect chain, a login wall, a 404,
a slow page and redirects to 127.0.0.1 (another port) and to 169.254.169.254, served on 127.0.0.1."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POST = ("<!doctype html><html><head><title>Leader on Fakebook</title></head><body>"
        "<article><h1>@leader_en</h1><p>They must all be driven out of the city before Friday. Everyone who "
        "stays will regret it: we know where they live and we will come to their doors.</p>"
        "<p>Posted 3 May 2024 · 1,204 reposts · 3,880 likes</p><img src='/pixel.png' alt=''></article>"
        "</body></html>")
LOGIN = ("<!doctype html><html><body><h1>Log in to Fakebook</h1><p>See more posts when you sign in. Log in or "
         "sign up.</p><form><input name=u><input type=password name=p><button>Log in</button></form>"
         "</body></html>")
PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                      "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e5270de4000000004945"
                      "4e44ae426082")


class Site:
    """`start()` serves on a free port; `other_port` is a second loopback port (a closed one) the redirect
    to 127.0.0.1 points at; `slow_seconds` how long /slow takes."""

    def __init__(self, slow_seconds: float = 6):
        self.slow_seconds = slow_seconds
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                site.hits.append(self.path)
                port = self.server.server_address[1]
                routes = {
                    "/post/1": (200, "text/html; charset=utf-8", POST.encode()),
                    "/pixel.png": (200, "image/png", PIXEL),
                    "/login": (200, "text/html; charset=utf-8", LOGIN.encode()),
                    "/empty": (200, "text/html", b"<html><body><div id=app></div></body></html>"),
                }
                redirects = {"/r/1": "/r/2", "/r/2": f"http://127.0.0.1:{port}/post/1",
                             "/walled": "/login?next=/post/1",
                             "/to-loopback": f"http://127.0.0.1:{site.other_port}/admin",
                             "/to-metadata": "http://169.254.169.254/latest/meta-data/"}
                path = self.path.split("?")[0]
                if path in redirects:
                    self.send_response(302)
                    self.send_header("Location", redirects[path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path == "/slow":
                    time.sleep(site.slow_seconds)
                status, mime, body = routes.get(path, (404, "text/html", b"<html><body><h1>Not found</h1>"
                                                                          b"<p>This page does not exist.</p>"
                                                                          b"</body></html>"))
                if path == "/slow":
                    status, mime, body = 200, "text/html", POST.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", mime)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.other_port = _free_port()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "Site":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
