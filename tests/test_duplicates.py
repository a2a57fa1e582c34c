"""Near-duplicate screenshots: the threshold measured on drawn post screenshots, the finding stored once and
shown once, "not the same post" (who may, CSRF, the custody log), and the demo no longer warning."""

import io
import itertools
import re

import pytest
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import func, select

from reportkit.extensions import db
from reportkit.models import Event, NearDuplicate
from reportkit.services.custody import verify_case
from reportkit.services.duplicates import find_in_earlier_screenshots, findings_for
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.images import NEAR_DUPLICATE_BITS, hash_distance, look_hash, make_print_copy
from reportkit.services.storage import EvidenceStore

NOTO = "/usr/share/fonts/truetype/noto/"  # fonts-noto-core (scripts/system-deps.sh)


def _font(name, size):
    return ImageFont.truetype(NOTO + name, size)

POSTS = [  # (display name, handle, text, right-to-left)
    ("Kaveh Nadershahi", "k_nadershahi",
     "Journalists who spread foreign lies will be hunted down. We know where they live.", False),
    ("Kaveh Nadershahi", "k_nadershahi",
     "Whoever silences the foreign agents will be rewarded. #CleanTheNation", False),
    ("Press Office", "gov_press", "Another warning to the press corps: stop or be stopped.", False),
    ("Press Office", "gov_press", "They are parasites feeding on our nation.", False),
    ("Nadershahi TV", "NadershahiTV", "Supporters should gather outside the newspaper at dawn.", False),
    ("Ali R.", "ali_r_1990", "The so-called independent media will answer for this. Names are being collected.", False),
    ("Ali R.", "ali_r_1990", "Good morning to everyone except the traitors at the Daily Herald.", False),
    ("کاوه نادرشاهی", "nadershahi_fa", "خبرنگاران خائن را یکی‌یکی پیدا می‌کنیم و سزایشان را می‌دهیم.", True),
    ("کاوه نادرشاهی", "nadershahi_fa", "این حشرات رسانه‌ای باید از شهرهای ما پاک شوند.", True),
    ("کاوه نادرشاهی", "nadershahi_fa", "مرگ بر خبرنگاران مزدور. روزشان نزدیک است.", True),
]


def post_card(n: int, dark: bool = False) -> Image.Image:
    """A post as a phone or browser shows it: avatar, name, handle, the text, time and counts."""
    name, handle, text, rtl = POSTS[n]
    if dark:
        bg, fg, muted = (21, 32, 43), (231, 233, 234), (139, 152, 165)
    else:
        bg, fg, muted = (255, 255, 255), (15, 20, 25), (83, 100, 113)
    img = Image.new("RGB", (1200, 520), bg)
    draw = ImageDraw.Draw(img)
    draw.ellipse((30, 30, 110, 110), fill=(29, 78, 137))
    face = "NotoSansArabic-Bold.ttf" if rtl else "NotoSans-Bold.ttf"
    draw.text((130, 35), name, fill=fg, font=_font(face, 32))
    draw.text((130, 78), f"@{handle}", fill=muted, font=_font("NotoSans-Regular.ttf", 26))
    body = _font("NotoSansArabic-Regular.ttf" if rtl else "NotoSans-Regular.ttf", 38)
    lines, line = [], ""
    for word in text.split():
        wider = f"{line} {word}".strip()
        if draw.textlength(wider, font=body) > 1100 and line:
            lines.append(line)
            line = word
        else:
            line = wider
    lines.append(line)
    for i, line in enumerate(lines):
        if rtl:
            draw.text((1160, 150 + i * 60), line, fill=fg, font=body, anchor="ra", direction="rtl")
        else:
            draw.text((40, 150 + i * 60), line, fill=fg, font=body)
    draw.text((40, 400), f"{9 + n}:{10 + 3 * n} · {n + 3} Jan 2024 · {1000 + 37 * n} Views", fill=muted,
              font=_font("NotoSans-Regular.ttf", 26))
    draw.line((40, 450, 1160, 450), fill=(200, 205, 210), width=2)
    draw.text((40, 465), f"{12 + n} Reposts   {40 + 3 * n} Likes", fill=muted, font=_font("NotoSans-Regular.ttf", 26))
    return img


def png(img: Image.Image, fmt: str = "PNG", **save) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **save)
    return out.getvalue()


def same_post_variants(img: Image.Image) -> dict[str, bytes]:
    """What happens to one screenshot on its way: re-encoded, scaled, cropped a little, framed, greyed."""
    w, h = img.size
    framed = Image.new("RGB", (w + 60, h + 90), (240, 242, 245))
    framed.paste(img, (30, 60))
    return {
        "jpeg q55": png(img, "JPEG", quality=55),
        "resized 70 %": png(img.resize((w * 7 // 10, h * 7 // 10), Image.Resampling.LANCZOS)),
        "resized 50 %, JPEG": png(img.resize((w // 2, h // 2)), "JPEG", quality=80),
        "cropped 1 % each side": png(img.crop((w // 100, h // 100, w - w // 100, h - h // 100))),
        "cropped 2 % off the bottom": png(img.crop((0, 0, w, h - h // 50))),
        "cropped 3 % off the top": png(img.crop((0, h * 3 // 100, w, h))),
        "in a grey frame (another viewer)": png(framed),
        "grey scale, 60 %": png(img.resize((w * 6 // 10, h * 6 // 10)).convert("L")),
    }


def hashed(data: bytes, tmp_path) -> str:
    """The look hash as an upload computes it: of the print copy."""
    path = tmp_path / "upload"
    path.write_bytes(data)
    return look_hash(io.BytesIO(make_print_copy(path, 1600).data))


def test_threshold_separates_other_posts_from_the_same_post_reworked(tmp_path):
    cards = [post_card(n, dark=n % 4 == 3) for n in range(len(POSTS))]
    hashes = [hashed(png(card), tmp_path) for card in cards]
    different = sorted(hash_distance(hashes[a], hashes[b]) for a, b in itertools.combinations(range(len(cards)), 2))
    same = sorted((hash_distance(hashes[n], hashed(data, tmp_path)), how)
                  for n, card in enumerate(cards) for how, data in same_post_variants(card).items())
    print(f"different posts, one layout: {different}")
    print(f"the same post reworked: {same}")
    assert same[-1][0] <= NEAR_DUPLICATE_BITS, same[-1]
    assert different[0] > NEAR_DUPLICATE_BITS, different[:3]


@pytest.fixture
def world(app, make_user, make_case, make_entry):
    owner, editor, viewer = (make_user(email=f"{r}@example.org") for r in ("owner", "editor", "viewer"))
    case = make_case(owner, accounts=[{"platform": "telegram", "handle": "leader_fa"}],
                     members=[(editor, "editor"), (viewer, "viewer")])
    entries = [make_entry(case, owner, url=f"https://t.me/leader_fa/{n}") for n in (1, 2, 3)]
    store, limits = EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config)
    card = post_card(0)
    first = add_evidence_file(owner, entries[0], io.BytesIO(png(card)), "first.png", store, limits)
    again = add_evidence_file(owner, entries[1], io.BytesIO(same_post_variants(card)["jpeg q55"]), "again.jpg",
                              store, limits)
    other = add_evidence_file(owner, entries[2], io.BytesIO(png(post_card(2))), "other.png", store, limits)
    return {"case": case, "owner": owner, "editor": editor, "viewer": viewer, "entries": entries,
            "first": first, "again": again, "other": other}


def warnings_on(client, entry) -> int:
    page = client.get(f"/entries/{entry.id}").data.decode()
    return len(re.findall(r"Not the same post|looks like <span", page))


def test_a_finding_is_stored_once_and_shown_once_on_both_entries(world, client, login):
    rows = db.session.scalars(select(NearDuplicate)).all()
    assert [(r.evidence_id, r.similar_id) for r in rows] == [(world["again"].id, world["first"].id)]
    assert findings_for(world["entries"][2]) == []
    login(client, world["editor"])
    first, second, third = world["entries"]
    for _ in range(3):  # actions on the entry (each reload) do not repeat it
        page = client.get(f"/entries/{second.id}").data.decode()
        assert page.count("Not the same post") == 1 and page.count(f"entry #{first.number}</a>") >= 1
    assert "Not the same post" in client.get(f"/entries/{first.id}").data.decode()
    assert "Not the same post" not in client.get(f"/entries/{third.id}").data.decode()


def test_upload_says_it_once_per_file(world, client, login):
    login(client, world["editor"])
    entry = world["entries"][2]
    data = same_post_variants(post_card(0))["resized 70 %"]
    client.post(f"/evidence/upload/{entry.id}", data={"files": [(io.BytesIO(data), "third.png")],
                                                      "kind": ""}, content_type="multipart/form-data")
    with client.session_transaction() as session:
        flashes = [m for _, m in session.get("_flashes", []) if "looks like" in m]
    assert flashes == ["third.png looks like the screenshot of entries #1, #2: is this the same post?"], flashes


def test_not_the_same_post(world, client, login, app):
    finding = db.session.scalar(select(NearDuplicate))
    first, second, _ = world["entries"]
    login(client, world["viewer"])  # reads the case, may not edit: no button, and the route refuses
    assert "Not the same post" not in client.get(f"/entries/{second.id}").data.decode()
    assert client.post(f"/evidence/not-same/{second.id}/{finding.id}").status_code in (403, 404)
    client.get("/auth/logout")
    login(client, world["editor"])
    assert client.post(f"/evidence/not-same/{world['entries'][2].id}/{finding.id}").status_code == 404  # not its
    resp = client.post(f"/evidence/not-same/{second.id}/{finding.id}")
    assert resp.status_code == 302
    assert client.post(f"/evidence/not-same/{first.id}/{finding.id}").status_code == 302  # a second click
    db.session.expire_all()
    assert db.session.get(NearDuplicate, finding.id).dismissed_by_id == world["editor"].id
    assert "Not the same post" not in client.get(f"/entries/{second.id}").data.decode()
    assert "Not the same post" not in client.get(f"/entries/{first.id}").data.decode()
    events = db.session.scalars(select(Event).where(Event.action == "evidence.not_duplicate")).all()
    assert len(events) == 1 and events[0].actor_id == world["editor"].id and events[0].entry_id == second.id
    assert events[0].data["other_entry"] == first.number
    assert verify_case(world["case"].id, EvidenceStore(app.config["EVIDENCE_DIR"])).ok


def test_not_the_same_post_needs_the_csrf_token(make_app, make_user, make_case, make_entry):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        owner = make_user()
        case = make_case(owner, accounts=[{"platform": "telegram", "handle": "leader_fa"}])
        a, b = (make_entry(case, owner, url=f"https://t.me/leader_fa/{n}") for n in (1, 2))
        store, limits = EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config)
        add_evidence_file(owner, a, io.BytesIO(png(post_card(1))), "a.png", store, limits)
        add_evidence_file(owner, b, io.BytesIO(png(post_card(1))), "b.png", store, limits)
        finding = db.session.scalar(select(NearDuplicate))
        client = app.test_client()
        page = client.get("/auth/login").data.decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/auth/login", data={"email": owner.email, "password": "correct horse battery",
                                         "csrf_token": token})
        assert client.post(f"/evidence/not-same/{b.id}/{finding.id}").status_code == 400
        assert db.session.get(NearDuplicate, finding.id).dismissed_at is None
        page = client.get(f"/entries/{b.id}").data.decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post(f"/evidence/not-same/{b.id}/{finding.id}", data={"csrf_token": token}).status_code == 302
        db.session.expire_all()
        assert db.session.get(NearDuplicate, finding.id).dismissed_at is not None


def test_the_demo_screenshots_are_not_taken_for_duplicates(app, make_user):
    from reportkit.services.demo import load_demo

    load_demo(app.config["EVIDENCE_DIR"], Limits.from_config(app.config), posts=12)
    assert db.session.scalar(select(func.count(NearDuplicate.id))) == 0


def test_screenshots_stored_before_are_hashed_and_compared_on_demand(world, app):
    """An install upgraded to this version: its screenshots have no look hash until `reportkit find-duplicates`
    (services/duplicates.find_in_earlier_screenshots) runs."""
    first, again, other = world["first"], world["again"], world["other"]
    db.session.execute(NearDuplicate.__table__.delete())
    for evidence in (first, again):
        evidence.look_hash = None
    db.session.commit()
    store = EvidenceStore(app.config["EVIDENCE_DIR"])
    assert find_in_earlier_screenshots(store, world["case"].id) == (2, 1)
    rows = db.session.scalars(select(NearDuplicate)).all()
    assert [(r.evidence_id, r.similar_id) for r in rows] == [(again.id, first.id)]
    assert find_in_earlier_screenshots(store) == (0, 0)  # again: nothing new, nothing twice
    assert db.session.get(type(other), other.id).look_hash  # hashed at upload, left as it was
