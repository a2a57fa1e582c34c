"""'Capture now' on an entry's page: queue a server-side capture (services/capture.py); the page shows the
latest capture's state through `latest_capture` (a context function of this blueprint's templates)."""

from flask import flash, redirect, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField

from ..forms import flash_errors, flash_refusal
from ..services import access
from ..services import capture as capture_ops
from ..services.errors import ServiceError
from .views import bp


class CaptureForm(FlaskForm):
    keep_diagnostic = BooleanField("If it hits a login wall, keep its screenshot as a diagnostic (withdrawn, not "
                                   "evidence of the post)")
    submit = SubmitField("Capture now")


@bp.app_context_processor  # app-wide: other blueprints render the entry page too (an upload refused)
def _capture_state():
    # formdata=None: the page may be shown again for another form's POST (an upload over the limit), whose body
    # must not be read here
    return {"latest_capture": capture_ops.latest_capture, "capture_form": lambda: CaptureForm(formdata=None)}


@bp.post("/<int:entry_id>/capture")
def capture(entry_id: int):
    entry = access.entry_for(current_user, entry_id, "edit")
    form = CaptureForm()
    if not form.validate_on_submit():
        flash_errors(form)
    else:
        try:
            capture_ops.request_capture(current_user, entry, form.keep_diagnostic.data)
        except ServiceError as exc:
            flash_refusal(exc)
        else:
            flash("Capture started: the server is loading the post's page. Reload this page in a minute to see "
                  "what it found.", "success")
    return redirect(url_for("entries.view", entry_id=entry.id, _anchor="capture"))
