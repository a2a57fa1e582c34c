from flask import current_app, g, url_for

from ..downloads import send_package, send_pdf
from ..models import Dossier
from ..services import access, jobs
from ..services.dossier.data import select_entries
from ..services.dossier.job import create_dossier
from ..services.dossier.options import read_options
from ..services.package import OriginalsRefused, check_originals, originals_exposure
from ..services.storage import app_store
from .base import APIError, bp, payload


@bp.post("/cases/<int:case_id>/dossiers")
def create_dossier_job(case_id: int):
    case = access.case_for(g.api_user, case_id, "annotate")
    data = payload()
    options = read_options(case, data)  # the page's check too: OptionsError is a 422 naming each field
    try:
        check_originals(g.api_user, case, options)
    except OriginalsRefused as exc:
        raise APIError(403, "forbidden", str(exc)) from exc
    # DossierRefused: a 422 "dossier_incomplete" listing what is missing (fields.missing), by errors.py
    dossier = create_dossier(g.api_user, case, options, with_package=data.get("with_package") is True)
    jobs.start_dossier(current_app._get_current_object(), dossier.id)
    state = _state(dossier)
    if options.include_originals:  # what leaves the tool, said in the answer as the page says it before
        state["originals_warning"] = originals_exposure(select_entries(case, options),
                                                        app_store()).warning()
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
    return jobs.expire_stalled(access.dossier_for(g.api_user, dossier_id), current_app.config["DOSSIER_TIMEOUT"])


def _state(d: Dossier) -> dict:
    return {"id": d.id, "case_id": d.case_id, "document_id": d.document_id, "mode": d.mode, "status": d.status,
            "stage": d.stage, "progress": d.progress, "pages": d.pages, "size": d.size, "sha256": d.sha256,
            "entries": d.entry_count, "error": d.error or None, "options": d.options,
            "pdf_url": url_for("api.get_dossier_pdf", dossier_id=d.id) if d.status == "done" else None,
            "with_package": d.with_package, "package_sha256": d.package_sha256, "package_size": d.package_size,
            "package_url": url_for("api.get_dossier_package", dossier_id=d.id) if d.package_sha256 else None}
