"""The platform registry (reportkit/platforms.py) is the one place a platform is described: these tests check it
against itself, the policy catalogue and the URL tests, so a platform added without its rules or its address
examples fails here, and every part of the app that reads the registry sees the new platform."""

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from reportkit.cases.forms import PLATFORM_CHOICES
from reportkit.extensions import db
from reportkit.models import PLATFORMS, Clause, Platform, Policy
from reportkit.models.cases import Account
from reportkit.models.entries import Entry
from reportkit.platforms import GLOBAL_IDS, LABELS, OTHER, REGISTRY, label, platform_of_host, rules_key
from reportkit.services import dates
from reportkit.services.entries import DuplicateEntry, EntryError, add_violation
from reportkit.services.intake import extract_urls
from reportkit.services.policies import clause_misfit, load_catalogue
from reportkit.services.urls import not_a_post, parse_post_url

from .test_urls import CASES

# A post address per platform key: the first example of it in tests/test_urls.py that names a post.
EXAMPLES = {}
for _url, _platform, _handle, _post_id, _canonical in CASES:
    if _post_id:
        EXAMPLES.setdefault(_platform, _url)

PARSED = [p for p in REGISTRY.values() if p.parse]


def test_keys_labels_and_order():
    columns = (Entry.__table__.c.platform.type.length, Account.__table__.c.platform.type.length)
    for key, platform in REGISTRY.items():
        assert platform.key == key and re.fullmatch(r"[a-z][a-z0-9_]*", key)
        assert len(key) <= min(columns), f"{key} does not fit the platform columns"
        assert platform.label.strip() and label(key) == platform.label
        assert date(1991, 1, 1) <= platform.founded < datetime.now(UTC).date()
    assert len(set(LABELS.values())) == len(LABELS)
    assert list(REGISTRY)[-1] == OTHER and REGISTRY[OTHER].parse is None  # "other" is offered last
    assert label("nosuch") == "nosuch"


def test_everything_that_lists_platforms_reads_the_registry():
    assert PLATFORMS is LABELS  # models.PLATFORMS: the labels, for forms, pages and dossiers
    assert [choice.value for choice in PLATFORM_CHOICES] == list(REGISTRY)
    assert dates.FOUNDED == {key: p.founded for key, p in REGISTRY.items()}
    assert GLOBAL_IDS == {key for key, p in REGISTRY.items() if p.global_ids}
    assert GLOBAL_IDS >= {"x", "youtube", "tiktok", "instagram", "threads", "facebook"}
    assert not GLOBAL_IDS & {"telegram", "mastodon", "bluesky", OTHER}  # ids per channel, server or account


def test_hosts_are_bare_lower_case_and_owned_by_one_platform():
    seen = {}
    for platform in REGISTRY.values():
        for host in platform.hosts:
            assert host == host.lower().strip() and "." in host and not re.match(r"(www|m|mobile)\.", host), host
            assert host not in seen, f"{host} is listed by {seen.get(host)} and {platform.key}"
            seen[host] = platform.key
            assert platform_of_host(host) is platform
        assert bool(platform.hosts) != platform.any_host or platform.key == OTHER, platform.key
        assert not (platform.parse and platform.key == OTHER)
    assert platform_of_host("mastodon.social") is None and platform_of_host("example.org") is None


@pytest.mark.parametrize("platform", PARSED, ids=lambda p: p.key)
def test_each_platform_has_address_examples_that_round_trip(platform):
    """Add a URL case to tests/test_urls.py for a new platform: without one this fails."""
    assert platform.key in EXAMPLES, f"no post address of {platform.key} in tests/test_urls.py CASES"
    for _, key, _, post_id, canonical in CASES:
        if key != platform.key:
            continue
        again = parse_post_url(canonical)  # the canonical address is read as the same post
        assert (again.platform, again.post_id, again.canonical) == (key, post_id, canonical)
        if post_id:
            assert not_a_post(again) == ""


@pytest.mark.parametrize("host", sorted({h for p in REGISTRY.values() for h in p.hosts}))
def test_pasted_text_finds_addresses_without_scheme_on_every_host(host):
    line = f"look: {host}/some/path, and more"
    assert [u for _, _, u in extract_urls(line)] == [f"{host}/some/path"]


def test_time_from_id_is_used_where_the_registry_has_it():
    for key in ("x", "tiktok", "bluesky"):
        post = parse_post_url(EXAMPLES[key])
        assert REGISTRY[key].time_from_id and post.posted_at is not None and post.posted_at.tzinfo is UTC, key
        assert post.posted_at == REGISTRY[key].time_from_id(post.post_id)
    for key in ("facebook", "instagram", "threads", "youtube", "telegram", "mastodon"):
        assert REGISTRY[key].time_from_id is None and parse_post_url(EXAMPLES[key]).posted_at is None


def test_every_platforms_rules_are_in_the_catalogue():
    catalogue = {p["key"]: p for p in load_catalogue()["platforms"]}
    for platform in REGISTRY.values():
        if platform.key == OTHER:
            assert platform.rules_key not in catalogue  # only legal grounds fit a web page
            continue
        assert platform.rules_key in catalogue, f"{platform.key}: no platform {platform.rules_key} in policies.yaml"
        if platform.key != "mastodon":  # Mastodon's rules are each server's, added by people (policies.py)
            assert any(pol.get("clauses") for pol in catalogue[platform.rules_key]["policies"]), platform.key
    assert rules_key("instagram") == rules_key("threads") == rules_key("facebook") == "meta"


def _own_clause(platform_key: str) -> Clause:
    return db.session.scalars(select(Clause).join(Policy).join(Platform)
                              .where(Platform.key == rules_key(platform_key)).order_by(Clause.id)).first()


def test_a_post_of_each_platform_takes_its_own_rules_and_no_other(app, make_user, make_case, make_entry):
    """Through the services: an entry per platform from its example address, its own platform's rule maps,
    another platform's rule is refused, and the same post by another address is a duplicate."""
    owner = make_user()
    case = make_case(owner)
    for platform in PARSED:
        entry = make_entry(case, owner, EXAMPLES[platform.key])
        assert (entry.platform, entry.post_id) == (platform.key, parse_post_url(EXAMPLES[platform.key]).post_id)
        if platform.key == "mastodon":
            continue  # a server's rules: tests/test_policies_catalogue.py maps them
        own = _own_clause(platform.key)
        assert clause_misfit(own, platform.key) is None
        add_violation(owner, entry, own.key, "Breaks its own platform's rule.")
        stranger = _own_clause("telegram" if platform.key != "telegram" else "x")
        assert platform.label in clause_misfit(stranger, platform.key)
        with pytest.raises(EntryError, match="own platform"):
            add_violation(owner, entry, stranger.key, "Another platform's rule.")
        db.session.rollback()
        with pytest.raises(DuplicateEntry):
            make_entry(case, owner, parse_post_url(EXAMPLES[platform.key]).canonical)
        db.session.rollback()
