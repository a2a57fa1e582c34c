"""API v1, the routes that cover what the pages do: members, accounts, violations, evidence, regions, events,
exports, verification and the user's own tokens. Each: success, a refused input (422 naming the field), another
team's ids (404, the same as a missing id). Permission by role is in tests/test_permissions.py."""

import csv
import io
import time

import pytest
from sqlalchemy import func, select

from reportkit.extensions import db
from reportkit.models import ApiToken, Event, Membership
from reportkit.services import reviews
from reportkit.services.cases import set_export_name
from reportkit.services.entries import add_violation, create_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes
from .test_disclosure import TRACKED, reviewed_case

NOT_FOUND = "Nothing here — or nothing you have access to."


def caller(app, headers):
    client = app.test_client()

    def call(method, url, **kwargs):
        resp = client.open(url, method=method, headers=headers, **kwargs)
        resp.get_data()
        resp.close()
        return resp
    return call


@pytest.fixture
def world(app, make_user, make_case, make_entry, token_for):
    """Our team's case with an entry and a screenshot, and another team's case (the attacker's target)."""
    owner, viewer = make_user("owner@example.org"), make_user("viewer@example.org")
    case = make_case(owner, members=[(viewer, "viewer")])
    entry = make_entry(case, owner)
    evidence = add_evidence_file(owner, entry, io.BytesIO(png_bytes()), "shot.png",
                                 EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config))
    stranger = make_user("stranger@example.org")
    theirs = make_case(stranger, title="Their case", accounts=({"platform": "telegram", "handle": "them"},))
    their_entry = create_entry(stranger, theirs, "https://t.me/them/5", {})
    their_evidence = add_evidence_file(stranger, their_entry, io.BytesIO(png_bytes(color=(0, 0, 200))), "t.png",
                                       EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config))
    w = {"owner": owner, "viewer": viewer, "case": case.id, "entry": entry.id, "evidence": evidence.id,
         "account": case.accounts[0].id, "theirs": theirs.id, "their_entry": their_entry.id,
         "their_evidence": their_evidence.id, "their_account": theirs.accounts[0].id,
         "their_membership": theirs.memberships[0].id}
    w["api"] = caller(app, token_for(owner))
    w["as_viewer"] = caller(app, token_for(viewer))
    return w


def assert_error(resp, status, code=None, field=None):
    assert resp.status_code == status, resp.data[:400]
    err = resp.json["error"]
    assert set(err) == {"code", "message", "fields"} and err["message"]
    if code:
        assert err["code"] == code
    if field:
        assert field in err["fields"], err
    if status == 404:
        assert err["message"] == NOT_FOUND and err["fields"] == {}  # "not yours" reads like "no such id"


def events(action):
    return db.session.scalars(select(Event).where(Event.action == action).order_by(Event.id)).all()


# --- members and invitations -----------------------------------------------------------------------------------

def test_members_list_invite_role_remove(world, make_user):
    api, case = world["api"], world["case"]
    listed = api("GET", f"/api/v1/cases/{case}/members").json
    assert {m["email"] for m in listed["members"]} == {"owner@example.org", "viewer@example.org"}
    assert {m["export_name"] for m in listed["members"]} == {"Owner 1", "Viewer 1"} and listed["invitations"] == []
    assert "invitations" not in world["as_viewer"]("GET", f"/api/v1/cases/{case}/members").json  # owners only

    make_user("has.account@example.org")
    known = api("POST", f"/api/v1/cases/{case}/invitations",
                json={"email": "Has.Account@example.org", "role": "editor"})
    unknown = api("POST", f"/api/v1/cases/{case}/invitations", json={"email": "nobody@example.org", "role": "editor"})
    assert known.status_code == unknown.status_code == 201
    def strip(body: dict) -> dict:
        return {k: v for k, v in body.items() if k not in ("id", "email", "created_at", "expires_at")}

    assert strip(known.json) == strip(unknown.json)  # never tells whether the address has an account
    assert known.json["email"] == "has.account@example.org" and known.json["open"] is True
    assert len(events("member.invited")) == 2
    assert_error(api("POST", f"/api/v1/cases/{case}/invitations", json={"email": "not-an-address", "role": "editor"}),
                 422, "validation_error", "email")
    assert_error(api("POST", f"/api/v1/cases/{case}/invitations", json={"email": "a@example.org", "role": "god"}),
                 422, "validation_error", "role")
    assert_error(api("POST", f"/api/v1/cases/{case}/invitations", json={"email": "nobody@example.org",
                                                                          "role": "viewer"}), 422, field="email")
    assert api("DELETE", f"/api/v1/cases/{case}/invitations/{unknown.json['id']}").json["withdrawn"] is True
    assert_error(api("DELETE", f"/api/v1/cases/{case}/invitations/{unknown.json['id']}"), 404)

    viewer_m = next(m for m in listed["members"] if m["email"] == "viewer@example.org")["id"]
    changed = api("PATCH", f"/api/v1/cases/{case}/members/{viewer_m}", json={"role": "reviewer"})
    assert changed.status_code == 200 and changed.json["role"] == "reviewer"
    assert events("member.role_changed")[-1].data == {"role": ["viewer", "reviewer"]}
    assert_error(api("PATCH", f"/api/v1/cases/{case}/members/{viewer_m}", json={"role": "boss"}), 422, field="role")
    assert_error(api("PATCH", f"/api/v1/cases/{case}/members/{viewer_m}", json={"user_id": 1}), 422, field="user_id")
    me = next(m for m in listed["members"] if m["email"] == "owner@example.org")["id"]
    assert_error(api("PATCH", f"/api/v1/cases/{case}/members/{me}", json={"role": "viewer"}), 422, field="role")
    assert_error(api("DELETE", f"/api/v1/cases/{case}/members/{me}"), 409, "conflict")  # the last owner stays
    assert api("DELETE", f"/api/v1/cases/{case}/members/{viewer_m}").json == {"id": viewer_m, "removed": True}
    assert db.session.get(Membership, viewer_m) is None and len(events("member.removed")) == 1
    assert_error(world["as_viewer"]("GET", f"/api/v1/cases/{case}"), 404)  # a removed member's token: not found


def test_members_of_another_team_are_404(world):
    api, theirs, case = world["api"], world["theirs"], world["case"]
    for method, url, body in (
            ("GET", f"/api/v1/cases/{theirs}/members", None),
            ("POST", f"/api/v1/cases/{theirs}/invitations", {"email": "x@example.org", "role": "owner"}),
            ("PATCH", f"/api/v1/cases/{theirs}/members/{world['their_membership']}", {"role": "viewer"}),
            ("DELETE", f"/api/v1/cases/{theirs}/members/{world['their_membership']}", None),
            # their membership id through our case: still not found, and nothing changes
            ("PATCH", f"/api/v1/cases/{case}/members/{world['their_membership']}", {"role": "viewer"}),
            ("DELETE", f"/api/v1/cases/{case}/members/{world['their_membership']}", None),
            ("GET", "/api/v1/cases/99999/members", None)):
        assert_error(api(method, url, json=body), 404)
    assert db.session.get(Membership, world["their_membership"]).role == "owner"


# --- accounts ----------------------------------------------------------------------------------------------------

def test_accounts_list_add_edit_record_events(world):
    api, case = world["api"], world["case"]
    assert [a["handle"] for a in api("GET", f"/api/v1/cases/{case}/accounts").json["accounts"]] == ["leader_en"]
    added = api("POST", f"/api/v1/cases/{case}/accounts",
                json={"platform": "telegram", "handle": "@leader_tg", "account_id": "777"})
    assert added.status_code == 201 and added.json["handle"] == "leader_tg" and added.json["account_id"] == "777"
    ev = events("account.added")[-1]
    assert ev.actor_id == world["owner"].id and ev.token_id is not None and ev.data["handle"] == "leader_tg"
    assert_error(api("POST", f"/api/v1/cases/{case}/accounts", json={"platform": "telegram", "handle": "LEADER_TG"}),
                 422, field="handle")  # the same handle, any case
    assert_error(api("POST", f"/api/v1/cases/{case}/accounts", json={"platform": "myspace", "handle": "a"}),
                 422, field="platform")
    assert_error(api("POST", f"/api/v1/cases/{case}/accounts", json={"platform": "x", "handle": "  "}),
                 422, field="handle")
    assert_error(api("POST", f"/api/v1/cases/{case}/accounts",
                     json={"platform": "x", "handle": "b", "profile_url": "javascript:alert(1)"}), 422,
                 field="profile_url")

    url = f"/api/v1/cases/{case}/accounts/{added.json['id']}"
    edited = api("PATCH", url, json={"display_name": "رهبر", "handle": "leader_tg2"})
    assert edited.status_code == 200
    assert edited.json["display_name"] == "رهبر" and edited.json["handle"] == "leader_tg2"
    assert events("account.edited")[-1].data == {"display_name": ["", "رهبر"],
                                                 "handle": ["leader_tg", "leader_tg2"]}
    assert_error(api("PATCH", url, json={"platform": "x"}), 422, field="platform")  # entries point at it
    assert_error(api("PATCH", url, json={"account_id": "x" * 101}), 422, field="account_id")
    api("PATCH", url, json={"display_name": "رهبر"})
    assert len(events("account.edited")) == 1  # nothing changed, nothing recorded
    assert_error(world["as_viewer"]("PATCH", url, json={"display_name": "x"}), 403)


def test_accounts_of_another_team_are_404(world):
    api = world["api"]
    assert_error(api("GET", f"/api/v1/cases/{world['theirs']}/accounts"), 404)
    assert_error(api("POST", f"/api/v1/cases/{world['theirs']}/accounts", json={"platform": "x", "handle": "y"}), 404)
    assert_error(api("PATCH", f"/api/v1/cases/{world['case']}/accounts/{world['their_account']}",
                     json={"display_name": "mine now"}), 404)
    assert_error(api("PATCH", f"/api/v1/cases/{world['theirs']}/accounts/{world['their_account']}",
                     json={"display_name": "mine now"}), 404)


def test_adding_an_account_on_the_page_is_recorded(world, client, login):
    """The page's add used to commit the account itself, with no custody event."""
    login(client, world["owner"])
    resp = client.post(f"/cases/{world['case']}/accounts", data={"platform": "telegram", "handle": "leader_fa"})
    assert resp.status_code == 302
    ev = events("account.added")
    assert len(ev) == 1 and ev[0].data["handle"] == "leader_fa" and ev[0].actor_id == world["owner"].id
    page = client.get(f"/cases/{world['case']}/activity").get_data(as_text=True)
    assert "added the account Telegram @leader_fa to the case." in page


# --- violations ----------------------------------------------------------------------------------------------------

def test_violations_list_map_change_remove(world):
    api, entry = world["api"], world["entry"]
    assert api("GET", f"/api/v1/entries/{entry}/violations").json == {"violations": []}
    mapped = api("POST", f"/api/v1/entries/{entry}/violations",
                 json={"clause": "x/violent_content/violent_threats", "rationale": "Threatens to kill."})
    assert mapped.status_code == 201 and mapped.json["clause"] == "x/violent_content/violent_threats"
    assert events("clause.mapped")[-1].token_id is not None
    by_words = api("POST", f"/api/v1/entries/{entry}/violations", json={"clause": "dehumanization",
                                                                           "rationale": "Calls them vermin."})
    assert by_words.status_code == 201 and by_words.json["clause"] == "x/hateful_conduct/dehumanization"
    assert_error(api("POST", f"/api/v1/entries/{entry}/violations",
                     json={"clause": "x/violent_content/violent_threats", "rationale": "again"}), 422, field="clause")
    assert_error(api("POST", f"/api/v1/entries/{entry}/violations",
                     json={"clause": "x/violent_content/violent_threats"}), 422, field="rationale")
    assert_error(api("POST", f"/api/v1/entries/{entry}/violations",
                     json={"clause": "youtube/hate_speech/hate_speech", "rationale": "r"}), 422, field="clause")
    assert_error(api("POST", f"/api/v1/entries/{entry}/violations", json={"clause": ["a"], "rationale": "r"}),
                 422, field="clause")
    vid = mapped.json["id"]
    changed = api("PATCH", f"/api/v1/entries/{entry}/violations/{vid}", json={"rationale_en": "A kill threat."})
    assert changed.status_code == 200 and changed.json["rationale_en"] == "A kill threat."
    assert_error(api("PATCH", f"/api/v1/entries/{entry}/violations/{vid}", json={"rationale": "sneaky"}), 422,
                 field="rationale")
    assert api("DELETE", f"/api/v1/entries/{entry}/violations/{vid}").json == {"id": vid, "removed": True}
    assert [v["id"] for v in api("GET", f"/api/v1/entries/{entry}/violations").json["violations"]] == \
        [by_words.json["id"]]
    assert_error(api("DELETE", f"/api/v1/entries/{entry}/violations/{vid}"), 404)
    assert_error(world["as_viewer"]("POST", f"/api/v1/entries/{entry}/violations",
                                    json={"clause": "x/violent_content/violent_threats", "rationale": "r"}), 403)


def test_violations_of_another_team_are_404(world):
    api = world["api"]
    assert_error(api("GET", f"/api/v1/entries/{world['their_entry']}/violations"), 404)
    assert_error(api("POST", f"/api/v1/entries/{world['their_entry']}/violations",
                     json={"clause": "x/violent_content/violent_threats", "rationale": "r"}), 404)
    mine = api("POST", f"/api/v1/entries/{world['entry']}/violations",
               json={"clause": "x/violent_content/violent_threats", "rationale": "r"}).json["id"]
    assert_error(api("DELETE", f"/api/v1/entries/{world['their_entry']}/violations/{mine}"), 404)
    assert_error(api("PATCH", f"/api/v1/entries/99999/violations/{mine}", json={"rationale_en": "x"}), 404)


# --- evidence and regions --------------------------------------------------------------------------------------

def test_evidence_list_with_hashes_and_derivatives_and_withdraw(world):
    api, entry, ev = world["api"], world["entry"], world["evidence"]
    listed = api("GET", f"/api/v1/entries/{entry}/evidence").json["evidence"]
    assert [e["id"] for e in listed] == [ev] and len(listed[0]["sha256"]) == 64 and listed[0]["withdrawn_at"] is None
    [copy] = listed[0]["derivatives"]
    assert copy["purpose"] == "print" and copy["parent_sha256"] == listed[0]["sha256"] and len(copy["sha256"]) == 64
    assert_error(api("POST", f"/api/v1/evidence/{ev}/withdraw", json={"reason": "  "}), 422, field="reason")
    assert_error(api("POST", f"/api/v1/evidence/{ev}/withdraw", json={"reason": 5}), 422, field="reason")
    assert_error(world["as_viewer"]("POST", f"/api/v1/evidence/{ev}/withdraw", json={"reason": "x"}), 403)
    done = api("POST", f"/api/v1/evidence/{ev}/withdraw", json={"reason": "Not the post."})
    assert done.status_code == 200 and done.json["withdrawn_reason"] == "Not the post." and done.json["withdrawn_at"]
    [withdrawn] = events("evidence.withdrawn")
    assert withdrawn.explanation == "Not the post." and withdrawn.token_id is not None
    assert_error(api("POST", f"/api/v1/evidence/{ev}/withdraw", json={"reason": "again"}), 409, "conflict")
    assert len(events("evidence.withdrawn")) == 1
    assert_error(api("GET", f"/api/v1/entries/{world['their_entry']}/evidence"), 404)
    assert_error(api("POST", f"/api/v1/evidence/{world['their_evidence']}/withdraw", json={"reason": "x"}), 404)


def test_regions_list_add_remove_redraw_the_marked_copy(world):
    api, ev = world["api"], world["evidence"]
    added = api("POST", f"/api/v1/evidence/{ev}/regions",
                json={"kind": "redact", "label": "bystander", "x": 10, "y": 20, "w": 30, "h": 40})
    assert added.status_code == 201 and added.json["kind"] == "redact" and added.json["x"] == 10
    detail = api("GET", f"/api/v1/entries/{world['entry']}/evidence").json["evidence"][0]
    assert detail["regions"] == 1 and {d["purpose"] for d in detail["derivatives"]} == {"print", "marked"}
    assert [r["id"] for r in api("GET", f"/api/v1/evidence/{ev}/regions").json["regions"]] == [added.json["id"]]
    for bad, field in (({"x": 10, "y": 10, "w": 0.1, "h": 20}, "w"), ({"x": 150, "y": 10, "w": 10, "h": 10}, "x"),
                       ({"x": "10", "y": 10, "w": 10, "h": 10}, "x"), ({"y": 10, "w": 10, "h": 10}, "x"),
                       ({"x": 1, "y": 1, "w": 10, "h": 10, "kind": "blur"}, "kind")):
        assert_error(api("POST", f"/api/v1/evidence/{ev}/regions", json=bad), 422, field=field)
    assert_error(world["as_viewer"]("POST", f"/api/v1/evidence/{ev}/regions", json={"x": 1, "y": 1, "w": 9, "h": 9}),
                 403)
    assert_error(api("GET", f"/api/v1/evidence/{world['their_evidence']}/regions"), 404)
    assert_error(api("POST", f"/api/v1/evidence/{world['their_evidence']}/regions",
                     json={"x": 1, "y": 1, "w": 9, "h": 9}), 404)
    assert api("DELETE", f"/api/v1/regions/{added.json['id']}").json["removed"] is True
    assert_error(api("DELETE", f"/api/v1/regions/{added.json['id']}"), 404)
    detail = api("GET", f"/api/v1/entries/{world['entry']}/evidence").json["evidence"][0]
    assert detail["regions"] == 0 and [d["purpose"] for d in detail["derivatives"]] == ["print"]
    assert [e.action for e in events("region.added") + events("region.removed")] == ["region.added", "region.removed"]


# --- events ----------------------------------------------------------------------------------------------------------

def test_events_paginated_filtered_and_by_cursor(world):
    api, case = world["api"], world["case"]
    api("POST", f"/api/v1/entries/{world['entry']}/violations",
        json={"clause": "x/violent_content/violent_threats", "rationale": "r"})
    viewer = world["as_viewer"]
    everything = viewer("GET", f"/api/v1/cases/{case}/events?per_page=200").json  # a viewer sees the whole log
    ids = [e["id"] for e in everything["events"]]
    assert ids == sorted(ids, reverse=True) and everything["total"] == len(ids) >= 5
    assert {e["action"] for e in everything["events"]} >= {"case.created", "entry.created", "clause.mapped"}
    mapped = next(e for e in everything["events"] if e["action"] == "clause.mapped")
    assert mapped["via_token"] is True and "mapped" in mapped["text"] and len(mapped["hash"]) == 64
    assert all(e.case_id == case for e in db.session.scalars(select(Event).where(Event.id.in_(ids))))

    first = viewer("GET", f"/api/v1/cases/{case}/events?per_page=2&page=1").json
    second = viewer("GET", f"/api/v1/cases/{case}/events?per_page=2&page=2").json
    assert [e["id"] for e in first["events"] + second["events"]] == ids[:4]
    cursor = viewer("GET", f"/api/v1/cases/{case}/events?after_id={ids[-1]}&per_page=2").json
    assert [e["id"] for e in cursor["events"]] == sorted(ids)[1:3] and cursor["next_after_id"] == sorted(ids)[2]
    only = viewer("GET", f"/api/v1/cases/{case}/events?kind=clause.mapped").json["events"]
    assert [e["action"] for e in only] == ["clause.mapped"]
    family = viewer("GET", f"/api/v1/cases/{case}/events?kind=member.").json["events"]
    assert family and all(e["action"].startswith("member.") for e in family)
    by_entry = viewer("GET", f"/api/v1/cases/{case}/events?entry={world['entry']}").json["events"]
    assert by_entry and all(e["entry_id"] == world["entry"] for e in by_entry)
    by_actor = viewer("GET", f"/api/v1/cases/{case}/events?actor={world['viewer'].id}").json["events"]
    assert by_actor == []  # the viewer changed nothing
    for bad in ("kind=drop%20table", "entry=abc", "actor=-1", "after_id=1.5", "page=x"):
        resp = viewer("GET", f"/api/v1/cases/{case}/events?{bad}")
        assert resp.status_code in (400, 422) and resp.json["error"]["message"], bad
    assert_error(viewer("GET", f"/api/v1/cases/{case}/events?entry=abc"), 422, field="entry")
    assert_error(api("GET", f"/api/v1/cases/{world['theirs']}/events"), 404)
    their_events = api("GET", f"/api/v1/cases/{case}/events?entry={world['their_entry']}").json["events"]
    assert their_events == []  # another case's entry id filters our log to nothing, never theirs


# --- exports: what the page hides, the API hides -------------------------------------------------------------------

def test_exports_follow_the_pages_disclosure_rules(app, make_user, make_case, token_for):
    owner, editor, reviewer, case, approved = reviewed_case(app, make_user, make_case)
    set_export_name(reviewer, case, next(m for m in case.memberships if m.user_id == reviewer.id), "S. (reviewer)")
    draft = create_entry(editor, case, "https://x.com/leader_en/status/1453347171011694597", {"text": "draft text"})
    rejected = create_entry(editor, case, "https://x.com/leader_en/status/1453347171011694598", {"text": "nope"})
    add_violation(editor, rejected, "x/violent_content/violent_threats", "A threat?")
    add_evidence_file(editor, rejected, io.BytesIO(png_bytes(color=(9, 9, 9))), "r.png",
                      EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config))
    reviews.transition(editor, rejected, "ready")
    reviews.transition(reviewer, rejected, "rejected", "Not a threat.")
    stranger = make_user("stranger@example.org", name="Other Team")
    theirs = make_case(stranger, title="Their case")
    their_entry = create_entry(stranger, theirs, "https://x.com/other/status/1453347171011694599",
                               {"text": "their secret"})
    viewer = make_user("viewer@example.org")
    from reportkit.services.cases import add_member
    add_member(None, case, viewer.email, "viewer")
    call = caller(app, token_for(viewer))  # the least right there is: read

    as_json = call("GET", f"/api/v1/cases/{case.id}/exports.json")
    as_csv = call("GET", f"/api/v1/cases/{case.id}/exports.csv")
    assert as_json.status_code == as_csv.status_code == 200
    assert [e["id"] for e in as_json.json["entries"]] == [approved.id]  # approved only, as on the page
    assert as_json.json["entries"][0]["approvals"][0]["by"] == "S. (reviewer)"
    rows = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2 and rows[1][0] == str(approved.number)
    attempts = [
        f"entries={draft.id},{rejected.id},{approved.id}&include_unapproved=1",  # rejected never, even by id
        "include_unapproved=true&mode=dsa",
        f"entries={approved.id}",
    ]
    for query in attempts:
        for fmt in ("json", "csv"):
            resp = call("GET", f"/api/v1/cases/{case.id}/exports.{fmt}?{query}")
            assert resp.status_code == 200, (query, resp.data[:300])
            text = resp.get_data(as_text=True)
            for person in (owner, editor, reviewer, viewer, stranger):
                assert person.email not in text and (not person.name or person.name not in text), (query, fmt)
            assert "utm_source" not in text and "Zx9Qp3LmN0" not in text and "fbclid" not in text
            assert "nope" not in text and "their secret" not in text  # rejected; another team's
    both = call("GET", f"/api/v1/cases/{case.id}/exports.json?entries={draft.id},{approved.id}"
                       "&include_unapproved=1&mode=dsa")
    assert sorted(e["id"] for e in both.json["entries"]) == sorted([draft.id, approved.id])
    foreign = call("GET", f"/api/v1/cases/{case.id}/exports.json?entries={their_entry.id}")
    missing = call("GET", f"/api/v1/cases/{case.id}/exports.json?entries=99999")
    assert_error(foreign, 422, field="entries")
    assert_error(missing, 422, field="entries")
    assert foreign.json["error"]["message"] == missing.json["error"]["message"]  # another case's id reads as missing
    assert_error(call("GET", f"/api/v1/cases/{theirs.id}/exports.json"), 404)
    assert_error(call("GET", f"/api/v1/cases/{theirs.id}/exports.csv?entries={their_entry.id}"), 404)
    for query, field in (("entries=1;2", "entries"), ("date_from=yesterday", "date_from"), ("account=999", "account"),
                         ("mode=everything", "mode"), ("with_package=1", "with_package")):
        assert_error(call("GET", f"/api/v1/cases/{case.id}/exports.json?{query}"), 422, field=field)
    assert TRACKED in approved.submitted_url  # the database keeps what was typed


# --- verification --------------------------------------------------------------------------------------------------

def test_verification_start_and_read_the_last_result(world):
    api, case = world["api"], world["case"]
    assert world["as_viewer"]("GET", f"/api/v1/cases/{case}/verification").json == {"last": None}
    assert_error(world["as_viewer"]("POST", f"/api/v1/cases/{case}/verification"), 403)
    started = api("POST", f"/api/v1/cases/{case}/verification")
    assert started.status_code == 202 and started.json["previous_event_id"] is None
    deadline = time.monotonic() + 30
    while db.session.scalar(select(func.count(Event.id)).where(Event.action == "verification.run")) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    last = world["as_viewer"]("GET", f"/api/v1/cases/{case}/verification").json["last"]
    assert last["ok"] is True and last["files_checked"] >= 1 and last["problems"] == []
    assert last["by"] == "owner@example.org" and last["chain"]["length"] >= 1
    assert_error(api("POST", f"/api/v1/cases/{world['theirs']}/verification"), 404)
    assert_error(api("GET", f"/api/v1/cases/{world['theirs']}/verification"), 404)


# --- tokens ----------------------------------------------------------------------------------------------------------

def test_own_tokens_listed_without_secrets_and_revoked(app, world, token_for):
    owner = world["owner"]
    second = token_for(owner)
    api = world["api"]
    listed = api("GET", "/api/v1/tokens")
    body = listed.get_data(as_text=True)
    tokens = listed.json["tokens"]
    assert len(tokens) == 2 and sum(t["current"] for t in tokens) == 1
    assert second["Authorization"].split()[1] not in body and "token_hash" not in body
    assert set(tokens[0]) == {"id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "current"}
    their_token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == world["viewer"].id))
    assert_error(api("POST", f"/api/v1/tokens/{their_token.id}/revoke"), 404)  # someone else's: not found
    assert db.session.get(ApiToken, their_token.id).revoked_at is None
    assert_error(api("POST", "/api/v1/tokens/99999/revoke"), 404)
    assert api("POST", "/api/v1/tokens").status_code == 405  # a token cannot mint tokens
    other = next(t for t in tokens if not t["current"])
    revoked = api("POST", f"/api/v1/tokens/{other['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json["revoked_at"]
    assert caller(app, second)("GET", "/api/v1/cases").status_code == 401
    mine = next(t for t in tokens if t["current"])
    assert api("POST", f"/api/v1/tokens/{mine['id']}/revoke").status_code == 200  # may end itself
    assert api("GET", "/api/v1/tokens").status_code == 401


# --- two requests at once ----------------------------------------------------------------------------------------

def test_the_same_account_added_by_many_requests_at_once_is_added_once(make_app):
    """Two server processes, eight threads, one handle: one 201, every other request a 422 naming the handle,
    never a 500 from the unique index; one account.added event; the chain still verifies."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    from reportkit.models import Account, ApiToken, User
    from reportkit.services.cases import create_case
    from reportkit.services.custody import verify_case

    from .test_concurrency import Servers

    app = make_app()
    with app.app_context():
        user = User(email="rana@example.org", name="Rana")
        user.set_password("correct horse battery")
        db.session.add(user)
        db.session.commit()
        case_id = create_case(user, "Case", "A. Leader", "", [{"platform": "x", "handle": "leader_en"}]).id
        token, secret = ApiToken.issue(user, "race")
        db.session.add(token)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    servers = Servers({k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "EVIDENCE_DIR", "SECRET_KEY",
                                                  "INSTANCE_PATH")} | {"RATELIMIT_ENABLED": False})
    body = json.dumps({"platform": "telegram", "handle": "leader_tg"}).encode()
    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda n: servers.request(n, "POST", f"/api/v1/cases/{case_id}/accounts",
                                                              secret, body), range(8)))
    finally:
        servers.stop()
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [422] * 7, answers
    assert all("handle" in json.loads(raw)["error"]["fields"] for status, raw in answers if status == 422)
    with app.app_context():
        assert db.session.scalar(select(func.count(Account.id)).where(Account.case_id == case_id,
                                                                      Account.handle == "leader_tg")) == 1
        assert len(events("account.added")) == 1
        assert verify_case(case_id, EvidenceStore(app.config["EVIDENCE_DIR"])).ok
        db.session.remove()
        db.engine.dispose()
