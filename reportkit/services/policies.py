"""Load the policy catalogue shipped with the package, idempotently, and add custom entries."""

from importlib import resources

import yaml
from sqlalchemy import select

from ..extensions import db
from ..models import Clause, Platform, Policy
from ..models.cases import PLATFORMS as PLATFORM_NAMES


class PolicyError(ValueError):
    pass


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


def add_custom_clause(platform_key: str, platform_name: str, policy_key: str, policy_title: str,
                      policy_url: str, clause_key: str, heading: str, summary: str) -> Clause:
    """An admin adds a platform/policy/clause the catalogue lacks; parts that exist are reused."""
    platform = db.session.scalar(select(Platform).where(Platform.key == platform_key))
    if platform is None:
        if not platform_name:
            raise PolicyError("Name the new platform.")
        platform = Platform(key=platform_key, name=platform_name, custom=True)
        db.session.add(platform)
    full_policy = f"{platform_key}/{policy_key}"
    policy = db.session.scalar(select(Policy).where(Policy.key == full_policy))
    if policy is None:
        if not policy_title:
            raise PolicyError("Give the new policy a title.")
        policy = Policy(key=full_policy, platform=platform, title=policy_title, url=policy_url, custom=True)
        db.session.add(policy)
    full_clause = f"{full_policy}/{clause_key}"
    if db.session.scalar(select(Clause).where(Clause.key == full_clause)) is not None:
        raise PolicyError(f"The clause {full_clause} already exists.")
    clause = Clause(key=full_clause, policy=policy, heading=heading, summary=summary, custom=True)
    db.session.add(clause)
    db.session.commit()
    return clause


# Whose rules govern a post: Meta's Community Standards cover three of its apps.
RULES_FOR = {"facebook": "meta", "instagram": "meta", "threads": "meta"}


def clause_misfit(clause: Clause, post_platform: str, post_host: str = "") -> str | None:
    """Why this clause cannot be mapped onto a post of this platform (an X rule on an Instagram post would make
    a trust-and-safety analyst dismiss the whole report), or None when it fits. Legal grounds fit any post."""
    platform = clause.policy.platform
    if platform.kind == "legal_basis":
        return None
    if platform.key == RULES_FOR.get(post_platform, post_platform):
        return None
    return (f"“{clause.heading}” is a rule of {platform.name}; this post is on "
            f"{PLATFORM_NAMES.get(post_platform, post_platform)}. Choose a clause of the post's own platform.")
