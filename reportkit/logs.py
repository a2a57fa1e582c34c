"""Logs to stderr, each line of a request marked with its request id; behind a proxy, its forwarded address.

- The request id: an `X-Request-ID` header from the client or the proxy is kept only if it is a short safe
  token (letters, digits, `.`, `_`, `-`, at most 64); anything else (spaces, a newline that would forge a log
  line, a long string) is replaced by a generated one. The answer carries it back in `X-Request-ID`, and
  gunicorn's access log prints it (`reportkit/gunicorn_conf.py`), so one id finds a request's every line.
- What is logged: ids, hashes, statuses and error types. Never evidence, emails, passwords or tokens; the access
  log has the path without its query string (search words stay out) and no client address.
- `PROXY_FIX`: how many proxies in front of the app set `X-Forwarded-For/-Proto/-Host` (Werkzeug's ProxyFix);
  0 (the default) trusts none, so a client cannot pretend another address to the rate limits.
"""

import logging
import re
import secrets
import sys

from flask import Flask, g, has_request_context, request

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def request_id() -> str:
    """This request's id ("-" outside a request)."""
    if not has_request_context():
        return "-"
    if getattr(g, "request_id", None) is None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.fullmatch(given) else secrets.token_hex(8)
    return g.request_id


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        return True


class _Stderr(logging.StreamHandler):
    """Whatever sys.stderr is when a line is written (a test's captured stream, a server's redirected one)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def _handler() -> logging.Handler:
    handler = _Stderr()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    handler.reportkit = True
    return handler


def init_app(app: Flask) -> None:
    logger = logging.getLogger(app.import_name)  # app.logger: "reportkit", parent of "reportkit.queue" etc.
    if not any(getattr(h, "reportkit", False) for h in logger.handlers):
        logger.addHandler(_handler())  # before Flask's own: then Flask adds none
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    # Alembic's logging.config.fileConfig (migrations/env.py) turns off every logger that existed before it.
    for name, other in list(logging.root.manager.loggerDict.items()):
        if (name == logger.name or name.startswith(f"{logger.name}.")) and isinstance(other, logging.Logger):
            other.disabled = False
    for name in ("huey", "huey.consumer"):  # the queue's own lines (a worker started, a task failed)
        queue_logger = logging.getLogger(name)
        if not any(getattr(h, "reportkit", False) for h in queue_logger.handlers):
            queue_logger.addHandler(_handler())
            queue_logger.propagate = False
        queue_logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
        queue_logger.disabled = False

    hops = app.config.get("PROXY_FIX", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    @app.before_request
    def _request_id() -> None:  # first, so that every line of the request has it
        request_id()

    @app.after_request
    def _echo_request_id(response):
        response.headers["X-Request-ID"] = request_id()
        return response
