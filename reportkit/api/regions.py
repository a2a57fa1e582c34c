"""Regions marked on a screenshot (highlight or redact): listed for members, drawn and removed by those who may
annotate, as on the entry page. The dossier prints the marked copy; the original never changes."""

import math

from flask import current_app, g

from ..extensions import db
from ..models import Region
from ..reviews.forms import RegionForm
from ..services import access
from ..services import reviews as review_ops
from ..services.evidence import refresh_marked_copy
from ..services.storage import app_store
from .base import APIError, bp, form_data, payload, validate


def region_row(r: Region) -> dict:
    """Positions and sizes in percent of the image's width and height, as the page's form takes them."""
    return {"id": r.id, "evidence_id": r.evidence_id, "kind": r.kind, "label": r.label,
            "x": round(r.x * 100, 3), "y": round(r.y * 100, 3), "w": round(r.w * 100, 3), "h": round(r.h * 100, 3)}


@bp.get("/evidence/<int:evidence_id>/regions")
def list_regions(evidence_id: int):
    evidence = access.evidence_for(g.api_user, evidence_id)
    return {"regions": [region_row(r) for r in sorted(evidence.regions, key=lambda r: r.id)]}


@bp.post("/evidence/<int:evidence_id>/regions")
def add_region(evidence_id: int):
    evidence = access.evidence_for(g.api_user, evidence_id, "annotate")
    data = payload()
    wrong = [k for k in ("x", "y", "w", "h") if isinstance(data.get(k), bool)
             or not isinstance(data.get(k), (int, float)) or not math.isfinite(data[k])]
    if wrong:
        raise APIError(422, "validation_error", "Give the rectangle in percent of the image.",
                       {k: ["A number is required."] for k in wrong})
    form = RegionForm(formdata=form_data(data), meta={"csrf": False})
    validate(form)
    region = review_ops.add_region(g.api_user, evidence.entry, evidence, form.kind.data, form.x.data / 100,
                                   form.y.data / 100, form.w.data / 100, form.h.data / 100, form.label.data)
    region_id = region.id
    refresh_marked_copy(g.api_user, evidence, app_store(), current_app.config["PRINT_MAX_WIDTH"])
    return region_row(db.session.get(Region, region_id)), 201


@bp.delete("/regions/<int:region_id>")
def remove_region(region_id: int):
    region = db.session.get(Region, region_id)
    if region is None:
        raise APIError(404, "not_found", "")
    evidence = access.evidence_for(g.api_user, region.evidence_id, "annotate")
    review_ops.remove_region(g.api_user, evidence, region)
    refresh_marked_copy(g.api_user, evidence, app_store(), current_app.config["PRINT_MAX_WIDTH"])
    return {"id": region_id, "removed": True}
