"""Members and invitations of a case, as the Members page shows and changes them. People join by invitation only:
the answer to an invitation never says whether the address has an account. Adding someone directly stays in the
command line (`reportkit add-member`, an admin's tool)."""

from flask import g

from .. import mail
from ..cases.forms import MemberForm, RoleForm
from ..extensions import db
from ..models import Case, Membership
from ..services import access
from ..services import cases as case_ops
from ..services.disclosure import People
from ..services.serialize import iso
from .base import APIError, bp, form_data, payload, validate


def member_row(m: Membership, people: People) -> dict:
    return {"id": m.id, "user_id": m.user_id, "name": m.user.name or None, "email": m.user.email, "role": m.role,
            "export_name": people.name(m.user_id), "added_at": iso(m.added_at)}


def invitation_row(i) -> dict:
    return {"id": i.id, "email": i.email, "role": i.role, "created_at": iso(i.created_at),
            "expires_at": iso(i.expires_at), "open": i.is_open()}


@bp.get("/cases/<int:case_id>/members")
def list_members(case_id: int):
    """Every member sees the members (as on the page); owners also see the invitations nobody answered yet."""
    case = access.case_for(g.api_user, case_id)
    people = People.for_case(case)
    body = {"members": [member_row(m, people) for m in sorted(case.memberships, key=lambda m: m.id)]}
    if access.can(g.api_user, case.id, "manage"):
        body["invitations"] = [invitation_row(i) for i in case_ops.waiting_invitations(case)]
    return body


@bp.post("/cases/<int:case_id>/invitations")
def invite_member(case_id: int):
    case = access.case_for(g.api_user, case_id, "manage")
    form = MemberForm(formdata=form_data(payload()), meta={"csrf": False})
    validate(form)
    # the same answer whether or not the address has an account; a refusal is a 422 naming the field (errors.py)
    invitation = case_ops.invite_member(g.api_user, case, form.email.data, form.role.data)
    sent = mail.send_invitation(invitation)  # after the commit: the invitation waits in the app anyway
    return {**invitation_row(invitation), "email_sent": sent}, 201


@bp.delete("/cases/<int:case_id>/invitations/<int:invitation_id>")
def withdraw_invitation(case_id: int, invitation_id: int):
    case = access.case_for(g.api_user, case_id, "manage")
    invitation = next((i for i in case_ops.waiting_invitations(case) if i.id == invitation_id), None)
    if invitation is None:
        raise APIError(404, "not_found", "")
    case_ops.withdraw_invitation(g.api_user, invitation)  # answered meanwhile: a 409 conflict
    return {"id": invitation_id, "withdrawn": True}


@bp.patch("/cases/<int:case_id>/members/<int:member_id>")
def change_member_role(case_id: int, member_id: int):
    case, membership = _membership(case_id, member_id)
    data = payload()
    unknown = set(data) - {"role"}
    if unknown:
        raise APIError(422, "validation_error", "Only the role of a member can be changed.",
                       {k: ["This field cannot be changed."] for k in sorted(unknown)})
    form = RoleForm(formdata=form_data(data), meta={"csrf": False})
    if "role" not in data:
        raise APIError(422, "validation_error", "Give the new role.", {"role": ["Required."]})
    validate(form)
    case_ops.set_role(g.api_user, case, membership, form.role.data)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    return member_row(db.session.get(Membership, member_id), People.for_case(case))


@bp.delete("/cases/<int:case_id>/members/<int:member_id>")
def remove_member(case_id: int, member_id: int):
    case, membership = _membership(case_id, member_id)
    case_ops.remove_member(g.api_user, case, membership)  # the last owner, or removed meanwhile: a 409 conflict
    return {"id": member_id, "removed": True}


def _membership(case_id: int, member_id: int) -> tuple[Case, Membership]:
    case = access.case_for(g.api_user, case_id, "manage")
    membership = next((m for m in case.memberships if m.id == member_id), None)
    if membership is None:
        raise APIError(404, "not_found", "")
    return case, membership
