from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Platform, Policy
from .base import bp


@bp.get("/policies")
def list_policies():
    platforms = db.session.scalars(select(Platform).order_by(Platform.id).options(
        selectinload(Platform.policies).selectinload(Policy.clauses))).all()
    return {"platforms": [{
        "key": p.key, "name": p.name, "kind": p.kind,
        "policies": [{"key": pol.key, "title": pol.title, "url": pol.url, "checked_on": pol.checked_on,
                      "former_titles": pol.former_titles,
                      "clauses": [{"key": c.key, "heading": c.heading, "group": c.group, "summary": c.summary}
                                  for c in pol.clauses]} for pol in p.policies]} for p in platforms],
        "credit": "Compiled from Open Terms Archive (ODC-BY 1.0); summaries are paraphrases."}
