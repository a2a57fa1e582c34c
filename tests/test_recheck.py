"""Re-checks of filed posts against a local fake platform: each outcome, "unknown" never guessed, the hash of
what was answered, the custody log, a post back after removal, the proxy, the scheduler, the API and the CLI."""

import hashlib
import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from reportkit.extensions import db
from reportkit.models import Event, Observation
from reportkit.services.activity import describe_events
from reportkit.services.custody import verify_case
from reportkit.services.filings import record_filing
from reportkit.services.queue import queue_for
from reportkit.services.recheck import check_entry, filed_entries, recheck_due
from reportkit.services.storage import app_store

from .fake_platform import FakePlatform

POSTS = {"x": "https://x.com/leader_en/status/1453347171011694596",
         "telegram": "https://t.me/leader_fa/24680",
         "bluesky": "https://bsky.app/profile/leader.bsky.social/post/3kxyz1234567",
         "mastodon": "https://mastodon.social/@leader/113000000000000001"}


@pytest.fixture
def fake():
    with FakePlatform() as platform:
        yield platform


@pytest.fixture
def world(app, fake, make_user, make_case, make_entry):
    app.config.update(RECHECK_ENDPOINTS=fake.endpoints(), RECHECK_TIMEOUT=1)
    owner = make_user("owner@example.org")
    case = make_case(owner)
    entries = {key: make_entry(case, owner, url=url) for key, url in POSTS.items()}
    unfiled = make_entry(case, owner, url="https://x.com/leader_en/status/1453347171011699999")
    record_filing(owner, case.id, "x", "in_app", [e.id for e in entries.values()])
    return owner, case, entries, unfiled


@pytest.mark.parametrize(("mode", "outcome", "status"), [
    ("online", "online", 200), ("removed", "removed", 404), ("withheld", "withheld", 451),
    ("login", "unknown", 302), ("ratelimit", "unknown", 429), ("malformed", "unknown", 200),
    ("slow", "unknown", None),
])
def test_each_answer_of_an_oembed_endpoint(app, fake, world, mode, outcome, status):
    owner, case, entries, _ = world
    fake.modes["1453347171011694596"] = mode
    obs = check_entry(app, owner, entries["x"])
    assert (obs.outcome, obs.http_status) == (outcome, status), obs.detail
    if status is None:
        assert obs.body_sha256 == "" and "Network error" in obs.detail
    else:
        assert obs.body_sha256 == hashlib.sha256(fake.last_body).hexdigest()
    event = db.session.scalars(db.select(Event).where(Event.action == "post.checked")).one()
    assert event.data["outcome"] == outcome and event.entry_id == entries["x"].id
    assert verify_case(case.id, app_store()).ok


@pytest.mark.parametrize(("platform", "mode", "outcome"), [
    ("telegram", "online", "online"), ("telegram", "removed", "removed"),
    ("bluesky", "online", "online"), ("bluesky", "removed", "removed"),
    ("mastodon", "online", "online"), ("mastodon", "removed", "removed"),
])
def test_telegram_bluesky_and_mastodon_are_read_their_own_way(app, fake, world, platform, mode, outcome):
    owner, _, entries, _ = world
    entry = entries[platform]
    fake.modes[re.findall(r"\d{5,}", POSTS[platform])[-1]] = mode  # the fake platform's key for a post
    assert check_entry(app, owner, entry).outcome == outcome


def test_a_post_back_after_removal_is_flagged(app, fake, world):
    owner, _, entries, _ = world
    fake.modes["1453347171011694596"] = "removed"
    assert check_entry(app, owner, entries["x"]).outcome == "removed"
    fake.modes["1453347171011694596"] = "login"
    assert check_entry(app, owner, entries["x"]).back_online is False  # unknown is not "back"
    fake.modes["1453347171011694596"] = "online"
    back = check_entry(app, owner, entries["x"])
    assert back.back_online is True
    event = db.session.scalars(db.select(Event).where(Event.action == "post.checked").order_by(Event.id.desc())
                               ).first()
    assert "again, after it had been removed" in describe_events([event])[0].text


def test_checks_go_through_the_proxy_when_one_is_set(app, fake, world):
    owner, _, entries, _ = world
    app.config.update(RECHECK_ENDPOINTS=fake.endpoints("http://platform.invalid"), RECHECK_PROXY=fake.base)
    assert check_entry(app, owner, entries["x"]).outcome == "online"
    assert fake.seen[-1].startswith("GET http://platform.invalid/x/oembed?url=")  # asked as a proxy


def test_the_scheduler_checks_filed_posts_that_are_due(app, fake, world):
    owner, case, entries, unfiled = world
    assert {e.id for e in filed_entries()} == {e.id for e in entries.values()}
    huey = queue_for(app)
    due = [t for t in huey.read_periodic(datetime(2026, 11, 25, 3, 41)) if t.name == "recheck-due"]
    assert len(due) == 1  # hourly at :41
    assert not [t for t in huey.read_periodic(datetime(2026, 11, 25, 3, 40)) if t.name == "recheck-due"]
    huey.execute(due[0])
    db.session.expire_all()
    checked = db.session.scalars(db.select(Observation)).all()
    assert {o.entry_id for o in checked} == {e.id for e in entries.values()}  # not the unfiled one
    event = db.session.scalars(db.select(Event).where(Event.action == "post.checked")).first()
    assert event.data["scheduled"] is True and describe_events([event])[0].text.startswith("A scheduled re-check")
    assert recheck_due(app) == 0  # each post at most once a day
    old = datetime.now(UTC) - timedelta(hours=25)
    db.session.execute(db.update(Observation).where(Observation.entry_id == entries["x"].id)
                       .values(checked_at=old))
    db.session.commit()
    assert recheck_due(app) == 1


def test_the_api_queues_a_check_and_lists_observations(app, client, fake, world, token_for, make_user):
    owner, case, entries, _ = world
    fake.modes["1453347171011694596"] = "removed"
    headers = token_for(owner)
    resp = client.post(f"/api/v1/entries/{entries['x'].id}/recheck", headers=headers)
    assert resp.status_code == 202
    url = resp.json["observations"]
    for _ in range(100):
        rows = client.get(url, headers=headers).json["observations"]
        if rows:
            break
        time.sleep(0.1)
    assert rows[0]["outcome"] == "removed" and rows[0]["http_status"] == 404 and len(rows[0]["body_sha256"]) == 64
    assert "?" not in rows[0]["endpoint"]  # the address asked, without the post's address in its query


def test_the_cli_rechecks_a_case(app, fake, world):
    owner, case, entries, unfiled = world
    fake.modes["24680"] = "removed"
    result = app.test_cli_runner().invoke(args=["recheck", str(case.id)])
    assert result.exit_code == 0, result.output
    assert "#2 removed" in result.output and "#1 online" in result.output and f"#{unfiled.number}" not in result.output
