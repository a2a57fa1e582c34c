"""The write rules of docs/DEVELOPING.md, for cases, members, reviews and the catalogue (issue 15): the actor comes
first and is required, a refused write keeps nothing, the catalogue's changes name who made them, and a write that
lost a race to another request is told so (never a 500)."""

import inspect
import io

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from reportkit.extensions import db
from reportkit.models import Case, Event, Region
from reportkit.models.policies import CatalogueEvent
from reportkit.services import cases, policies, reviews
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import app_store

from .conftest import png_bytes

WRITES = {
    cases: ["create_case", "add_case_account", "edit_account", "update_case", "add_member", "invite_member",
            "accept_invitation", "decline_invitation", "withdraw_invitation", "set_role", "set_export_name",
            "remove_member"],
    reviews: ["transition", "withdraw_entry", "annotate", "resolve", "set_in_dossier", "add_region", "remove_region",
              "reset_round"],
    policies: ["add_custom_clause", "add_server_rules", "edit_server_rules", "delete_server_rules"],
}


@pytest.mark.parametrize(("module", "name"), [(m, n) for m, names in WRITES.items() for n in names])
def test_every_write_takes_the_actor_first_and_it_is_required(module, name):
    """An event is never labelled "command line" because an argument was left out: the command line passes None."""
    first = next(iter(inspect.signature(getattr(module, name)).parameters.values()))
    assert first.name == "actor" and first.default is inspect.Parameter.empty, f"{module.__name__}.{name}"


def test_a_refused_case_keeps_nothing_and_says_why_next_to_the_accounts(app, client, login, make_user):
    """Two spellings of one handle: create_case refuses the second after adding the case to the session; the page
    shows the form again with the reason beside the accounts, and neither the case nor an event is stored."""
    owner = make_user("owner@example.org")
    login(client, owner)
    resp = client.post("/cases/new", data={
        "title": "Case", "subject": "A. Leader", "allow_new_accounts": "y",
        "accounts-0-platform": "x", "accounts-0-handle": "leader_en",
        "accounts-1-platform": "x", "accounts-1-handle": "@Leader_EN"})
    assert resp.status_code == 200
    assert "The case already has the account @Leader_EN on x." in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Case.id))) == 0
    assert db.session.scalar(select(func.count(Event.id))) == 0


def test_an_owner_demoted_by_the_api_is_told_in_the_api_shape(app, make_user, make_case, token_for):
    """The one handler answers a service's refusal with its status, code and field, as the routes did by hand."""
    owner = make_user("owner@example.org")
    case = make_case(owner)
    headers = token_for(owner)
    client = app.test_client()
    mine = case.memberships[0].id
    resp = client.patch(f"/api/v1/cases/{case.id}/members/{mine}", json={"role": "viewer"}, headers=headers)
    assert resp.status_code == 422
    assert resp.json["error"] == {"code": "validation_error", "message": "A case needs at least one owner.",
                                  "fields": {"role": ["A case needs at least one owner."]}}
    resp = client.delete(f"/api/v1/cases/{case.id}/members/{mine}", headers=headers)
    assert resp.status_code == 409
    assert resp.json["error"] == {"code": "conflict", "message": "The last owner cannot be removed.",
                                  "fields": {"member": ["The last owner cannot be removed."]}}
    assert db.session.get(Case, case.id).role_of(owner) == "owner"


def test_a_region_removed_by_two_requests_at_once_is_removed_once(app, make_user, make_case, make_entry):
    """The second request loaded the region before the first committed its removal: it is told, not a 500, and the
    history says the region was removed once."""
    owner = make_user("owner@example.org")
    case = make_case(owner)
    entry = make_entry(case, owner)
    evidence = add_evidence_file(owner, entry, io.BytesIO(png_bytes()), "s.png", app_store(),
                                 Limits.from_config(app.config))
    region = reviews.add_region(owner, entry, evidence, "highlight", 0.1, 0.1, 0.2, 0.2, "the threat")
    stale = db.session.get(Region, region.id)
    reviews.remove_region(owner, evidence, region)
    with pytest.raises(reviews.ReviewError, match="removed a moment ago") as refused:
        reviews.remove_region(owner, evidence, stale)
    assert refused.value.status == 409
    db.session.rollback()
    removed = db.session.scalars(select(Event).where(Event.action == "region.removed")).all()
    assert len(removed) == 1 and removed[0].data == {"kind": "highlight", "label": "the threat"}


def test_a_custom_clause_is_in_the_catalogue_log_with_who_added_it(app, client, login, make_user, runner):
    admin = make_user("admin@example.org", admin=True)
    login(client, admin)
    resp = client.post("/policies/clauses", data={
        "platform_key": "x", "policy_key": "violent_content", "clause_key": "new_rule", "heading": "New rule",
        "summary": "A rule the catalogue lacked."})
    assert resp.status_code == 302
    logged = db.session.scalars(select(CatalogueEvent)).all()
    assert [(e.action, e.policy_key, e.actor_id, e.via) for e in logged] == [
        ("clause.added", "x/violent_content", admin.id, "page")]
    assert logged[0].detail == {"clause": "x/violent_content/new_rule", "heading": "New rule",
                                "summary": "A rule the catalogue lacked."}
    refused = client.post("/policies/clauses", data={
        "platform_key": "x", "policy_key": "violent_content", "clause_key": "new_rule", "heading": "Again"},
        follow_redirects=True)
    assert "The clause x/violent_content/new_rule already exists." in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CatalogueEvent.id))) == 1  # a refusal logs nothing

    plain = make_user("plain@example.org")
    with pytest.raises(Forbidden):  # the service checks the right itself, whoever calls it
        policies.add_custom_clause(plain, "x", "", "violent_content", "", "", "sneaky", "Sneaky", "")
    db.session.rollback()
    assert db.session.scalar(select(func.count(CatalogueEvent.id))) == 1


def test_a_form_error_on_a_redirecting_page_is_flashed_with_its_label(app, client, login, make_user, make_case):
    owner = make_user("owner@example.org")
    case = make_case(owner)
    login(client, owner)
    resp = client.post(f"/cases/{case.id}/accounts", data={"platform": "x", "handle": "  @ "},
                       follow_redirects=True)
    assert "Handle: Enter the account&#39;s handle." in resp.get_data(as_text=True)
    assert len(db.session.get(Case, case.id).accounts) == 1
