"""Response headers that protect people using the app: no framing, no sniffing, no referrer leaks."""

from flask import Flask, abort, request

CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def init_app(app: Flask) -> None:
    @app.before_request
    def _storable_forms():
        """A page form with text no database can keep (a NUL: PostgreSQL refuses it) gets a clear 400 before
        any view runs, never a 500 half way; the API checks its JSON the same way (api/base.py)."""
        from .services.entries import unstorable

        if request.method == "POST" and not request.path.startswith("/api/") and request.form:
            problem = unstorable(request.form.to_dict(flat=False))
            if problem:
                abort(400, f"A field of the form {problem} Nothing was saved.")

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
