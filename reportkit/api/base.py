"""The v1 API blueprint: bearer-token authentication and the JSON error contract."""

from datetime import UTC, datetime

from flask import Blueprint, current_app, g, request
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from ..errors import MESSAGES, json_error
from ..extensions import csrf, db
from ..models import ApiToken
from ..models._common import utcnow
from ..models.twofactor import has_two_factor
from ..models.users import hash_token
from ..services.custody import current_token
from ..services.entries import unstorable

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # tokens, not cookies: no cross-site request can carry them


class APIError(HTTPException):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.code, self.error_code, self.message, self.fields = status, code, message, fields or {}


@bp.errorhandler(APIError)
def _api_error(exc: APIError):
    if exc.code == 404:  # one body for "no such id" and "not yours": a 404 never tells which (errors.py)
        return json_error(404, "not_found", MESSAGES[404])
    return json_error(exc.code, exc.error_code, exc.message, exc.fields)


@bp.before_request
def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return json_error(401, "unauthorized", "Send an API token as 'Authorization: Bearer <token>'.")
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret.strip())))
    if token is None or token.revoked_at is not None:
        return json_error(401, "unauthorized", "The API token is unknown or revoked.")
    if current_app.config["REQUIRE_TWO_FACTOR"] and not has_two_factor(token.user_id):  # auth/views.py for pages
        return json_error(403, "two_factor_required", "This site requires two-factor sign-in: turn it on in "
                                                      "Settings before using the API.")
    token.last_used_at = utcnow()
    db.session.commit()
    g.api_user = token.user
    g.api_token = token
    g.token_reset = current_token.set(token.id)  # events name the token a script used
    _check_json_body()
    return None


def _check_json_body() -> None:
    """Every JSON body, before any route reads it: nesting that makes Python's parser recurse out of stack is a
    400, and text no database can store (a lone surrogate, NUL) a 422 naming the field, not a 500 mid-write."""
    if not request.is_json:
        return
    try:
        data = request.get_json(silent=True)  # cached: the routes' own get_json/payload() read this
        problem = unstorable(data)
    except RecursionError:
        raise APIError(400, "bad_request", "The JSON is nested too deeply to read.") from None
    if problem:
        fields = {str(k).encode("utf-8", "replace").decode(): [problem] for k, v in data.items()
                  if unstorable(k) or unstorable(v)} if isinstance(data, dict) else {}
        raise APIError(422, "validation_error", f"A value {problem}", fields)


@bp.teardown_request
def _forget_token(_exc) -> None:
    if "token_reset" in g:
        current_token.reset(g.pop("token_reset"))


def payload() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise APIError(400, "bad_request", "Send a JSON object with Content-Type: application/json.")
    return data


def form_data(data: dict, skip=()) -> MultiDict:
    """JSON values as form input, so the API validates with the very forms the pages use."""
    md = MultiDict()
    for key, value in data.items():
        if key in skip or value is None:
            continue
        if isinstance(value, bool):
            if value:
                md.add(key, "y")
        elif isinstance(value, (str, int, float)):
            md.add(key, str(value))
        else:
            raise APIError(422, "validation_error", "Invalid input.", {key: ["Expected a single value."]})
    return md


def validate(form) -> None:
    if not form.validate():
        fields = {k: [str(m) for m in v] for k, v in form.errors.items()}
        raise APIError(422, "validation_error", "Some fields are not valid.", fields)


def parse_time(data: dict, key: str) -> datetime | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise APIError(422, "validation_error", "Invalid time.",
                       {key: ["Use ISO 8601, e.g. 2024-05-01T12:00:00Z."]}) from None
    if parsed.tzinfo is None:
        raise APIError(422, "validation_error", "Invalid time.", {key: ["Give a time zone, e.g. Z for UTC."]})
    return parsed.astimezone(UTC)


def page_args() -> tuple[int, int]:
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(200, max(1, int(request.args.get("per_page", 50))))
    except ValueError:
        raise APIError(400, "bad_request", "page and per_page must be whole numbers.") from None
    return page, per_page
