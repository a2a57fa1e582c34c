"""Server-side capture (#18) against a local site started here: real Chromium, real queue, real store."""

import hashlib
import io
import time
import zipfile

import pytest
from sqlalchemy import select, update
from warcio.archiveiterator import ArchiveIterator

from reportkit.extensions import db
from reportkit.models import Capture, Event, Evidence
from reportkit.services.capture import address_problem, claim_capture, host_problem, judge, load_page, run_capture_job
from reportkit.services.custody import verify_case
from reportkit.services.storage import app_store
from tests.capture_site import Site


@pytest.fixture
def site():
    running = Site(slow_seconds=6).start()
    yield running
    running.stop()


@pytest.fixture
def app(make_app, site):
    """Captures may reach the fixture site's port on 127.0.0.1, and nothing else private (no proxy)."""
    app = make_app(CAPTURE_PROXY="", CAPTURE_TIMEOUT=3, CAPTURE_ALLOW_PRIVATE=[f"127.0.0.1:{site.port}"])
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def world(app, make_user, make_case, make_entry, token_for, site):
    owner = make_user("owner@example.org")
    case = make_case(owner)
    return owner, case, token_for(owner)


def _wait(client, headers, capture_id: int, seconds: float = 45) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/captures/{capture_id}", headers=headers).get_json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"capture {capture_id} did not finish: {body}")


def test_capture_through_api_and_queue_stores_hashed_files(app, world, make_entry, site):
    owner, case, headers = world
    entry = make_entry(case, owner, url=site.url("/r/1"))  # a redirect chain to the post page
    client = app.test_client()
    resp = client.post(f"/api/v1/entries/{entry.id}/captures", json={}, headers=headers)
    assert resp.status_code == 202, resp.data
    job = resp.get_json()
    assert job["status"] == "queued" and job["job_id"] == job["id"]
    again = client.post(f"/api/v1/entries/{entry.id}/captures", json={}, headers=headers)
    assert again.status_code == 409  # a second one while the first is queued or running: refused, said
    body = _wait(client, headers, job["id"])
    assert body["status"] == "done" and body["outcome"] == "captured", body
    assert body["final_url"] == site.url("/post/1") and body["http_status"] == 200
    assert body["browser"].startswith("Chromium ") and "Chrome/" in body["user_agent"]
    assert body["method"] == "automated" and body["proxy"] is None
    kinds = sorted(e["kind"] for e in body["evidence"])
    assert kinds == ["page", "screenshot", "web_archive"]
    store = app_store(app)
    for item in body["evidence"]:
        data = store.read_bytes(item["sha256"])
        assert hashlib.sha256(data).hexdigest() == item["sha256"] and len(data) == item["size"]
    wacz = next(e for e in body["evidence"] if e["kind"] == "web_archive")
    with zipfile.ZipFile(io.BytesIO(store.read_bytes(wacz["sha256"]))) as zf:
        assert "datapackage.json" in zf.namelist() and any(n.startswith("indexes/") for n in zf.namelist())
        warc = next(n for n in zf.namelist() if n.startswith("archive/"))
        records = {(r.rec_type, r.rec_headers.get_header("WARC-Target-URI")): r.content_stream().read()
                   for r in ArchiveIterator(io.BytesIO(zf.read(warc))) if r.rec_type == "response"}
    page = records[("response", site.url("/post/1"))]
    assert b"driven out of the city" in page
    assert ("response", site.url("/r/1")) in records  # each redirect hop is in the archive too
    mhtml = next(e for e in body["evidence"] if e["kind"] == "page")
    assert b"driven out of the city" in store.read_bytes(mhtml["sha256"]).replace(b"=\r\n", b"")
    db.session.expire_all()
    assert entry.capture_method == "automated" and entry.captured_at is not None
    actions = db.session.scalars(select(Event.action).where(Event.entry_id == entry.id)).all()
    assert "capture.requested" in actions and "capture.finished" in actions
    assert actions.count("evidence.uploaded") == 3
    report = verify_case(case.id, store)  # the chain, the replayed entry fields and every stored file
    assert report.ok, report.problems


def test_login_wall_is_reported_and_kept_only_as_withdrawn_diagnostic(app, world, make_entry, site):
    owner, case, headers = world
    entry = make_entry(case, owner, url=site.url("/walled"))
    client = app.test_client()
    resp = client.post(f"/api/v1/entries/{entry.id}/captures", json={"keep_diagnostic": True}, headers=headers)
    assert resp.status_code == 202
    body = _wait(client, headers, resp.get_json()["id"])
    assert body["outcome"] == "login_wall" and "browser extension" in body["message"]
    assert [e["kind"] for e in body["evidence"]] == ["screenshot"] and body["evidence"][0]["withdrawn"]
    db.session.expire_all()
    assert all(not e.active for e in db.session.scalars(select(Evidence).where(Evidence.entry_id == entry.id)))
    assert entry.capture_method == ""  # a wall is no capture of the post
    assert verify_case(case.id, app_store(app)).ok


@pytest.mark.parametrize("path,outcome", [("/nope", "not_found"), ("/slow", "timeout"),
                                          ("/to-loopback", "refused"), ("/to-metadata", "refused")])
def test_outcomes_of_the_page_load(site, tmp_path, path, outcome):
    loaded = load_page(site.url(path), tmp_path, timeout=2, allowed={f"127.0.0.1:{site.port}"})
    assert loaded.outcome == outcome, loaded.message
    assert loaded.wacz is None and loaded.mhtml is None  # nothing that could pass for the post
    if outcome == "refused":
        assert "/admin" not in site.hits and loaded.refused
        assert ("169.254.169.254" if "metadata" in path else "loopback") in loaded.message


def test_private_addresses_are_refused_before_any_browser(site, tmp_path):
    assert load_page(site.url("/post/1"), tmp_path, allowed=set()).outcome == "refused"  # not allowed: refused
    assert site.hits == []
    for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/", "http://[::1]:8080/",
                "file:///etc/passwd", "http://localhost/", "http://2130706433/", "http://0x7f.1/"):
        assert host_problem(url, set()), url
    for ip in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.169.254", "fd00:ec2::254", "::1",
               "::ffff:127.0.0.1", "0.0.0.0", "100.100.100.200"):
        assert address_problem(ip, 80, set()), ip
    assert address_problem("93.184.215.14", 443, set()) is None
    assert address_problem("127.0.0.1", 8123, {"127.0.0.1:8123"}) is None
    assert address_problem("127.0.0.1", 8124, {"127.0.0.1:8123"})  # another port of an allowed address


def test_judge_empty_and_error_pages():
    assert judge(200, "https://x.com/a/status/1", "", False)[0] == "error"
    assert judge(500, "https://x.com/a/status/1", "Something went wrong " * 10, False)[0] == "error"
    assert judge(200, "https://www.instagram.com/accounts/login/?next=/p/1", "Instagram", False)[0] == "login_wall"
    assert judge(200, "https://consent.youtube.com/m?continue=x", "Before you continue", False)[0] == "login_wall"
    assert judge(200, "https://x.com/a/status/1", "word " * 50, False)[0] == "captured"
    mastodon = "Sign in Create account " + "They must all be driven out before Friday. " * 30
    assert judge(200, "https://mastodon.social/@a/1", mastodon, False)[0] == "captured"  # a header is no wall
    assert judge(200, "https://x.com/a/status/1", "Log in Sign up See what is happening", False)[0] == "login_wall"


def test_dead_proxy_is_said_at_once(app, world, make_entry):
    owner, case, headers = world
    app.config["CAPTURE_PROXY"] = "http://user:secret@127.0.0.1:9"  # a closed port; its password is never shown
    entry = make_entry(case, owner)
    client = app.test_client()
    resp = client.post(f"/api/v1/entries/{entry.id}/captures", json={}, headers=headers)
    assert resp.status_code == 202 and resp.get_json()["proxy"] == "http://127.0.0.1:9"
    body = _wait(client, headers, resp.get_json()["id"], 20)
    assert body["outcome"] == "error" and "proxy http://127.0.0.1:9 does not answer" in body["message"]
    assert body["evidence"] == [] and "secret" not in str(body)
    bad = client.post(f"/api/v1/entries/{entry.id}/captures", json={"keep_diagnostic": "yes"}, headers=headers)
    assert bad.status_code == 422 and "keep_diagnostic" in bad.get_json()["error"]["fields"]
    assert client.post(f"/api/v1/entries/{entry.id}/captures", json={"x": 1}, headers=headers).status_code == 422
    assert db.session.scalar(select(db.func.count(Capture.id))) == 1


def test_capture_of_another_team_is_not_found(app, world, make_user, make_entry, token_for, site):
    owner, case, headers = world
    entry = make_entry(case, owner, url=site.url("/nope"))
    stranger = token_for(make_user("stranger@example.org"))
    client = app.test_client()
    assert client.post(f"/api/v1/entries/{entry.id}/captures", json={}, headers=stranger).status_code == 404
    job = client.post(f"/api/v1/entries/{entry.id}/captures", json={}, headers=headers).get_json()
    assert client.get(f"/api/v1/captures/{job['id']}", headers=stranger).status_code == 404
    assert client.get("/api/v1/captures/99999", headers=headers).status_code == 404
    assert _wait(client, headers, job["id"])["outcome"] == "not_found"


def test_capture_now_on_the_entry_page(app, world, make_entry, login, site):
    owner, case, headers = world
    entry = make_entry(case, owner, url=site.url("/nope"))
    client = login(app.test_client(), owner)
    resp = client.post(f"/entries/{entry.id}/capture", data={})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/entries/{entry.id}#capture")
    capture = db.session.scalar(select(Capture).where(Capture.entry_id == entry.id))
    assert capture is not None and capture.requested_by_id == owner.id
    assert _wait(app.test_client(), headers, capture.id)["outcome"] == "not_found"


def test_a_task_delivered_twice_does_nothing(app, world, make_entry, site):
    owner, case, headers = world
    entry = make_entry(case, owner, url=site.url("/post/1"))
    capture = Capture(entry_id=entry.id, requested_by_id=owner.id, url=entry.canonical_url, evidence_ids=[])
    db.session.add(capture)
    db.session.commit()
    assert claim_capture(capture.id) is True
    assert claim_capture(capture.id) is False  # a second worker (or a second delivery) does not get it
    db.session.execute(update(Capture).where(Capture.id == capture.id).values(status="done", outcome="captured"))
    db.session.commit()
    events = db.session.scalar(select(db.func.count(Event.id)))
    run_capture_job(app, capture.id)  # a finished job delivered again: nothing loaded, nothing recorded
    assert site.hits == [] and db.session.scalar(select(db.func.count(Event.id))) == events
