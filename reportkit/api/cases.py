from flask import g
from sqlalchemy import select

from ..cases.forms import AccountFields, CaseEditForm
from ..extensions import db
from ..models import Case, Membership
from ..services import access, serialize
from ..services import cases as case_ops
from .base import APIError, bp, form_data, payload, validate


@bp.post("/cases")
def create_case():
    data = payload()
    form = CaseEditForm(formdata=form_data(data, skip=("accounts",)), meta={"csrf": False})
    validate(form)
    accounts = data.get("accounts") or []
    if not isinstance(accounts, list) or not accounts:
        raise APIError(422, "validation_error", "Some fields are not valid.",
                       {"accounts": ["Give at least one account: [{platform, handle, ...}]."]})
    clean = []
    for i, acc in enumerate(accounts):
        acc = dict(acc) if isinstance(acc, dict) else {"handle": None}
        if "account_id" in acc:  # the API's name for the platform's stable account id
            acc["platform_account_id"] = acc.pop("account_id")
        sub = AccountFields(formdata=form_data(acc))
        if not sub.validate() or not (sub.handle.data or "").strip():
            errors = sub.errors or {"handle": ["Enter the account's handle."]}
            raise APIError(422, "validation_error", "Some fields are not valid.", {f"accounts[{i}]": errors})
        clean.append(sub.data)
    case = case_ops.create_case(g.api_user, form.title.data, form.subject.data, form.summary.data or "", clean,
                                data.get("allow_new_accounts", True) is not False)
    return serialize.case(case, "owner"), 201


@bp.get("/cases")
def list_cases():
    rows = db.session.execute(select(Case, Membership.role).join(Membership).where(
        Membership.user_id == g.api_user.id).order_by(Case.id)).all()
    closed = set(db.session.scalars(access.closed_case_ids(g.api_user)))  # two-factor required, not on: name only
    return {"cases": [serialize.case(c, role) if c.id not in closed else
                      {"id": c.id, "title": c.title, "role": role, "two_factor_required": True} for c, role in rows]}


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int):
    case = access.case_for(g.api_user, case_id)
    return serialize.case(case, access.role_in(case.id, g.api_user))
