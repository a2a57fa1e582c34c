"""The JSON API v1 contract: routes, field names, status codes and the error shape."""

import hashlib
import io

import pytest

from .conftest import png_bytes

X_URL = "https://twitter.com/leader_en/status/1453347171011694596?s=20"


@pytest.fixture
def api(app, make_user, token_for):
    user = make_user()
    headers = token_for(user)
    client = app.test_client()

    def call(method, url, **kwargs):
        resp = client.open(url, method=method, headers=headers, **kwargs)
        resp.get_data()  # read the body, then release the file behind a download
        resp.close()
        return resp
    call.user = user
    return call


@pytest.fixture
def case_id(api):
    resp = api("POST", "/api/v1/cases", json={
        "title": "Threats by A. Leader", "subject": "A. Leader",
        "accounts": [{"platform": "x", "handle": "leader_en"}, {"platform": "x", "handle": "leader_fa",
                                                                  "display_name": "رهبر", "account_id": "123"}]})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def assert_error(resp, status, code=None, field=None):
    assert resp.status_code == status, resp.data[:300]
    err = resp.json["error"]
    assert set(err) == {"code", "message", "fields"} and err["message"]
    if code:
        assert err["code"] == code
    if field:
        assert field in err["fields"], err


def test_policies_lists_clause_keys(api):
    resp = api("GET", "/api/v1/policies")
    keys = {c["key"] for p in resp.json["platforms"] for pol in p["policies"] for c in pol["clauses"]}
    assert "x/violent_content/violent_threats" in keys
    assert any(k.startswith("meta/violence_incitement/") for k in keys)
    assert {p["key"] for p in resp.json["platforms"]} >= {"x", "meta", "youtube", "tiktok", "telegram", "eu_dsa"}
    assert "Open Terms Archive" in resp.json["credit"]


def test_case_create_list_get(api, case_id):
    listed = api("GET", "/api/v1/cases").json["cases"]
    assert [c["id"] for c in listed] == [case_id] and listed[0]["role"] == "owner"
    case = api("GET", f"/api/v1/cases/{case_id}").json
    assert case["title"] == "Threats by A. Leader"
    assert [(a["platform"], a["handle"]) for a in case["accounts"]] == [("x", "leader_en"), ("x", "leader_fa")]
    assert case["accounts"][1]["account_id"] == "123"


@pytest.mark.parametrize(("body", "field"), [
    ({"subject": "S", "accounts": [{"platform": "x", "handle": "a"}]}, "title"),
    ({"title": "T", "subject": "S", "accounts": []}, "accounts"),
    ({"title": "T", "subject": "S", "accounts": [{"platform": "myspace", "handle": "a"}]}, "accounts[0]"),
    ({"title": "T", "subject": "S", "accounts": [{"platform": "x", "handle": "a", "profile_url": "javascript:x"}]},
     "accounts[0]"),
    ({"title": ["T"], "subject": "S", "accounts": [{"platform": "x", "handle": "a"}]}, "title"),
])
def test_case_validation_errors(api, body, field):
    assert_error(api("POST", "/api/v1/cases", json=body), 422, "validation_error", field)


def test_bad_json_is_400(api):
    assert_error(api("POST", "/api/v1/cases", data="{not json", content_type="application/json"), 400)
    assert_error(api("POST", "/api/v1/cases", json=[1, 2]), 400)


def test_entry_create_returns_canonical_fields(api, case_id):
    resp = api("POST", f"/api/v1/cases/{case_id}/entries", json={
        "url": X_URL, "text": "سلام <b>دنیا</b>", "language": "fa", "translation": "Hello world",
        "translation_method": "human", "tags": ["threat", "Threat ", "speech"], "notes": "n",
        "violations": [{"clause": "x/violent_content/violent_threats", "rationale": "Threatens to kill."}]})
    assert resp.status_code == 201, resp.json
    e = resp.json
    assert e["canonical_url"] == "https://x.com/leader_en/status/1453347171011694596"
    assert e["url"] == X_URL and e["platform"] == "x" and e["post_id"] == "1453347171011694596"
    assert e["posted_at"] == "2021-10-27T13:05:42.110000Z" and e["posted_at_source"] == "derived_from_id"
    assert e["account"]["handle"] == "leader_en" and e["tags"] == ["speech", "threat"]
    assert e["violations"][0]["clause"] == "x/violent_content/violent_threats"
    assert e["text"] == "سلام <b>دنیا</b>"  # stored verbatim; escaping is the page's job


def test_typed_time_overrides_and_is_marked(api, case_id):
    resp = api("POST", f"/api/v1/cases/{case_id}/entries",
               json={"url": "https://t.me/leader_fa/12", "posted_at": "2024-05-01T14:30:00+03:30"})
    assert resp.json["posted_at"] == "2024-05-01T11:00:00Z" and resp.json["posted_at_source"] == "typed_by_person"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"url": "javascript:alert(1)"}, 422, "url"),
    ({"url": "file:///etc/passwd"}, 422, "url"),
    ({}, 422, "url"),
    ({"url": "https://x.com/leader_en"}, 422, "url"),
    ({"url": "https://t.me/a_b/1", "language": "not a tag!"}, 422, "language"),
    ({"url": "https://t.me/a_b/1", "posted_at": "yesterday"}, 422, "posted_at"),
    ({"url": "https://t.me/a_b/1", "posted_at": "2024-05-01T12:00:00"}, 422, "posted_at"),
    ({"url": "https://t.me/a_b/1", "translation_method": "telepathy"}, 422, "translation_method"),
    ({"url": "https://t.me/a_b/1", "violations": [{"clause": "x/nope", "rationale": "r"}]}, 422, "clause"),
    ({"url": "https://t.me/a_b/1",
      "violations": [{"clause": "telegram/terms_of_service/promote_violence_public"}]}, 422, "rationale"),
    ({"url": "https://t.me/a_b/1", "tags": "a,b"}, 422, "tags"),
    ({"url": "https://t.me/a_b/1", "account_id": 999}, 422, "account_id"),
    ({"url": "https://t.me/a_b/1", "text": "x" * 60_000}, 422, "text"),
])
def test_entry_validation_errors(api, case_id, body, status, field):
    assert_error(api("POST", f"/api/v1/cases/{case_id}/entries", json=body), status, None, field)


def test_duplicate_across_url_variants_is_409(api, case_id):
    assert api("POST", f"/api/v1/cases/{case_id}/entries", json={"url": X_URL}).status_code == 201
    for variant in ("https://fxtwitter.com/leader_en/status/1453347171011694596/photo/1",
                    "https://x.com/i/web/status/1453347171011694596"):
        resp = api("POST", f"/api/v1/cases/{case_id}/entries", json={"url": variant})
        assert_error(resp, 409, "duplicate", "url")
        assert resp.json["error"]["fields"]["existing_entry_id"]


def test_list_entries_paginates_and_filters(api, case_id):
    for n in range(1, 6):
        api("POST", f"/api/v1/cases/{case_id}/entries",
            json={"url": f"https://t.me/leader_fa/{n}", "text": "needle" if n == 3 else "hay", "tags": ["t"]})
    page = api("GET", f"/api/v1/cases/{case_id}/entries?per_page=2&page=2&sort=number_asc").json
    assert (page["total"], page["pages"], [e["number"] for e in page["entries"]]) == (5, 3, [3, 4])
    found = api("GET", f"/api/v1/cases/{case_id}/entries?q=needle").json
    assert [e["number"] for e in found["entries"]] == [3]
    assert api("GET", f"/api/v1/cases/{case_id}/entries?tag=none").json["total"] == 0
    assert_error(api("GET", f"/api/v1/cases/{case_id}/entries?page=x"), 400)
    assert_error(api("GET", f"/api/v1/cases/{case_id}/entries?date_from=notadate"), 422)


def test_patch_entry(api, case_id):
    entry = api("POST", f"/api/v1/cases/{case_id}/entries", json={"url": X_URL, "text": "t"}).json
    resp = api("PATCH", f"/api/v1/entries/{entry['id']}", json={"translation": "new", "tags": ["a"]})
    assert resp.status_code == 200 and resp.json["translation"] == "new" and resp.json["tags"] == ["a"]
    assert resp.json["text"] == "t" and resp.json["posted_at_source"] == "derived_from_id"
    assert_error(api("PATCH", f"/api/v1/entries/{entry['id']}", json={"canonical_url": "https://e.org/"}), 422,
                 "validation_error", "canonical_url")
    assert_error(api("PATCH", f"/api/v1/entries/{entry['id']}", json={"language": "??"}), 422, None, "language")


def test_evidence_upload_and_download(api, case_id):
    entry = api("POST", f"/api/v1/cases/{case_id}/entries", json={"url": X_URL}).json
    data = png_bytes()
    resp = api("POST", f"/api/v1/entries/{entry['id']}/evidence",
               data={"file": (io.BytesIO(data), "shot.png"), "kind": "screenshot"})
    assert resp.status_code == 201
    assert resp.json == {"id": resp.json["id"], "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                         "mime": "image/png", "kind": "screenshot"}
    original = api("GET", f"/api/v1/evidence/{resp.json['id']}/original")
    assert original.data == data and original.headers["X-Content-Type-Options"] == "nosniff"
    assert original.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize(("data", "status", "code"), [
    ({"file": (io.BytesIO(b"<?php system($_GET[1]); ?>"), "x.png")}, 415, "unsupported_media_type"),
    ({"file": (io.BytesIO(b""), "empty.png")}, 415, "unsupported_media_type"),
    ({"file": (io.BytesIO(png_bytes()[:200]), "cut.png")}, 422, "unprocessable"),
    ({}, 400, "bad_request"),
    ({"file": (io.BytesIO(png_bytes()), "x.png"), "kind": "hologram"}, 422, "validation_error"),
])
def test_evidence_upload_errors(api, case_id, data, status, code):
    entry = api("POST", f"/api/v1/cases/{case_id}/entries", json={"url": X_URL}).json
    assert_error(api("POST", f"/api/v1/entries/{entry['id']}/evidence", data=data), status, code)


def test_upload_over_limit_is_413(make_app, make_user, token_for):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    with app.app_context():
        from reportkit.services.cases import create_case
        from reportkit.services.entries import create_entry

        user = make_user()
        entry = create_entry(user, create_case(user, "T", "S", accounts=[{"platform": "x", "handle": "a"}]), X_URL)
        resp = app.test_client().post(f"/api/v1/entries/{entry.id}/evidence", headers=token_for(user),
                                      data={"file": (io.BytesIO(b"x" * 4096), "big.png")})
        assert_error(resp, 413)
        assert "1 MB" in resp.json["error"]["message"] or "limit" in resp.json["error"]["message"]


def test_revoked_token_is_refused(app, api, client):
    from reportkit.extensions import db
    from reportkit.models import ApiToken
    from reportkit.models._common import utcnow

    assert api("GET", "/api/v1/cases").status_code == 200
    for token in db.session.scalars(db.select(ApiToken)):
        token.revoked_at = utcnow()
    db.session.commit()
    assert_error(api("GET", "/api/v1/cases"), 401, "unauthorized")
