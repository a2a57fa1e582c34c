"""Every page of a blueprint needs a logged-in user; say it once per blueprint."""

from flask import Blueprint
from flask_login import login_required


def members_only(bp: Blueprint) -> Blueprint:
    @bp.before_request
    @login_required
    def _require_login():
        return None

    return bp
