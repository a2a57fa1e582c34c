"""The API routes the browser extension uses: the lookup (canonical address, already in the case, outsiders get
the same 404 as a missing case) and the upload's sha256 check (a mismatch is a 422 naming the field, nothing
stored, no event)."""

import hashlib
import io
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from reportkit.extensions import db
from reportkit.models import Event, Evidence

from .conftest import png_bytes

POST = "https://x.com/leader_en/status/1453347171011694596"


@pytest.fixture
def setup(app, make_user, make_case, make_entry, token_for):
    owner = make_user("owner@example.org")
    viewer = make_user("viewer@example.org")
    outsider = make_user("outsider@example.org")
    case = make_case(owner, members=[(viewer, "viewer")])
    entry = make_entry(case, owner)
    return {"case": case.id, "entry": entry.id, "number": entry.number, "owner": token_for(owner),
            "viewer": token_for(viewer), "outsider": token_for(outsider)}


def lookup(client, case_id, headers, url, **params):
    query = "&".join(f"{k}={quote(v)}" for k, v in {"url": url, **params}.items())
    return client.get(f"/api/v1/cases/{case_id}/lookup?{query}", headers=headers)


def test_lookup_canonicalises_a_new_post(client, setup):
    resp = lookup(client, setup["case"], setup["viewer"],
                  "https://mobile.twitter.com/Leader_EN/status/1790000000000000001/photo/1?s=20&t=abc")
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["canonical_url"] == "https://x.com/Leader_EN/status/1790000000000000001"
    assert (body["platform"], body["post_id"], body["accepted"], body["entry"]) == (
        "x", "1790000000000000001", True, None)
    assert body["posted_at"].startswith("2024-05-13")  # read from the snowflake id


def test_lookup_names_the_entry_already_in_the_case(client, setup):
    resp = lookup(client, setup["case"], setup["owner"], POST.replace("x.com", "twitter.com") + "?s=46")
    assert resp.status_code == 200
    assert resp.json["entry"]["id"] == setup["entry"] and resp.json["entry"]["number"] == setup["number"]
    assert resp.json["entry"]["web_url"] == f"/entries/{setup['entry']}"


def test_lookup_guesses_the_language_and_refuses_what_is_no_post(client, setup):
    resp = lookup(client, setup["case"], setup["owner"], POST,
                  text="این یک متن فارسی است که باید زبانش شناخته شود")
    assert resp.json["language"] == "fa"
    resp = lookup(client, setup["case"], setup["owner"], "https://x.com/leader_en")
    assert resp.status_code == 200 and resp.json["accepted"] is False and resp.json["problem"]
    resp = lookup(client, setup["case"], setup["owner"], "javascript:alert(1)")
    assert resp.status_code == 422 and "url" in resp.json["error"]["fields"]
    resp = lookup(client, setup["case"], setup["owner"], POST, text="x" * 5001)
    assert resp.status_code == 422 and "text" in resp.json["error"]["fields"]


def test_outsider_gets_the_missing_case_answer(client, setup):
    foreign = lookup(client, setup["case"], setup["outsider"], POST)
    missing = lookup(client, 9999, setup["owner"], POST)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json == missing.json  # nothing says the case exists, nor whether the post is in it
    assert client.get(f"/api/v1/cases/{setup['case']}/lookup?url={quote(POST)}").status_code == 401


def _counts():
    db.session.remove()
    return (db.session.scalar(select(func.count(Evidence.id))),
            db.session.scalar(select(func.count(Event.id)).where(Event.action == "evidence.uploaded")))


def test_upload_with_the_right_sha256_is_stored(client, setup):
    data = png_bytes()
    sha = hashlib.sha256(data).hexdigest()
    resp = client.post(f"/api/v1/entries/{setup['entry']}/evidence", headers=setup["owner"],
                       data={"file": (io.BytesIO(data), "shot.png"), "sha256": sha.upper()},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    assert resp.json["sha256"] == sha


def test_sha256_mismatch_is_refused_and_stores_nothing(app, client, setup):
    data = png_bytes()
    before = _counts()
    wrong = hashlib.sha256(data + b"tampered").hexdigest()
    resp = client.post(f"/api/v1/entries/{setup['entry']}/evidence", headers=setup["owner"],
                       data={"file": (io.BytesIO(data), "shot.png"), "sha256": wrong},
                       content_type="multipart/form-data")
    assert resp.status_code == 422
    assert list(resp.json["error"]["fields"]) == ["sha256"]
    assert hashlib.sha256(data).hexdigest() in resp.json["error"]["message"]
    assert _counts() == before
    stored = [p for p in Path(app.config["EVIDENCE_DIR"]).rglob("*") if p.is_file()]
    assert not any(hashlib.sha256(p.read_bytes()).digest() == hashlib.sha256(data).digest() for p in stored)
    resp = client.post(f"/api/v1/entries/{setup['entry']}/evidence", headers=setup["owner"],
                       data={"file": (io.BytesIO(data), "shot.png"), "sha256": "not-a-hash"},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and list(resp.json["error"]["fields"]) == ["sha256"]
    assert _counts() == before
