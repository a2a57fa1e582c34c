"""Collect what a dossier prints into plain data, so that worker processes can render it without a database."""

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from ...bidi import markdown_dirs
from ...extensions import db
from ...models import PLATFORMS, STATUSES, Case, Entry
from ...models.entries import CAPTURE_METHODS, POSTED_AT_SOURCES, REQUESTED_ACTIONS, SEVERITIES
from ...models.evidence import EVIDENCE_KINDS
from ...templating import filesize, utc
from ..disclosure import People, public_url
from ..filings import follow_up_data
from ..search import entry_query
from .chart import timeline_svg
from .options import DOSSIER_LANGUAGE, NEVER_PRINTED, PAPERS, DossierOptions

RTL_LANGUAGES = {"ar", "fa", "he", "ur", "ps", "yi", "ckb", "dv", "sd", "ug"}
DEFAULT_CONFIDENTIALITY = "Confidential — prepared for the platform's trust-and-safety team. Do not publish."
DEFAULT_METHODOLOGY = (
    "Each post was found by a member of the team and recorded with its address, the time it was posted (from the "
    "post id where the platform encodes it, otherwise as shown on the platform), and how, when and by whom it was "
    "captured. Screenshots and other files are kept unaltered; their SHA-256 hashes were computed from the bytes "
    "as received, before any processing. Images in this document are print copies (rotated, scaled, metadata "
    "removed); each names the hash of its original. Translations are marked human or machine. Each post is "
    "mapped to the platform rule it breaks, with the reasoning of the person who mapped it.\n\n"
    "Limitations: a screenshot shows what the capturing person saw at the capture time; posts may since have "
    "been edited or removed. Policy summaries are paraphrases; the policy's address and the date its text was "
    "checked are given so that the current wording can be compared.")
GOOD_FAITH = ("I/we declare a bona fide belief that the information and allegations contained in this notice are "
              "accurate and complete (Article 16(2)(d) of Regulation (EU) 2022/2065).")
X_PUBLIC_INTEREST_URL = "https://help.x.com/en/rules-and-policies/public-interest"


# Why an entry the filters matched is not printed, in the words the front matter and the form use.
LEFT_OUT = {
    "unapproved": "not yet approved",
    "refused": "rejected or marked as a duplicate by a reviewer",
    "no_clause": "no policy clause mapped (a platform-rules report names the rule each post breaks)",
}


@dataclass
class Selection:
    entries: list[Entry]
    left_out: Counter = field(default_factory=Counter)  # LEFT_OUT key -> entries

    @property
    def unapproved(self) -> int:
        return sum(1 for e in self.entries if e.status != "approved")


def selection(case: Case, options: DossierOptions) -> Selection:
    """What a dossier prints, and how many entries the filters matched but it leaves out, and why. Rejected and
    duplicate entries never; entries not yet approved only when asked for; in a platform-rules report never an
    entry without a clause. Withdrawn entries are in no list at all."""
    entries = db.session.scalars(entry_query(case.id, options.entry_filter())).all()
    if options.entry_numbers:
        wanted = set(options.entry_numbers)
        entries = [e for e in entries if e.number in wanted]
    chosen, left_out = [], Counter()
    for e in entries:
        if e.status in NEVER_PRINTED:
            left_out["refused"] += 1
        elif e.status != "approved" and options.approved_only:
            left_out["unapproved"] += 1
        elif options.mode == "rules" and not e.violations:
            left_out["no_clause"] += 1
        else:
            chosen.append(e)
    return Selection(chosen, left_out)


def select_entries(case: Case, options: DossierOptions) -> list[Entry]:
    return selection(case, options).entries


def left_out_lines(left_out: Counter) -> list[str]:
    """["2 entries not yet approved", …]: counts and reasons, never which entries."""
    return [f"{left_out[k]} entr{'y' if left_out[k] == 1 else 'ies'} {reason}" for k, reason in LEFT_OUT.items()
            if left_out.get(k)]


# Scripts by the first word of a letter's Unicode name; a dossier in English expects Latin letters.
LANGUAGE_SCRIPTS = {"en": "LATIN"}
SCRIPT_NAMES = {"ARABIC": "Arabic script", "HEBREW": "Hebrew script", "CYRILLIC": "Cyrillic script",
                "LATIN": "Latin script", "GREEK": "Greek script", "ARMENIAN": "Armenian script",
                "GEORGIAN": "Georgian script", "DEVANAGARI": "Devanagari script", "CJK": "Chinese characters",
                "HANGUL": "Hangul", "HIRAGANA": "Japanese kana", "KATAKANA": "Japanese kana", "THAI": "Thai script"}


def main_script(text: str | None) -> str | None:
    """The script most of the text's letters are in (ARABIC, LATIN, …), or None for a text without letters."""
    counts: Counter = Counter()
    for char in text or "":
        if char.isalpha():
            name = unicodedata.name(char, "")
            counts[name.split(" ")[0] if name else "UNKNOWN"] += 1
    return counts.most_common(1)[0][0] if counts else None


def language_warnings(entries: list[Entry], language: str = DOSSIER_LANGUAGE) -> list[dict]:
    """User text printed for the platform that is mostly in another script than the dossier's language: each
    rationale without an English version, each reviewers' note chosen for the dossier, the context notes."""
    expected, found = LANGUAGE_SCRIPTS.get(language, "LATIN"), []

    def check(entry: Entry, what: str, text: str, violation_id: int | None = None, anchor: str = "") -> None:
        script = main_script(text)
        if script and script != expected:
            found.append({"number": entry.number, "entry_id": entry.id, "what": what, "anchor": anchor,
                          "script": SCRIPT_NAMES.get(script, script.title() + " script"),
                          "violation_id": violation_id})

    for e in entries:
        for v in e.violations:
            if not v.rationale_en.strip():
                check(e, f"the rationale for “{v.clause.heading}”", v.rationale, v.id, "violations")
        for n in e.annotations:
            if n.include_in_dossier:
                check(e, "a reviewers' note printed in the dossier", n.body, anchor=f"note-{n.id}")
        check(e, "the context notes", e.notes, anchor="")
    return found


def missing_for_dsa(case: Case, entries: list[Entry]) -> list[str]:
    """The Article 16(2) elements a notice still lacks; empty when it may be exported."""
    missing = []
    if not case.dsa_explanation.strip():
        missing.append("(a) an explanation of why the content is illegal (case › Dossier settings)")
    if not entries:
        missing.append("(b) at least one entry with its exact URL")
    no_ground = [e.number for e in entries if not e.legal_law.strip()]
    if no_ground:
        missing.append("(a) a legal ground (law and article) for entries " + number_ranges(no_ground))
    if not case.prepared_by_name.strip():
        missing.append("(c) the notifier's name (case › Dossier settings)")
    if not case.prepared_by_email.strip():
        missing.append("(c) the notifier's email address (case › Dossier settings)")
    if not case.dsa_good_faith:
        missing.append("(d) the statement of good faith, confirmed (case › Dossier settings)")
    return missing


def number_ranges(numbers) -> str:
    """[1, 2, 3, 7, 9, 10] -> '1–3, 7, 9–10'."""
    out, run = [], []
    for n in sorted(set(numbers)):
        if run and n == run[-1] + 1:
            run.append(n)
            continue
        if run:
            out.append(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [n]
    if run:
        out.append(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(out)


def snapshot(case: Case, entries: list[Entry], options: DossierOptions, document_id: str,
             generated_at: datetime, store, left_out: Counter | None = None) -> dict:
    """`left_out` (from `selection`): counted again when not given."""
    people = People.for_case(case)
    rows = [_entry(e, options, people) for e in entries]
    posted = [e.posted_at for e in entries if e.posted_at]
    left_out = selection(case, options).left_out if left_out is None else left_out
    return {
        "document_id": document_id, "generated_at": utc(generated_at, "%Y-%m-%d %H:%M UTC"),
        "generated_iso": generated_at.strftime("D:%Y%m%d%H%M%S+00'00'"), "store": store,
        "mode": options.mode, "paper": PAPERS.get(options.paper, "A4"),
        "include_translations": options.include_translations,
        "case": _case(case, entries), "entries": rows,
        "date_range": (utc(min(posted), "%Y-%m-%d"), utc(max(posted), "%Y-%m-%d")) if posted else None,
        "clause_count": len({v["key"] for r in rows for v in r["violations"]}),
        "findings": _findings(entries), "per_account": _per_account(entries),
        "by_severity": _by_severity(rows), "left_out": left_out_lines(left_out),
        "unapproved": sum(1 for r in rows if not r["approved"]),
        "severities": [{"level": k, "name": n, "meaning": m} for k, (n, m) in SEVERITIES.items()],
        "chart_svg": timeline_svg([(utc(e.posted_at, "%Y-%m"), v.clause.policy.title) for e in entries
                                   if e.posted_at for v in {v.clause.policy_id: v for v in e.violations}.values()]),
        "undated": sum(1 for e in entries if not e.posted_at),
        "manifest": [f for r in rows for f in r["files"]],
        "good_faith": GOOD_FAITH, "public_interest_url": X_PUBLIC_INTEREST_URL,
        "follow_up": follow_up_data(options.follow_up_filing, entries) if options.follow_up_filing else None,
    }


def _case(case: Case, entries: list[Entry]) -> dict:
    return {
        "title": case.title, "subject": case.subject, "summary_html": str(markdown_dirs(case.summary)),
        "accounts": [{"label": a.label, "display_name": a.display_name, "profile_url": public_url(a.profile_url),
                      "account_id": a.platform_account_id} for a in case.accounts],
        "prepared_by_name": case.prepared_by_name, "prepared_by_org": case.prepared_by_org,
        "prepared_by_email": case.prepared_by_email,
        "confidentiality": case.confidentiality or DEFAULT_CONFIDENTIALITY,
        "methodology_html": str(markdown_dirs(case.methodology or DEFAULT_METHODOLOGY)),
        "public_interest_html": str(markdown_dirs(case.public_interest)) if case.public_interest.strip() else "",
        "dsa_explanation_html": str(markdown_dirs(case.dsa_explanation)),
    }


def _entry(e: Entry, options: DossierOptions, people: People) -> dict:
    """People by their export names, addresses without share-tracking parameters (services/disclosure.py)."""
    language = (e.language or "").split("-")[0].lower()
    files = []
    for ev in e.evidence:
        if ev.is_file and ev.active:
            files.append({"entry": e.number, "kind": EVIDENCE_KINDS.get(ev.kind, ev.kind), "name": ev.original_name,
                          "size": filesize(ev.size), "bytes": ev.size, "sha256": ev.sha256, "mime": ev.mime,
                          "uploaded_at": utc(ev.uploaded_at), "uploaded_by": people.name(ev.uploaded_by_id)})
    return {
        "number": e.number, "platform": PLATFORMS.get(e.platform, e.platform),
        "account": e.account.label if e.account else (e.handle or "—"),
        "display_name": e.account.display_name if e.account else "",
        "account_id": e.account.platform_account_id if e.account else "",
        "canonical_url": e.canonical_url, "submitted_url": public_url(e.submitted_url), "post_id": e.post_id,
        "posted_at": utc(e.posted_at, "%Y-%m-%d %H:%M:%S UTC"),
        "posted_at_source": POSTED_AT_SOURCES.get(e.posted_at_source, ""),
        "captured_at": utc(e.captured_at, "%Y-%m-%d %H:%M UTC"), "captured_by": e.captured_by,
        "captured_from_upload": e.captured_at_source == "upload",
        "capture_method": CAPTURE_METHODS.get(e.capture_method, ""), "logged_in_as": e.logged_in_as,
        "network_route": e.network_route,
        "text": e.text, "language": e.language, "dir": "rtl" if language in RTL_LANGUAGES else "auto",
        "translation": e.translation if options.include_translations else "",
        "translator": e.translator, "translation_method": e.translation_method,
        "context": e.notes, "tags": e.tag_names, "graphic": e.graphic,
        "legal": {"country": e.legal_country, "law": e.legal_law, "article": e.legal_article}
        if e.legal_law else None,
        "violations": [{
            "key": v.clause.key, "heading": v.clause.heading, "group": v.clause.group,
            "summary": v.clause.summary, "platform": v.clause.policy.platform.name,
            "policy": v.clause.policy.title, "url": v.clause.policy.url, "checked_on": v.clause.policy.checked_on,
            "path": v.clause.path, "rationale": v.rationale, "rationale_en": v.rationale_en} for v in e.violations],
        "images": [{"src": f"evidence:{ev.dossier_copy.sha256}", "parent": ev.sha256, "name": ev.original_name,
                    "marked": ev.marked_copy is not None, "width": ev.dossier_copy.width,
                    "height": ev.dossier_copy.height} for ev in e.evidence
                   if ev.dossier_copy is not None and ev.active],
        "status": e.status, "approved": e.status == "approved", "status_label": STATUSES.get(e.status, e.status),
        "request": e.request_label, "requested_action": e.requested_action, "countries": e.action_countries,
        "severity": e.severity, "severity_label": e.severity_label,
        "severity_meaning": SEVERITIES[e.severity][1] if e.severity in SEVERITIES else "",
        "approvals": [{"by": people.name(a.user_id), "at": utc(a.created_at)}
                      for a in e.current_approvals] if e.status == "approved" else [],
        "notes": [{"by": people.name(n.user_id), "kind": n.kind, "html": str(markdown_dirs(n.body))}
                  for n in e.annotations if n.include_in_dossier],
        "files": files,
    }


def _findings(entries: list[Entry]) -> list[dict]:
    by_clause: dict[str, dict] = {}
    for e in entries:
        for v in e.violations:
            row = by_clause.setdefault(v.clause.key, {"path": v.clause.path, "key": v.clause.key, "numbers": []})
            row["numbers"].append(e.number)
    rows = sorted(by_clause.values(), key=lambda r: (-len(r["numbers"]), r["path"]))
    return [{**r, "count": len(r["numbers"]), "numbers": number_ranges(r["numbers"])} for r in rows]


def _by_severity(rows: list[dict]) -> list[dict]:
    """Every printed entry, the most severe first (not rated last), then by number."""
    return [{"number": r["number"], "account": r["account"], "severity": r["severity"],
             "severity_label": r["severity_label"] or "not rated", "request": r["request"] or "not stated",
             "clauses": ", ".join(v["heading"] for v in r["violations"]), "approved": r["approved"],
             "status_label": r["status_label"]}
            for r in sorted(rows, key=lambda r: (-r["severity"], r["number"]))]


def _per_account(entries: list[Entry]) -> list[dict]:
    counts = Counter(e.account.label if e.account else f"{PLATFORMS.get(e.platform, e.platform)} (no account)"
                     for e in entries)
    spans: dict[str, list] = {}
    for e in entries:
        label = e.account.label if e.account else f"{PLATFORMS.get(e.platform, e.platform)} (no account)"
        if e.posted_at:
            spans.setdefault(label, []).append(e.posted_at)
    requests: dict[str, dict[str, list[int]]] = {}  # label -> request -> entry numbers
    for e in entries:
        label = e.account.label if e.account else f"{PLATFORMS.get(e.platform, e.platform)} (no account)"
        requests.setdefault(label, {}).setdefault(e.request_label or "no action stated", []).append(e.number)
    order = [*REQUESTED_ACTIONS.values(), "no action stated"]  # the strongest request first

    def rank(request: str) -> int:
        return next(i for i, s in enumerate(order) if request.startswith(s))

    return [{"label": label, "count": n, "first": utc(min(spans[label]), "%Y-%m-%d") if label in spans else "—",
             "last": utc(max(spans[label]), "%Y-%m-%d") if label in spans else "—",
             "requests": [{"request": r, "numbers": number_ranges(nums), "count": len(nums)}
                          for r, nums in sorted(requests[label].items(), key=lambda kv: rank(kv[0]))]}
            for label, n in counts.most_common()]
