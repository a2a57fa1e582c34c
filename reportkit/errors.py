"""Errors as pages for people and as `{"error": {...}}` for the API; never a bare 500 page."""

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from .services.errors import ServiceError
from .services.storage import FULL_MESSAGE, StoredFileError, StoredFileMissing, storage_full
from .templating import filesize

MESSAGES = {
    400: "The request could not be understood.",
    401: "Log in or send a valid API token.",
    403: "You do not have permission to do this.",
    404: "Nothing here — or nothing you have access to.",
    405: "That method is not allowed here.",
    413: "The upload is larger than the limit.",
    429: "Too many attempts. Wait a minute and try again.",
    500: "Something went wrong on our side. Nothing you sent was half-saved.",
    507: FULL_MESSAGE,  # true: what a write added is removed again before this is said (services/evidence.py)
}


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return jsonify(body), status


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        if status == 404:  # the same words for "no such id" and "not yours", so neither is told apart
            message = MESSAGES[404]
        elif status == 413:
            message = f"The upload is larger than the {filesize(app.config['MAX_CONTENT_LENGTH'])} limit."
        elif exc.description and exc.description != type(exc).description:
            message = exc.description  # a message our own code wrote for this case
        else:
            message = MESSAGES.get(status, exc.name)
        if wants_json():
            return json_error(status, exc.name.lower().replace(" ", "_"), message)
        return render_template("errors/error.html", status=status, title=exc.name, message=message), status

    @app.errorhandler(ServiceError)
    def _refused(exc: ServiceError):
        """A service refused input or a move where no view re-renders a form: said, nothing saved."""
        from .extensions import db

        db.session.rollback()
        if wants_json():
            # every field it names (OptionsError names several), else the one it is about
            fields = getattr(exc, "fields", None) or ({exc.field: [str(exc)]} if exc.field else {})
            return json_error(exc.status, exc.code, str(exc), fields)
        return render_template("errors/error.html", status=exc.status, title=exc.title,
                               message=str(exc)), exc.status

    @app.errorhandler(StoredFileError)
    def _stored_file(exc: StoredFileError):
        """A download whose stored bytes are gone or altered (downloads.py): said plainly, nothing sent."""
        status, code, title = ((410, "stored_file_missing", "File missing") if isinstance(exc, StoredFileMissing)
                               else (409, "stored_file_changed", "File changed"))
        app.logger.error("download refused: %s (%s)", code, exc.sha256)
        message = (f"{exc} It was not sent. Run `reportkit verify` to see what else is affected, and restore it "
                   "from a backup.")
        if wants_json():
            return json_error(status, code, message)
        return render_template("errors/error.html", status=status, title=title, message=message), status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        from .extensions import db

        db.session.rollback()
        if storage_full(exc):  # disk or quota full, for the store, a scratch file or the database
            app.logger.error("storage full: %s", exc)
            if wants_json():
                return json_error(507, "insufficient_storage", MESSAGES[507])
            return render_template("errors/error.html", status=507, title="Storage full",
                                   message=MESSAGES[507]), 507
        app.logger.exception("unhandled error")
        if wants_json():
            return json_error(500, "internal_error", MESSAGES[500])
        return render_template("errors/error.html", status=500, title="Error", message=MESSAGES[500]), 500
