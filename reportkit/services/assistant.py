"""The filing assistant: platforms' report forms take one post at a time, in fixed fields with length limits.
For a channel, it gives per entry the text to paste, field by field, cut to the form's limit without losing the
point (whole sentences from the start, where the point is made, and it says so when it cut)."""

import re
from dataclasses import dataclass

from ..models import Case, Entry
from ..models.filings import CHANNELS

# Characters a channel's explanation box takes. The platforms' own forms change without notice and differ per
# country: these are cautious defaults, overridden by the FILING_LIMITS setting ({"x:in_app": 500, ...}).
LIMITS = {"in_app": 500, "dsa_notice": 4000, "trusted_flagger": 4000, "email": 20_000, "authority": 4000,
          "other": 4000}
GOOD_FAITH = ("I confirm my bona fide belief that the information and allegations contained in this notice are "
              "accurate and complete.")  # the DSA Art. 16(2)(d) statement


@dataclass(frozen=True)
class Field:
    label: str
    text: str
    note: str = ""


def cut(text: str, limit: int) -> tuple[str, bool]:
    """At most `limit` characters: whole sentences from the start, else whole words; True when it cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text, False
    sentences = re.split(r"(?<=[.!?؟۔])\s+", text)
    kept = ""
    for sentence in sentences:
        if len(kept) + len(sentence) + (1 if kept else 0) > limit - 1:
            break
        kept = f"{kept} {sentence}".strip()
    if not kept:
        kept = text[: limit - 1].rsplit(" ", 1)[0]
    return kept.rstrip() + "…", True


def fields_for(case: Case, entry: Entry, channel: str, limit: int) -> list[Field]:
    """What to paste for this entry on this channel, in the order forms ask."""
    rules = [v for v in entry.violations]
    rule_text = "; ".join(f"{v.clause.policy.title}: {v.clause.heading}" for v in rules) or "—"
    reasons = " ".join((v.rationale_en or v.rationale) for v in rules)
    if entry.translation:
        reasons = f"{reasons} The post says (translated): “{' '.join(entry.translation.split())}”"
    explanation, was_cut = cut(reasons or entry.notes or "", limit)
    out = [Field("Post address", entry.canonical_url), Field("Rule broken", rule_text),
           Field("Explanation", explanation,
                 f"Cut to the form's {limit} characters at a sentence; the full text is in the dossier."
                 if was_cut else f"{len(explanation)} of {limit} characters.")]
    if channel in ("dsa_notice", "trusted_flagger", "authority"):
        legal = ", ".join(x for x in (entry.legal_law, entry.legal_article, entry.legal_country) if x)
        out.append(Field("Legal ground (why it is illegal)", legal or "—",
                         "" if legal else "No legal ground on this entry: add one, or file under the terms only."))
        if channel == "dsa_notice":
            who = ", ".join(x for x in (case.prepared_by_name, case.prepared_by_email) if x)
            out.append(Field("Notifier", who or "—", "" if who else "Set the notifier on the case's settings."))
            out.append(Field("Statement of good faith", GOOD_FAITH,
                             "" if case.dsa_good_faith else "The case does not confirm good faith yet (settings)."))
    return out


def limit_for(config, platform: str, channel: str) -> int:
    configured = config.get("FILING_LIMITS") or {}
    return int(configured.get(f"{platform}:{channel}", configured.get(channel, LIMITS.get(channel, 4000))))


def channel_label(channel: str) -> str:
    return CHANNELS.get(channel, channel)
