"""The current user's own API tokens: listed without their secrets, and revoked. Tokens are created only in
Settings, signed in with a password (and second factor): a stolen token must not be able to mint more."""

from flask import g
from sqlalchemy import select

from ..auth import accounts
from ..auth.signin import client
from ..extensions import db
from ..models import ApiToken
from ..services.serialize import iso
from .base import APIError, bp


def token_row(t: ApiToken) -> dict:
    return {"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": iso(t.created_at),
            "last_used_at": iso(t.last_used_at), "revoked_at": iso(t.revoked_at), "current": t.id == g.api_token.id}


@bp.get("/tokens")
def list_tokens():
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == g.api_user.id).order_by(ApiToken.id))
    return {"tokens": [token_row(t) for t in tokens]}


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    """Someone else's token is a 404, like a missing one. Revoking the token of this request ends it too."""
    token = accounts.revoke_token(g.api_user, token_id, client())
    if token is None:
        raise APIError(404, "not_found", "")
    return token_row(token)
