from datetime import date

from flask import current_app, g, url_for

from ..downloads import send_package, send_pdf
from ..extensions import db
from ..models import MODES, Dossier
from ..services import access, jobs
from ..services.dossier.export import DossierOptions, DossierRefused, create_dossier, select_entries
from ..services.dossier.options import PAPERS
from ..services.package import OriginalsRefused, check_originals, originals_exposure
from .base import APIError, bp, payload


@bp.post("/cases/<int:case_id>/dossiers")
def create_dossier_job(case_id: int):
    case = access.case_for(g.api_user, case_id, "annotate")
    data = payload()
    options = _options(data)
    try:
        check_originals(g.api_user, case, options)
    except OriginalsRefused as exc:
        raise APIError(403, "forbidden", str(exc))
    try:
        dossier = create_dossier(g.api_user, case, options, with_package=data.get("with_package") is True)
    except DossierRefused as exc:
        raise APIError(422, "dossier_incomplete", str(exc), {"missing": exc.problems})
    jobs.start_dossier(current_app._get_current_object(), dossier.id)
    state = _state(dossier)
    if options.include_originals:  # what leaves the tool, said in the answer as the page says it before
        state["originals_warning"] = originals_exposure(select_entries(case, options),
                                                        current_app.config["EVIDENCE_DIR"]).warning()
    return state, 202


@bp.get("/dossiers/<int:dossier_id>")
def get_dossier(dossier_id: int):
    return _state(_dossier(dossier_id))


@bp.get("/dossiers/<int:dossier_id>/pdf")
def get_dossier_pdf(dossier_id: int):
    return send_pdf(_dossier(dossier_id))


@bp.get("/dossiers/<int:dossier_id>/package")
def get_dossier_package(dossier_id: int):
    return send_package(_dossier(dossier_id))


def _dossier(dossier_id: int) -> Dossier:
    dossier = db.session.get(Dossier, dossier_id)
    if dossier is None:
        raise APIError(404, "not_found", "No such dossier.")
    access.check(g.api_user, dossier.case_id, "read")
    return jobs.expire_stalled(dossier, current_app.config["DOSSIER_TIMEOUT"])


def _state(d: Dossier) -> dict:
    return {"id": d.id, "case_id": d.case_id, "document_id": d.document_id, "mode": d.mode, "status": d.status,
            "stage": d.stage, "progress": d.progress, "pages": d.pages, "size": d.size, "sha256": d.sha256,
            "entries": d.entry_count, "error": d.error or None, "options": d.options,
            "pdf_url": url_for("api.get_dossier_pdf", dossier_id=d.id) if d.status == "done" else None,
            "with_package": d.with_package, "package_sha256": d.package_sha256, "package_size": d.package_size,
            "package_url": url_for("api.get_dossier_package", dossier_id=d.id) if d.package_sha256 else None}


def _options(data: dict) -> DossierOptions:
    fields: dict[str, list[str]] = {}
    mode, paper = data.get("mode", "rules"), data.get("paper", "A4")
    if mode not in MODES:
        fields["mode"] = [f"One of: {', '.join(MODES)}."]
    if paper not in PAPERS:
        fields["paper"] = [f"One of: {', '.join(PAPERS)}."]
    dates = {}
    for key in ("date_from", "date_to"):
        try:
            dates[key] = date.fromisoformat(data[key]) if data.get(key) else None
        except (TypeError, ValueError):
            fields[key] = ["Use YYYY-MM-DD."]
    numbers = data.get("entry_numbers") or []
    if not isinstance(numbers, list) or not all(isinstance(n, int) for n in numbers):
        fields["entry_numbers"] = ["Give a list of entry numbers."]
    account_id = data.get("account_id")
    if account_id is not None and not isinstance(account_id, int):
        fields["account_id"] = ["Give an account id (a number)."]
    approved_only = data.get("approved_only", True)  # the default: approved entries only, as on the page
    if not isinstance(approved_only, bool):
        fields["approved_only"] = ["true (the default) or false, to include entries not yet approved."]
    originals = data.get("include_originals", False)
    if not isinstance(originals, bool):
        fields["include_originals"] = ["true or false."]
    elif originals and data.get("with_package") is not True:
        fields["include_originals"] = ["Originals go in an evidence package: ask for with_package too."]
    if fields:
        raise APIError(422, "validation_error", "Some options are not valid.", fields)
    return DossierOptions(mode=mode, paper=paper, include_translations=data.get("include_translations", True) is not
                          False, account_id=account_id, clause=str(data.get("clause") or ""),
                          tag=str(data.get("tag") or "").lower(), entry_numbers=numbers,
                          approved_only=approved_only is not False, include_originals=originals, **dates)
