"""The accounts of a case's subject: listed for members, added and edited by owners (as on the case's edit page).
Each add and change is a custody event (`account.added`, `account.edited`)."""

from flask import g

from ..cases.forms import AccountFields, AccountForm
from ..extensions import db
from ..models import Account
from ..services import access, serialize
from ..services import cases as case_ops
from .base import APIError, bp, form_data, payload

API_NAMES = {"account_id": "platform_account_id"}  # the API's name -> the form's and the model's


def _renamed(data: dict) -> dict:
    return {API_NAMES.get(k, k): v for k, v in data.items()}


def _validate(form) -> None:
    """The page's validation; errors named by the API's field names."""
    if not form.validate():
        names = {v: k for k, v in API_NAMES.items()}
        raise APIError(422, "validation_error", "Some fields are not valid.",
                       {names.get(k, k): [str(m) for m in v] for k, v in form.errors.items()})


@bp.get("/cases/<int:case_id>/accounts")
def list_accounts(case_id: int):
    case = access.case_for(g.api_user, case_id)
    return {"accounts": [serialize.account(a) for a in sorted(case.accounts, key=lambda a: a.id)]}


@bp.post("/cases/<int:case_id>/accounts")
def add_account(case_id: int):
    case = access.case_for(g.api_user, case_id, "manage")
    form = AccountForm(formdata=form_data(_renamed(payload())), meta={"csrf": False})
    _validate(form)
    account = case_ops.add_case_account(g.api_user, case, form.platform.data, form.handle.data,
                                        form.display_name.data, form.profile_url.data, form.platform_account_id.data)
    return serialize.account(account), 201


@bp.patch("/cases/<int:case_id>/accounts/<int:account_id>")
def edit_account(case_id: int, account_id: int):
    case = access.case_for(g.api_user, case_id, "manage")
    account = db.session.get(Account, account_id)
    if account is None or account.case_id != case.id:
        raise APIError(404, "not_found", "")
    data = _renamed(payload())
    unknown = set(data) - set(case_ops.ACCOUNT_FIELDS)
    if unknown:
        raise APIError(422, "validation_error", "Unknown or read-only fields (the platform stays: entries point at "
                                               "the account).",
                       {k: ["This field cannot be changed."] for k in sorted(unknown)})
    current = {name: getattr(account, name) for name in case_ops.ACCOUNT_FIELDS}
    form = AccountFields(formdata=form_data({**current, "platform": account.platform, **data}))
    _validate(form)
    case_ops.edit_account(g.api_user, case, account, **{k: form[k].data for k in data})
    return serialize.account(db.session.get(Account, account_id))
