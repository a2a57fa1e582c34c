"""What reporting achieved, per platform: the figures advocacy groups publish ("the platform removed 3 of 41
reported posts"), each with the entries behind it; and the follow-ups that need someone now.

An entry counts once per platform it was filed to. Its answer is its latest decision that is not "no answer";
days to a decision run from its first filing to that platform to the first such decision.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import PLATFORMS, Entry, Filing
from ..models.filings import ACCOUNT, VISIBILITY, Decision
from ..models.observations import Observation
from .filings import complaint_window_closes

FIGURES = ("filed", "confirmed", "decided", "no_action", "no_answer", "still_online")


@dataclass
class PlatformOutcome:
    platform: str
    entries: dict[str, set[int]] = field(default_factory=lambda: {k: set() for k in FIGURES})
    actions: dict[str, set[int]] = field(default_factory=dict)  # "removed", "account suspended", ... -> entries
    days: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return PLATFORMS.get(self.platform, self.platform)

    @property
    def median_days(self) -> float | None:
        return round(median(self.days), 1) if self.days else None

    def count(self, figure: str) -> int:
        return len(self.entries.get(figure) or self.actions.get(figure) or ())


def action_key(d: Decision) -> str:
    if d.no_action:
        return "no_action"
    if d.visibility:
        return VISIBILITY.get(d.visibility, d.visibility).lower()
    if d.account:
        return ACCOUNT.get(d.account, d.account).lower()
    return "other restriction"


def _filings(case_ids) -> list[Filing]:
    return list(db.session.scalars(select(Filing).where(Filing.case_id.in_(list(case_ids)))
                                   .options(selectinload(Filing.entries), selectinload(Filing.decisions))
                                   .order_by(Filing.filed_at, Filing.id)))


def last_outcomes(entry_ids) -> dict[int, str]:
    """Each entry's latest known re-check outcome (unknown ones skipped: they say nothing)."""
    rows = db.session.execute(select(Observation.entry_id, Observation.outcome).where(
        Observation.entry_id.in_(list(entry_ids)), Observation.outcome != "unknown")
        .order_by(Observation.checked_at, Observation.id)).all()
    return {entry_id: outcome for entry_id, outcome in rows}


def outcomes(case_ids) -> list[PlatformOutcome]:
    filings = _filings(case_ids)
    by_platform: dict[str, PlatformOutcome] = {}
    first_filed: dict[tuple[str, int], datetime] = {}
    answers: dict[tuple[str, int], list[Decision]] = {}
    for filing in filings:
        result = by_platform.setdefault(filing.platform, PlatformOutcome(filing.platform))
        for entry in filing.entries:
            result.entries["filed"].add(entry.id)
            first_filed.setdefault((filing.platform, entry.id), filing.filed_at)
            if filing.confirmed_at:
                result.entries["confirmed"].add(entry.id)
        for decision in filing.decisions:
            if not decision.no_answer:
                answers.setdefault((filing.platform, decision.entry_id), []).append(decision)
    seen = last_outcomes({entry_id for _, entry_id in first_filed})
    for (platform, entry_id), filed_at in first_filed.items():
        result = by_platform[platform]
        decided = sorted(answers.get((platform, entry_id), []), key=lambda d: (d.decided_at, d.id))
        if not decided:
            result.entries["no_answer"].add(entry_id)
        else:
            latest = decided[-1]
            result.entries["no_action" if latest.no_action else "decided"].add(entry_id)
            if not latest.no_action:
                result.actions.setdefault(action_key(latest), set()).add(entry_id)
            result.days.append(max(0.0, (decided[0].decided_at - filed_at).total_seconds() / 86400))
        if seen.get(entry_id) == "online":
            result.entries["still_online"].add(entry_id)
    return sorted(by_platform.values(), key=lambda r: (-r.count("filed"), r.platform))


def by_month(case_ids) -> list[tuple[str, int, int]]:
    """(YYYY-MM, entries filed, entries decided) per month: the chart over time."""
    months: dict[str, list[int]] = {}
    for filing in _filings(case_ids):
        months.setdefault(filing.filed_at.strftime("%Y-%m"), [0, 0])[0] += len(filing.entries)
        for decision in filing.decisions:
            if not decision.no_answer and decision.decided_at:
                months.setdefault(decision.decided_at.strftime("%Y-%m"), [0, 0])[1] += 1
    return [(month, *counts) for month, counts in sorted(months.items())]


def outcomes_csv(rows: list[PlatformOutcome]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["platform", "filed", "confirmed", "decided", "no_violation_found", "no_answer",
                     "median_days_to_decision", "still_online", "actions"])
    for r in rows:
        writer.writerow([r.label, r.count("filed"), r.count("confirmed"), r.count("decided"), r.count("no_action"),
                         r.count("no_answer"), "" if r.median_days is None else r.median_days,
                         r.count("still_online"),
                         "; ".join(f"{k}: {len(v)}" for k, v in sorted(r.actions.items()))])
    return out.getvalue()


def entries_behind(case_ids, platform: str, figure: str) -> list[Entry]:
    result = next((r for r in outcomes(case_ids) if r.platform == platform), None)
    ids = (result.entries.get(figure) or result.actions.get(figure) or set()) if result else set()
    return list(db.session.scalars(select(Entry).where(Entry.id.in_(ids)).order_by(Entry.case_id, Entry.number)))


@dataclass(frozen=True)
class FollowUp:
    kind: str  # "no_answer" | "window_closing" | "still_online"
    filing: Filing
    entry: Entry | None
    text: str
    due: date | None = None


def follow_ups(case_ids, now: datetime | None = None, expected_days: dict | None = None,
               online_after_days: int = 7) -> list[FollowUp]:
    """What needs someone: filings with no answer past the expected time, complaint windows closing within 30
    days with no appeal, and posts still online `online_after_days` after a removal decision."""
    now = now or datetime.now(UTC)
    expected_days = expected_days or {}
    items: list[FollowUp] = []
    filings = _filings(case_ids)
    seen = last_outcomes({e.id for f in filings for e in f.entries})
    for filing in filings:
        days = expected_days.get(f"{filing.platform}:{filing.channel}", expected_days.get(filing.platform,
                                                                                          expected_days.get(
                                                                                              "default", 7)))
        answered = {d.entry_id for d in filing.decisions if not d.no_answer}
        waiting = [e for e in filing.entries if e.id not in answered]
        if waiting and now - filing.filed_at > timedelta(days=days):
            items.append(FollowUp("no_answer", filing, None,
                                  f"No answer from {PLATFORMS.get(filing.platform, filing.platform)} for "
                                  f"{len(waiting)} of {len(filing.entries)} entries, {(now - filing.filed_at).days} "
                                  f"days after the filing (expected within {days}).",
                                  (filing.filed_at + timedelta(days=days)).date()))
        appealed = {a.entry_id for a in filing.appeals}
        for decision in filing.decisions:
            closes = complaint_window_closes(decision)
            if closes and not (appealed & {None, decision.entry_id}) and \
                    now.date() <= closes <= (now + timedelta(days=30)).date():
                entry = next(e for e in filing.entries if e.id == decision.entry_id)
                items.append(FollowUp("window_closing", filing, entry,
                                      f"The complaint window for #{entry.number} closes on {closes}: appeal or let "
                                      "it go.", closes))
            if decision.visibility == "removed" and decision.decided_at and \
                    now - decision.decided_at > timedelta(days=online_after_days) and \
                    seen.get(decision.entry_id) == "online":
                entry = next(e for e in filing.entries if e.id == decision.entry_id)
                items.append(FollowUp("still_online", filing, entry,
                                      f"#{entry.number} was decided removed on {decision.decided_at.date()} but the "
                                      "last re-check found it online."))
    return sorted(items, key=lambda i: (i.due or date.max, i.filing.id))


def annual_report_csv(case_ids, year: int) -> str:
    """The figures DSA Art. 22 asks a trusted flagger to publish yearly: notices submitted in `year`, by provider
    and by type of alleged illegal content (the policy area of the rule cited, else "unspecified"), the action
    taken and the median days to a decision. One row per (provider, type); an entry filed twice counts twice
    (two notices)."""
    groups: dict[tuple[str, str], dict] = {}
    for filing in _filings(case_ids):
        if filing.filed_at.year != year:
            continue
        decided = {}
        for d in sorted(filing.decisions, key=lambda d: (d.decided_at or filing.filed_at, d.id)):
            if not d.no_answer:
                decided[d.entry_id] = d
        for entry in filing.entries:
            kinds = sorted({v.clause.policy.title for v in entry.violations}) or ["unspecified"]
            key = (PLATFORMS.get(filing.platform, filing.platform), kinds[0])
            row = groups.setdefault(key, {"notices": 0, "acted": 0, "no_action": 0, "no_answer": 0, "days": [],
                                          "actions": {}})
            row["notices"] += 1
            decision = decided.get(entry.id)
            if decision is None:
                row["no_answer"] += 1
            elif decision.no_action:
                row["no_action"] += 1
            else:
                row["acted"] += 1
                row["actions"][action_key(decision)] = row["actions"].get(action_key(decision), 0) + 1
            if decision is not None and decision.decided_at:
                row["days"].append((decision.decided_at - filing.filed_at).total_seconds() / 86400)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["year", "provider", "type_of_alleged_illegal_content", "notices", "action_taken",
                     "no_violation_found", "no_answer", "actions", "median_days_to_decision"])
    for (provider, kind), row in sorted(groups.items()):
        writer.writerow([year, provider, kind, row["notices"], row["acted"], row["no_action"], row["no_answer"],
                         "; ".join(f"{k}: {n}" for k, n in sorted(row["actions"].items())),
                         round(median(row["days"]), 1) if row["days"] else ""])
    return out.getvalue()
