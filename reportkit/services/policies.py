"""Load the policy catalogue shipped with the package, idempotently, and add custom entries."""

import re
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from urllib.parse import urlsplit

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import Forbidden

from ..extensions import db
from ..models import Clause, Membership, Platform, Policy, Violation
from ..models.policies import MAX_SERVER_HOST, CatalogueEvent
from ..platforms import label, rules_key
from .errors import ServiceError


class PolicyError(ServiceError):
    """Input the catalogue refuses; the message says why (a 422 on a page)."""

    status = 422


class PolicyInUse(PolicyError):
    """A change refused because violations already cite the rules (a 409)."""

    status = 409


def load_catalogue() -> dict:
    text = resources.files("reportkit").joinpath("data/policies.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def seed_policies(data: dict | None = None) -> dict[str, int]:
    """Insert or update every platform, policy and clause by key; running it again changes nothing."""
    data = data or load_catalogue()
    counts = {"platforms": 0, "policies": 0, "clauses": 0}
    for p in data["platforms"]:
        platform = _upsert(Platform, p["key"], name=p["name"], kind=p.get("kind", "platform"),
                           rules_url=(p.get("rules_index") or {}).get("url", ""))
        counts["platforms"] += 1
        for pol in p.get("policies", []):
            policy = _upsert(Policy, f"{p['key']}/{pol['key']}", platform=platform, title=pol["title"],
                             url=pol.get("url", ""), checked_on=str(pol.get("as_of") or data.get("as_of", {})
                                                                    .get("ota_vlopses_us_head", "")),
                             page_date=str(pol.get("page_date", "")), former_titles=pol.get("former_titles", []),
                             note=" ".join(str(pol.get("note", "")).split()))
            counts["policies"] += 1
            for cl in pol.get("clauses", []):
                _upsert(Clause, f"{p['key']}/{pol['key']}/{cl['key']}", policy=policy, heading=cl["heading"],
                        group=cl.get("group", ""), summary=cl.get("summary", ""))
                counts["clauses"] += 1
    db.session.commit()
    return counts


def _upsert(model, key: str, **values):
    row = db.session.scalar(select(model).where(model.key == key))
    if row is None:
        row = model(key=key)
        db.session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    return row


def add_custom_clause(actor, platform_key: str, platform_name: str, policy_key: str, policy_title: str,
                      policy_url: str, clause_key: str, heading: str, summary: str) -> Clause:
    """An admin adds a platform/policy/clause the catalogue lacks; parts that exist are reused. `actor` None: the
    command line. Logged in catalogue_event; one commit."""
    if actor is not None and not actor.is_admin:
        raise Forbidden("Only an admin may add clauses to the catalogue.")
    if platform_key == MASTODON:
        raise PolicyError("Mastodon rules belong to a server: add them as a server's rules, with its address.",
                          "platform_key")
    platform = db.session.scalar(select(Platform).where(Platform.key == platform_key))
    if platform is None:
        if not platform_name:
            raise PolicyError("Name the new platform.", "platform_name")
        platform = Platform(key=platform_key, name=platform_name, custom=True)
        db.session.add(platform)
    full_policy = f"{platform_key}/{policy_key}"
    policy = db.session.scalar(select(Policy).where(Policy.key == full_policy))
    if policy is None:
        if not policy_title:
            raise PolicyError("Give the new policy a title.", "policy_title")
        policy = Policy(key=full_policy, platform=platform, title=policy_title, url=policy_url, custom=True)
        db.session.add(policy)
    full_clause = f"{full_policy}/{clause_key}"
    if db.session.scalar(select(Clause).where(Clause.key == full_clause)) is not None:
        raise PolicyError(f"The clause {full_clause} already exists.", "clause_key")
    clause = Clause(key=full_clause, policy=policy, heading=heading, summary=summary, custom=True)
    db.session.add(clause)
    _log(actor, "clause.added", full_policy, {"clause": full_clause, "heading": heading, "summary": summary})
    db.session.commit()
    return clause


# Whose rules govern a post is the registry's `rules` (Meta's Community Standards cover three of its apps).
MASTODON = "mastodon"


def clause_misfit(clause: Clause, post_platform: str, post_host: str = "") -> str | None:
    """Why this clause cannot be mapped onto a post of this platform (an X rule on an Instagram post would make
    a trust-and-safety analyst dismiss the whole report), or None when it fits. Legal grounds fit any post.
    A Mastodon server's rules fit only posts of that server: `post_host` is the host of the post's address."""
    policy = clause.policy
    platform = policy.platform
    if platform.kind == "legal_basis":
        return None
    post_name = label(post_platform)
    server = policy.server_host or "(no server named)"
    if platform.key == MASTODON and post_platform == MASTODON:
        host = _comparable_host(post_host)
        if not host:
            return (f"“{clause.heading}” is a rule of the Mastodon server {server}; this post's server "
                    f"is not known. Enter the post's address first.")
        if _comparable_host(policy.server_host or "") == host:
            return None
        return (f"“{clause.heading}” is a rule of the Mastodon server {server}; this post is on "
                f"{post_host.strip().lower()}. Choose a rule of the post's own server (add its rules to the catalogue "
                f"if they are missing), or a legal ground.")
    if platform.key == rules_key(post_platform):
        return None
    owner = f"the Mastodon server {server}" if platform.key == MASTODON else platform.name
    return (f"“{clause.heading}” is a rule of {owner}; this post is on {post_name}. "
            f"Choose a clause of the post's own platform.")


def clauses_for(post_platform: str, post_host: str = "") -> list[Clause]:
    """The clauses a post may be mapped onto, for a clause picker: its platform's (for Mastodon: its server's)
    first, then the legal grounds; each group in catalogue order."""
    clauses = db.session.scalars(
        select(Clause).join(Policy).join(Platform)
        .order_by((Platform.kind == "legal_basis"), Platform.id, Policy.id, Clause.id)
        .options(selectinload(Clause.policy).selectinload(Policy.platform))).all()
    return [c for c in clauses if clause_misfit(c, post_platform, post_host) is None]


def _comparable_host(host: str | None) -> str:
    """Lower case, IDNA, no trailing dot or leading www.: how two spellings of one server compare equal."""
    text = (host or "").strip().rstrip(".").lower()
    try:
        text = text.encode("idna").decode("ascii") if text else ""
    except UnicodeError:
        return text
    return text[4:] if text.startswith("www.") else text


# ---------------------------------------------------------------- Mastodon server rules
MAX_RULES = 50
MAX_HEADING = 300
MAX_SUMMARY = 2000
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def normalise_host(raw: str) -> str:
    """A server's address as typed ("Mastodon.Social", "bücher.social") -> its stored form ("mastodon.social",
    "xn--bcher-kva.social"); anything else (a URL, a path, an IP address, a port) is refused, not repaired."""
    text = (raw or "").strip()
    if not text:
        raise PolicyError("Enter the server's address, e.g. mastodon.social.", "host")
    if re.search(r"[\s\x00-\x1f\x7f/:@?#\\]", text):
        raise PolicyError("Enter only the server's address, e.g. mastodon.social — no https://, path, port or @.",
                          "host")
    text = text.rstrip(".")
    try:
        host = text.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise PolicyError("That server address is not a valid host name.", "host") from exc
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise PolicyError("That server address is not a valid host name (a name such as mastodon.social).", "host")
    if len(host) > MAX_SERVER_HOST:
        raise PolicyError(f"That server address is longer than {MAX_SERVER_HOST} characters.", "host")
    return host


def check_rules_url(url: str, host: str) -> str:
    """The address of the server's rules page: https, on the server itself, no credentials; empty -> /about."""
    text = (url or "").strip()
    if not text:
        return f"https://{host}/about"
    if len(text) > 2048 or re.search(r"[\s\x00-\x1f\x7f]", text):
        raise PolicyError("The rules page address is too long or contains spaces.", "url")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise PolicyError("The rules page address is not a valid web address.", "url") from exc
    if parts.scheme.lower() != "https":
        raise PolicyError(f"The rules page address must start with https://{host}/ (e.g. https://{host}/about).",
                          "url")
    if parts.username is not None or parts.password is not None or port not in (None, 443):
        raise PolicyError("The rules page address may not carry a user name, password or port.", "url")
    if _comparable_host(parts.hostname) != _comparable_host(host):
        raise PolicyError(f"The rules page must be on the server itself: https://{host}/… (e.g. /about).", "url")
    return text


def check_checked_on(value) -> str:
    """The day the rules were read on the server: a real date, not in the future, not before Mastodon existed."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError as exc:
            raise PolicyError("The checked-on date must be a date such as 2026-11-25.", "checked_on") from exc
    if not isinstance(value, date):
        raise PolicyError("Enter the date you read the rules on the server.", "checked_on")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()  # the reader's time zone may be ahead
    if value > tomorrow or value < date(2016, 1, 1):
        raise PolicyError("The checked-on date must be the day you read the rules, not in the future.",
                          "checked_on")
    return value.isoformat()


def parse_rules(lines) -> list[tuple[str, str]]:
    """One rule a line, "Heading: summary" (the first colon separates; the summary may be left out). Blank lines
    are skipped; a heading or summary over its limit is refused, never cut."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    rules = []
    for number, line in enumerate(lines, 1):
        line = " ".join(str(line).split())
        if not line:
            continue
        heading, _, summary = line.partition(":")
        heading, summary = heading.strip(), summary.strip()
        if not heading:
            raise PolicyError(f"Rule on line {number} has no heading before its colon.", "rules")
        if len(heading) > MAX_HEADING or len(summary) > MAX_SUMMARY:
            raise PolicyError(f"Rule on line {number} is too long (heading up to {MAX_HEADING} characters, "
                              f"summary up to {MAX_SUMMARY}).", "rules")
        rules.append((heading, summary))
    if not rules:
        raise PolicyError("Add at least one rule: one a line, “Heading: summary”.", "rules")
    if len(rules) > MAX_RULES:
        raise PolicyError(f"At most {MAX_RULES} rules per server.", "rules")
    return rules


def may_add_server_rules(user) -> bool:
    """Admins, and anyone who owns a case (they map their case's posts), may add a server's rules."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_admin) or db.session.scalar(
        select(func.count(Membership.id)).where(Membership.user_id == user.id, Membership.role == "owner")) > 0


def server_rules_adder(policy: Policy) -> int | None:
    """The account that added this server's rules (None: the command line, or an account since deleted)."""
    return db.session.scalar(select(CatalogueEvent.actor_id).where(
        CatalogueEvent.policy_key == policy.key, CatalogueEvent.action == "server_rules.added")
        .order_by(CatalogueEvent.id.desc()).limit(1))


def may_change_server_rules(user, policy: Policy) -> bool:
    """Admins may change any server's rules; an owner only the ones they added (and still owns a case)."""
    if policy.server_host is None or not may_add_server_rules(user):
        return False
    return bool(user.is_admin) or server_rules_adder(policy) == user.id


def server_rules_uses(policy: Policy) -> int:
    return db.session.scalar(select(func.count(Violation.id)).join(Clause).where(Clause.policy_id == policy.id))


def server_policy(policy_id: int) -> Policy | None:
    policy = db.session.get(Policy, policy_id)
    return policy if policy is not None and policy.server_host is not None else None


def add_server_rules(actor, host: str, url: str, checked_on, rules) -> Policy:
    """Add a Mastodon server's rules as a custom policy "mastodon/<host>" with clauses "mastodon/<host>/<n>".
    `actor` None: the command line. Logged in catalogue_event; one commit."""
    if actor is not None and not may_add_server_rules(actor):
        raise Forbidden("Only an admin or the owner of a case may add a server's rules.")
    host = normalise_host(host)
    url, checked_on, rules = check_rules_url(url, host), check_checked_on(checked_on), parse_rules(rules)
    key = f"{MASTODON}/{host}"
    platform = _mastodon_platform()  # locked: two people adding one server take turns, the second sees the first
    if db.session.scalar(select(Policy.id).where(Policy.key == key)) is not None:
        db.session.rollback()
        raise PolicyError(f"The rules of {host} are already in the catalogue; edit them there.")
    policy = Policy(key=key, platform=platform, title=f"Server rules of {host}", url=url, checked_on=checked_on,
                    server_host=host, custom=True, former_titles=[], note="")
    db.session.add(policy)
    for number, (heading, summary) in enumerate(rules, 1):
        db.session.add(Clause(key=f"{key}/{number}", policy=policy, heading=heading, summary=summary, custom=True))
    _log(actor, "server_rules.added", key, {"after": _state(url, checked_on, rules)})
    try:
        db.session.commit()
    except IntegrityError as exc:  # the same server added by someone else at the same moment
        db.session.rollback()
        raise PolicyError(f"The rules of {host} were just added by someone else; reload the page.") from exc
    return policy


def edit_server_rules(actor, policy: Policy, url: str, checked_on, rules) -> Policy:
    """Replace a server's rules page address, date and rules, while no violation cites them."""
    url, checked_on, rules = check_rules_url(url, policy.server_host), check_checked_on(checked_on), \
        parse_rules(rules)
    policy = _lock_for_change(actor, policy)
    before = _state(policy.url, policy.checked_on, [(c.heading, c.summary) for c in policy.clauses])
    clauses = list(policy.clauses)
    for number, (heading, summary) in enumerate(rules, 1):
        if number <= len(clauses):
            clauses[number - 1].heading, clauses[number - 1].summary = heading, summary
        else:
            db.session.add(Clause(key=f"{policy.key}/{number}", policy=policy, heading=heading, summary=summary,
                                  custom=True))
    for clause in clauses[len(rules):]:
        db.session.delete(clause)
    policy.url, policy.checked_on = url, checked_on
    _log(actor, "server_rules.edited", policy.key, {"before": before, "after": _state(url, checked_on, rules)})
    _commit_change(policy.server_host)
    return policy


def delete_server_rules(actor, policy: Policy) -> str:
    """Remove a server's rules from the catalogue, while no violation cites them; returns the host."""
    policy = _lock_for_change(actor, policy)
    host = policy.server_host
    _log(actor, "server_rules.deleted", policy.key,
         {"before": _state(policy.url, policy.checked_on, [(c.heading, c.summary) for c in policy.clauses])})
    for clause in list(policy.clauses):
        db.session.delete(clause)
    db.session.delete(policy)
    _commit_change(host)
    return host


def _lock_for_change(actor, policy: Policy) -> Policy:
    """Check the right, then lock the policy and its clauses and re-read them and their uses under the lock, so a
    violation mapped a moment ago is seen (on SQLite the UPDATE holds the database's write lock until commit)."""
    if actor is not None and not may_change_server_rules(actor, policy):
        raise Forbidden("Only an admin, or the case owner who added them, may change a server's rules.")
    policy_id = policy.id
    db.session.execute(update(Policy).where(Policy.id == policy_id).values(server_host=Policy.server_host))
    # PostgreSQL: FOR UPDATE on the rules conflicts with the key-share lock a new violation's foreign key takes,
    # so a violation citing them now waits for this change, and one committed before it is counted below
    db.session.execute(select(Clause.id).where(Clause.policy_id == policy_id).with_for_update())
    db.session.expire_all()
    policy = db.session.get(Policy, policy_id)
    if policy is None or policy.server_host is None:
        db.session.rollback()
        raise PolicyError("Those server rules are no longer in the catalogue.")
    uses = server_rules_uses(policy)
    if uses:
        db.session.rollback()
        raise PolicyInUse(f"The rules of {policy.server_host} are cited by {uses} violation"
                          f"{'s' if uses != 1 else ''}; they cannot be changed or removed while a case relies "
                          f"on them (its dossiers quote this wording). Nothing was changed.")
    return policy


def _commit_change(host: str) -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:  # a violation cited a rule between our check and our write (PostgreSQL)
        db.session.rollback()
        raise PolicyInUse(f"The rules of {host} were just cited by a violation; nothing was "
                          f"changed.") from exc


def _mastodon_platform() -> Platform:
    """The Mastodon platform row, write-locked until the commit (an UPDATE: PostgreSQL's row lock, SQLite's write
    lock), then everything read again under the lock."""
    lock = update(Platform).where(Platform.key == MASTODON).values(key=Platform.key)
    if not db.session.execute(lock).rowcount:  # the shipped catalogue has it; one seeded before it gets it here
        db.session.add(Platform(key=MASTODON, name="Mastodon (each server's own rules)", custom=True))
        db.session.flush()
    db.session.expire_all()
    return db.session.scalar(select(Platform).where(Platform.key == MASTODON))


def _state(url: str, checked_on: str, rules) -> dict:
    return {"url": url, "checked_on": checked_on, "rules": [[h, s] for h, s in rules]}


def _log(actor, action: str, policy_key: str, detail: dict) -> None:
    db.session.add(CatalogueEvent(actor_id=actor.id if actor is not None else None,
                                  via="page" if actor is not None else "command line",
                                  action=action, policy_key=policy_key, detail=detail))


def catalogue_log(user, limit: int = 50) -> list[CatalogueEvent]:
    """Changes of the catalogue a user may read: all of them for an admin, their own for anyone else."""
    query = select(CatalogueEvent).order_by(CatalogueEvent.id.desc()).limit(limit)
    if not user.is_admin:
        query = query.where(CatalogueEvent.actor_id == user.id)
    return list(db.session.scalars(query))
