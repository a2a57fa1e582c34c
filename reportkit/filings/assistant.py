"""The filing assistant page: per entry, the text to paste into the platform's form, field by field, with copy
buttons; "Submitted" records a filing of that entry, so a filing run is built one entry at a time."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..forms import ConfirmForm
from ..models import PLATFORMS, Entry, Filing
from ..models.filings import CHANNELS, filing_entry
from ..services import access
from ..services import filings as filing_ops
from ..services.assistant import fields_for, limit_for
from .views import _dossier, bp


@bp.route("/cases/<int:case_id>/filings/assistant", methods=["GET", "POST"])
def assistant(case_id: int):
    case = access.case_for(current_user, case_id, "edit")
    platform = request.values.get("platform", "x")
    channel = request.values.get("channel", "in_app")
    if platform not in PLATFORMS or channel not in CHANNELS:
        platform, channel = "x", "in_app"
    dossier = _dossier(case.id, request.values.get("dossier", type=int))
    numbers = filing_ops.dossier_entry_numbers(dossier) if dossier else None
    query = select(Entry).where(Entry.case_id == case.id, Entry.withdrawn_at.is_(None), Entry.platform == platform)
    if numbers is not None:
        query = query.where(Entry.number.in_(numbers))
    entries = list(db.session.scalars(query.order_by(Entry.number)))
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        entry_id = request.form.get("entry_id", type=int)
        if entry_id not in {e.id for e in entries}:
            flash("That entry is not in this list.", "error")
        else:
            try:
                filing_ops.record_filing(current_user, case.id, platform, channel, [entry_id],
                                         dossier.id if dossier else None, None,
                                         request.form.get("reference", "")[:200] or None)
            except filing_ops.FilingError as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                flash("Recorded as submitted.", "success")
        return redirect(url_for("filings.assistant", case_id=case.id, platform=platform, channel=channel,
                                dossier=dossier.id if dossier else None, _anchor=f"entry-{entry_id}"))
    submitted = set(db.session.scalars(select(filing_entry.c.entry_id).join(Filing).where(
        Filing.case_id == case.id, Filing.platform == platform, Filing.channel == channel,
        filing_entry.c.entry_id.in_([e.id for e in entries]))))
    limit = limit_for(current_app.config, platform, channel)
    return render_template("filings/assistant.html", case=case, platform=platform, channel=channel,
                           dossier=dossier, limit=limit, form=form, submitted=submitted, platforms=PLATFORMS,
                           channels=CHANNELS, cards=[(e, fields_for(case, e, channel, limit)) for e in entries])
