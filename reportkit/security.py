"""Response headers that protect people using the app: no framing, no sniffing, no referrer leaks."""

from flask import Flask, request

CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Links out to platforms must not tell them which case page the click came from.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        # Case, entry and export pages and API answers must not stay in a browser's or a proxy's cache, where
        # whoever takes the device (or the proxy) finds them. Only our own static files may be kept; a sender
        # that chose its own policy (downloads.py) keeps it.
        if request.endpoint != "static" and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):  # served over HTTPS only: browsers must never try plain HTTP
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
