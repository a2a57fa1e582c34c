"""A fictional demo case that shows the whole product in the first minute.

Everything here is invented: the official, the accounts, the posts. Screenshots are drawn with Pillow
(right-to-left text shaped by Raqm), so no binary file is committed. Loading twice changes nothing;
`reset_demo` removes only what the demo made.
"""

import functools
import io
import random
import re
import secrets
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from ..extensions import db
from ..models import Case, User
from ..platforms import TWITTER_EPOCH_MS
from .cases import add_member, create_case, set_export_name, update_case
from .custody import record
from .entries import add_violation, create_entry
from .evidence import Limits, add_evidence_file
from .reviews import annotate, transition
from .storage import EvidenceStore, as_store

SUBJECT = "Kaveh Nadershahi (fictional minister)"
TITLE = "[Demo] Threats against journalists by Minister Nadershahi"
USERS = {"editor": ("demo-editor@example.org", "Demo Editor"), "reviewer": ("demo-reviewer@example.org",
                                                                             "Demo Reviewer")}
FONTS = Path("/usr/share/fonts/truetype")

# (platform, language, text, translation, clause, rationale)
POSTS = [
    ("x", "en", "Journalists who spread foreign lies will be hunted down. We know where they live.", "",
     "x/violent_content/violent_threats", "A threat of physical harm aimed at identifiable journalists."),
    ("telegram", "fa", "خبرنگاران خائن را یکی‌یکی پیدا می‌کنیم و سزایشان را می‌دهیم.",
     "We will find the traitor journalists one by one and punish them.",
     "telegram/terms_of_service/promote_violence_public",
     "Promises punishment of named professionals; a threat of harm."),
    ("x", "fa", "این حشرات رسانه‌ای باید از شهرهای ما پاک شوند.",
     "These media insects must be cleansed from our cities.",
     "x/hateful_conduct/dehumanization", "Calls a group 'insects' to be 'cleansed': dehumanising language."),
    ("youtube", "ar", "سنسحق هؤلاء الخونة ولن يرحمهم أحد.", "We will crush these traitors and no one will spare them.",
     "youtube/violent_graphic_content/incitement", "Urges violence against the people it names."),
    ("telegram", "ar", "إلى أنصارنا: اذهبوا إلى مكاتبهم وعلّموهم درساً لن ينسوه.",
     "To our supporters: go to their offices and teach them a lesson they will not forget.",
     "telegram/terms_of_service/promote_violence_public",
     "A direct call on followers to go to a place and harm people."),
    ("x", "en", "Whoever silences the foreign agents will be rewarded. #CleanTheNation", "",
     "x/violent_content/incitement_of_violence", "Offers a reward for silencing people: incitement."),
    ("telegram", "fa", "آدرس دفتر این روزنامه‌نگار را در کانال می‌گذاریم. خودتان می‌دانید چه کنید.",
     "We are posting this journalist's office address in the channel. You know what to do.",
     "telegram/terms_of_service/promote_violence_public", "Publishes a private address with a call to act on it."),
    ("x", "fa", "مرگ بر خبرنگاران مزدور. روزشان نزدیک است.", "Death to the mercenary journalists. Their day is near.",
     "x/violent_content/wish_of_harm", "Wishes death on a group of professionals."),
]
MORE_TOPICS = [
    ("Another warning to the press corps: stop or be stopped.", "x/violent_content/violent_threats"),
    ("They are parasites feeding on our nation.", "x/hateful_conduct/dehumanization"),
    ("Supporters should gather outside the newspaper at dawn.", "x/violent_content/incitement_of_violence"),
]
# The campaign's later posts: each one different, as real posts are (screenshots of different posts differ).
MORE_LINES = [
    "Another warning to the press corps: stop or be stopped.",
    "They are parasites feeding on our nation, and everyone knows it.",
    "Supporters should gather outside the newspaper at dawn.",
    "Every editor who prints their lies is now on our list.",
    "We have photographs of the reporters who came to the rally. Share them widely.",
    "The so-called independent media will answer for this soon.",
    "Nobody will protect the foreign agents when the day comes.",
    "Day after day they insult the nation; their time is running out.",
    "Follow the channel for the addresses of the worst offenders.",
    "A free press? A paid press, and we will stop the payments our own way.",
    "To the journalists who fled abroad: our reach is long.",
    "The traitors at the evening paper have been warned for the last time.",
    "Our volunteers know which cars the reporters drive.",
    "Cleanse the newsrooms before the elections. You know what to do.",
    "Names, faces, families: we are collecting everything.",
    "Whoever helps the foreign press is an enemy too.",
    "They call it reporting; we call it treason, and treason has a price.",
]
STATES = ["approved"] * 9 + ["ready"] * 6 + ["changes_requested"] * 3 + ["draft"] * 5 + ["rejected", "duplicate"]


def demo_case() -> Case | None:
    return db.session.scalar(select(Case).where(Case.is_demo.is_(True)))


def load_demo(store, limits: Limits, owner: User | None = None, posts: int = 25) -> dict:
    """Create the demo once. Returns {"created": bool, "case": Case, "passwords": {email: password}}."""
    existing = demo_case()
    if existing is not None:
        return {"created": False, "case": existing, "passwords": {}}
    users, passwords = {}, {}
    for role, (email, name) in USERS.items():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=name)
            passwords[email] = secrets.token_urlsafe(12)
            user.set_password(passwords[email])
            db.session.add(user)
        users[role] = user
    db.session.commit()
    case = create_case(users["editor"], TITLE, SUBJECT, _summary(), [
        {"platform": "x", "handle": "k_nadershahi", "display_name": "Kaveh Nadershahi",
         "platform_account_id": "1600000000000000001"},
        {"platform": "telegram", "handle": "nadershahi_fa", "display_name": "کاوه نادرشاهی"},
        {"platform": "youtube", "handle": "NadershahiTV", "display_name": "Nadershahi TV"}],
        allow_new_accounts=False)
    case.is_demo = True
    update_case(users["editor"], case, prepared_by_name="Demo Editor",
                prepared_by_org="Press Freedom Watch (fictional)", prepared_by_email="demo-editor@example.org",
                public_interest="The minister's posts are direct threats of violence against identifiable "
                                "journalists. X states that it enforces such posts regardless of the public interest.")
    add_member(None, case, USERS["reviewer"][0], "reviewer")  # the command line adds the demo's people
    for m in list(case.memberships):  # fictional people: they chose their (fictional) names for exports
        set_export_name(m.user, case, m, m.user.name)
    if owner is not None and owner.id != users["editor"].id:
        add_member(None, case, owner.email, "owner")
    _entries(case, users, as_store(store), limits, posts)  # storage.app_store(): local or S3
    _filings(case, users)
    return {"created": True, "case": case, "passwords": passwords}


def _filings(case: Case, users: dict) -> None:
    """What the first minute should show after the PDF: approved posts reported, the platforms' answers (a
    removal, a refusal, silence, a geo-block), and re-checks. Fictional answers; no platform is asked."""
    from ..models import Entry
    from .filings import record_decision, record_filing, update_filing
    from .recheck import Seen, record_observation

    approved = list(db.session.scalars(select(Entry).where(Entry.case_id == case.id, Entry.status == "approved")
                                       .order_by(Entry.number)))
    by_platform: dict[str, list] = {}
    for entry in approved:
        by_platform.setdefault(entry.platform, []).append(entry)
    editor, now = users["editor"], datetime.now(UTC)
    x = by_platform.get("x", [])[:4]
    if x:
        filing = record_filing(editor, case.id, "x", "dsa_notice", [e.id for e in x], filed_at=now - timedelta(days=40),
                               reference="DSA-NOTICE-0042 (demo)", requested_action="remove")
        update_filing(editor, filing, {"confirmed_at": now - timedelta(days=40, hours=-2)})
        record_decision(editor, filing, {"entry_ids": [x[0].id], "visibility": "removed", "ground": "terms",
                                         "decided_at": now - timedelta(days=33), "automated": False,
                                         "explanation": "Removed under the violent speech policy (demo)."})
        if len(x) > 1:
            record_decision(editor, filing, {"entry_ids": [x[1].id], "no_action": True,
                                             "decided_at": now - timedelta(days=30)})
        if len(x) > 2:
            record_decision(editor, filing, {"entry_ids": [x[2].id], "visibility": "disabled",
                                             "territorial_scope": ["DE", "FR"], "ground": "illegal",
                                             "decided_at": now - timedelta(days=28)})
        record_observation(None, x[0], Seen("removed", "Demo: the embed endpoint answered 404."), 404, "",
                           "https://publish.twitter.com/oembed", when=now - timedelta(days=20))
        if len(x) > 1:
            record_observation(None, x[1], Seen("online", "Demo: the embed endpoint returns the post."), 200, "",
                               "https://publish.twitter.com/oembed", when=now - timedelta(days=1))
    telegram = by_platform.get("telegram", [])[:2]
    if telegram:
        record_filing(editor, case.id, "telegram", "email", [e.id for e in telegram],
                      filed_at=now - timedelta(days=15), reference="abuse@telegram.org thread (demo)")


def reset_demo() -> int:
    """Remove the demo cases and the demo users; other cases and users stay. Returns cases removed."""
    cases = db.session.scalars(select(Case).where(Case.is_demo.is_(True))).all()
    for case in cases:  # the history stays, and says the case was removed: `verify` expects that
        record(None, case.id, "case.deleted", f"case:{case.id}", {"title": case.title, "reason": "demo reset"})
        db.session.delete(case)
    for email, _ in USERS.values():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.delete(user)
    db.session.commit()
    return len(cases)


def _summary() -> str:
    return ("**Fictional demo.** Minister Kaveh Nadershahi does not exist. The case gathers his posts that threaten "
            "or incite violence against journalists, in English, Persian and Arabic, on X, Telegram and YouTube.")


def _entries(case: Case, users: dict, store: EvidenceStore, limits: Limits, count: int) -> None:
    rng = random.Random(2024)
    accounts = {a.platform: a for a in case.accounts}
    start = datetime(2024, 1, 8, 9, 30, tzinfo=UTC)
    for n in range(count):
        platform, lang, text, translation, clause, rationale = _post(n)
        when = start + timedelta(days=n * 19 + rng.randint(0, 6), hours=rng.randint(0, 12))
        url, typed = _url(platform, n, when)
        entry = create_entry(users["editor"], case, url, {
            "text": text, "language": lang, "translation": translation,
            "translation_method": "human" if translation else "", "translator": "Demo Editor" if translation else "",
            "posted_at": typed, "captured_at": when + timedelta(hours=3), "captured_by": "Demo Editor",
            "capture_method": "manual_screenshot", "logged_in_as": "research account 1",
            "network_route": "VPN (exit NL)", "account_id": accounts[platform].id,
            "graphic": n % 11 == 5, "tags": ["press", f"wave-{1 + n // 9}"]})
        add_violation(users["editor"], entry, clause, rationale)
        shot = _screenshot(accounts[platform], text, lang, when)
        add_evidence_file(users["editor"], entry, io.BytesIO(shot), f"capture-{n + 1}.png", store, limits)
        _advance(entry, STATES[n % len(STATES)], users, n)


def _post(n: int):
    if n < len(POSTS):
        return POSTS[n]
    text, clause = MORE_LINES[(n - len(POSTS)) % len(MORE_LINES)], MORE_TOPICS[n % len(MORE_TOPICS)][1]
    platform = ("x", "telegram", "youtube")[n % 3]
    clause = {"telegram": "telegram/terms_of_service/promote_violence_public",
              "youtube": "youtube/harassment_cyberbullying/threats"}.get(platform, clause)
    return platform, "en", text, "", clause, "Repeats the campaign against the press."


def _url(platform: str, n: int, when: datetime) -> tuple[str, datetime | None]:
    if platform == "x":
        snowflake = (int(when.timestamp() * 1000) - TWITTER_EPOCH_MS) << 22 | (n + 1)
        return f"https://x.com/k_nadershahi/status/{snowflake}", None  # the time comes from the id
    if platform == "telegram":
        return f"https://t.me/nadershahi_fa/{1200 + n * 7}", when
    video = "".join(random.Random(n).choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
                    for _ in range(11))
    return f"https://www.youtube.com/watch?v={video}", when


def _advance(entry, state: str, users: dict, n: int) -> None:
    editor, reviewer = users["editor"], users["reviewer"]
    if state == "draft":
        return
    if state == "rejected":
        transition(editor, entry, "ready")
        transition(reviewer, entry, "rejected", "The capture does not show the post's date; capture it again.")
        return
    if state == "duplicate":
        transition(reviewer, entry, "duplicate", "Same statement as an earlier entry, reposted.")
        return
    transition(editor, entry, "ready")
    if state == "changes_requested":
        transition(reviewer, entry, "changes_requested", "Please add who translated this and check the last word.")
    elif state == "approved":
        if n % 3 == 0:
            annotate(reviewer, entry, "The target is named in the reply thread; see the screenshot.",
                     include_in_dossier=True)
        transition(reviewer, entry, "approved", "Checked against the capture.")
    elif n % 2:
        annotate(editor, entry, "Submitted with the morning batch.")


# The family that has the glyphs of each script (Debian: fonts-noto-core, fonts-dejavu-core; see
# scripts/system-deps.sh). A string is drawn in the font of the first script it uses that is not Latin.
SCRIPTS = (("arabic", re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]"),
            "Noto Sans Arabic"),
           ("hebrew", re.compile("[\u0590-\u05ff\ufb1d-\ufb4f]"), "Noto Sans Hebrew"),
           ("latin", re.compile(""), "Noto Sans"))
FALLBACK = "DejaVu Sans"


class MissingFont(RuntimeError):
    """No installed font draws this script: install fonts-noto-core (scripts/system-deps.sh)."""


def font_file(family: str, bold: bool = False) -> Path | None:
    """The file of an installed font family: Debian's path first, then fontconfig's answer, if it is that family."""
    stem = family.replace(" ", "")
    for name in [f"{stem}-Bold.ttf"] if bold else [f"{stem}-Regular.ttf", f"{stem}.ttf"]:
        for folder in ("noto", "dejavu"):
            if (FONTS / folder / name).exists():
                return FONTS / folder / name
    try:
        pattern = f"{family}:style={'Bold' if bold else 'Regular'}"
        found = subprocess.run(["fc-match", "-f", "%{file}\n%{family}", pattern],
                               capture_output=True, text=True, timeout=10, check=False).stdout.split("\n")
    except (OSError, subprocess.TimeoutExpired):
        return None
    if len(found) == 2 and family.lower() in found[1].lower() and Path(found[0]).exists():
        return Path(found[0])  # fc-match answers with some font even for a missing family: only its own counts
    return None


@functools.cache
def font_for(text: str, size: int, bold: bool = False):
    """A font that draws every letter of `text`; MissingFont (naming the script) when none is installed."""
    script, family = next((name, fam) for name, pattern, fam in SCRIPTS if pattern.search(text))
    for candidate in (family, FALLBACK):
        path = font_file(candidate, bold) or font_file(candidate)
        if path is not None:
            font = ImageFont.truetype(str(path), size)
            if draws_all(font, text):
                return font
    raise MissingFont(f"No installed font has the {script} letters of “{text}”: install fonts-noto-core.")


def draws_all(font, text: str) -> bool:
    """Every letter has a glyph of its own, not the empty box (.notdef) a font draws for what it lacks."""
    missing = _glyph(font, "\ufffe")  # a non-character: always .notdef
    return all(_glyph(font, ch) != missing for ch in set(text) if ch.isalpha())


def _glyph(font, ch: str) -> bytes:
    img = Image.new("L", (font.size * 2, font.size * 2))
    ImageDraw.Draw(img).text((0, 0), ch, font=font, fill=255)
    return img.tobytes()


def _screenshot(account, text: str, lang: str, when: datetime) -> bytes:
    """A post-like card as tall as its text: avatar, name, handle, the text (shaped right-to-left where needed),
    a date line. Each string is drawn in a font that has its letters (`font_for`)."""
    rtl = _is_rtl(text)
    body = font_for(text, 40)
    lines = _wrap(ImageDraw.Draw(Image.new("L", (1, 1))), text, body, 1240)[:5]
    height = 210 + 64 * len(lines) + 90
    img = Image.new("RGB", (1400, height), "white")
    draw = ImageDraw.Draw(img)
    draw.line((60, height - 100, 1340, height - 100), fill=(207, 217, 222), width=2)
    draw.ellipse((60, 60, 160, 160), fill=(29, 78, 137))
    name = account.display_name or account.handle
    draw.text((185, 70), name, fill=(15, 20, 25), font=font_for(name, 38, bold=True),
              direction="rtl" if _is_rtl(name) else None)
    draw.text((185, 128), f"@{account.handle}", fill=(83, 100, 113), font=font_for(account.handle, 30))
    for i, line in enumerate(lines):
        if rtl:
            draw.text((1340, 200 + i * 64), line, fill=(15, 20, 25), font=body, direction="rtl", language=lang,
                      anchor="ra")
        else:
            draw.text((60, 200 + i * 64), line, fill=(15, 20, 25), font=body)
    draw.text((60, height - 80), when.strftime("%H:%M · %d %b %Y") + " · fictional demo", fill=(83, 100, 113),
              font=font_for("fictional demo", 26))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _is_rtl(text: str) -> bool:
    return any(pattern.search(text) for name, pattern, _ in SCRIPTS if name in ("arabic", "hebrew"))


def _wrap(draw, text: str, font, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) > width and line:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + [line] if line else lines
