"""A 390 px phone: no page is wider than the screen (long URLs, Persian text, tables), the filters fold away so
the entries come first, and a region on a screenshot is drawn with a finger. On a laptop the same tool works
with a mouse drag and with the keyboard, and the saved region is the one drawn."""

import io

import pytest
from sqlalchemy import select

from reportkit.extensions import db
from reportkit.models import Region, User
from reportkit.services.cases import add_member, create_case
from reportkit.services.entries import add_violation, create_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.intake.run import paste_urls
from reportkit.services.reviews import transition
from reportkit.services.storage import EvidenceStore

from ..conftest import PASSWORD, png_bytes

pytestmark = pytest.mark.e2e

LONG_URL = "https://x.com/leader_en/status/1453347171011694596?s=20&t=" + "aVeryLongTrackingParameter" * 4
PERSIAN = ("این‌یک‌متن‌آزمایشی‌بسیار‌طولانی‌بدون‌فاصله‌است‌که‌نباید‌"
           "صفحه‌را‌پهن‌کند و روزنامه‌نگاران را تهدید می‌کند: https://example.org/" + "a" * 80)


def setup(app) -> dict:
    with app.app_context():
        people = {}
        for email, name in (("rana@example.org", "Rana"), ("eda@example.org", "Eda Editor")):
            user = User(email=email, name=name)
            user.set_password(PASSWORD)
            db.session.add(user)
            people[email] = user
        db.session.commit()
        rana, eda = people["rana@example.org"], people["eda@example.org"]
        case = create_case(rana, "Threats against journalists", "A. Leader (fictional)",
                           accounts=[{"platform": "x", "handle": "leader_en"},
                                     {"platform": "telegram", "handle": "leader_fa"}])
        add_member(None, case, eda.email, "editor")
        store = EvidenceStore(app.config["EVIDENCE_DIR"])
        limits = Limits.from_config(app.config)
        fresh = create_entry(rana, case, LONG_URL, {"text": PERSIAN, "language": "fa"})
        add_evidence_file(rana, fresh, io.BytesIO(png_bytes(1600, 1000, (40, 70, 130))), "shot.png", store, limits)
        queued = create_entry(eda, case, "https://x.com/leader_en/status/1453347171011694597", {"text": PERSIAN})
        add_evidence_file(eda, queued, io.BytesIO(png_bytes(800, 500, (90, 30, 30))), "other.png", store, limits)
        add_violation(eda, queued, "x/violent_content/violent_threats", "Threatens a named journalist.")
        transition(eda, queued, "ready")  # in Rana's review queue
        job = paste_urls(rana, case, "\n".join([  # the intake history and an import's line-by-line table
            "https://t.me/s/leader_fa/1402?" + "utm_source=averyveryverylongtrackingparameter" * 3,
            "not an address at all, just words: " + "بدون‌فاصله" * 12, LONG_URL]))
        ids = {"case": case.id, "entry": fresh.id, "evidence": fresh.evidence[0].id, "import": job.id}
        db.session.remove()
    return ids


def login(page, base):
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill("rana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Your cases").wait_for()


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def regions(app, evidence_id) -> list[tuple]:
    with app.app_context():
        rows = db.session.scalars(select(Region).where(Region.evidence_id == evidence_id).order_by(Region.id)).all()
        found = [(r.x, r.y, r.w, r.h) for r in rows]
        db.session.remove()
    return found


def close(a: tuple, b: tuple, tol=0.012) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def pages_of(ids) -> dict:
    return {"entry": f"/entries/{ids['entry']}", "case": f"/cases/{ids['case']}",
            "activity": f"/cases/{ids['case']}/activity", "activity-raw": f"/cases/{ids['case']}/activity?raw=1",
            "members": f"/cases/{ids['case']}/members", "queue": "/reviews/", "intake": f"/imports/new/{ids['case']}",
            "dossier": f"/dossiers/new/{ids['case']}", "import": f"/imports/{ids['import']}"}


def phone(browser):
    return browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)


@pytest.mark.parametrize("width", [390, 1280])
def test_pages_fit_the_screen(live_server, browser, shot, width):
    base, app = live_server
    ids = setup(app)
    context = phone(browser) if width == 390 else browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, base)
    for name, path in pages_of(ids).items():
        page.goto(base + path)
        assert fits(page), name  # no horizontal scroll: scrollWidth <= clientWidth
        shot(page, f"ux-{'phone' if width == 390 else 'desktop'}-{name}-{width}")
    page.goto(base + pages_of(ids)["case"])
    for folded in ("details.filters-box", "details.bulk-box"):  # on a phone folded: the entries come first
        assert (page.locator(folded).get_attribute("open") is None) == (width == 390), folded
    if width == 390:
        assert page.locator("table.entries").bounding_box()["y"] < 844 * 1.5
    context.close()


def test_touch_region(live_server, browser, shot):
    base, app = live_server
    ids = setup(app)
    context = phone(browser)
    page = context.new_page()
    login(page, base)
    # draw a region with a finger: a real touch sequence (touch-action:none keeps it from scrolling the page)
    page.goto(f"{base}/entries/{ids['entry']}")
    img = page.locator(f"#evidence-{ids['evidence']} img")
    assert img.evaluate("i => getComputedStyle(i).touchAction") == "auto"  # a swipe over it scrolls the page
    page.get_by_text("Mark a region on this screenshot").tap()  # now a finger draws
    assert img.evaluate("i => getComputedStyle(i).touchAction") == "none"
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    cdp = context.new_cdp_session(page)
    at = lambda fx, fy: [{"x": box["x"] + fx * box["width"], "y": box["y"] + fy * box["height"]}]  # noqa: E731
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": at(0.20, 0.30)})
    for step in range(1, 6):
        cdp.send("Input.dispatchTouchEvent",
                 {"type": "touchMove", "touchPoints": at(0.20 + step * 0.1, 0.30 + step * 0.08)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    form = page.locator(f"#region-form-{ids['evidence']}")
    form.get_by_label("Label").fill("the threat")
    assert [form.get_by_label(k).input_value() for k in ("Left (%)", "Top (%)", "Width (%)", "Height (%)")] == \
        ["20.00", "30.00", "50.00", "40.00"]
    assert fits(page)
    shot(page, "ux-phone-region-drawn-390")
    form.get_by_role("button", name="Save region").click()
    page.get_by_text("Region saved").wait_for()
    assert close(regions(app, ids["evidence"])[0], (0.20, 0.30, 0.50, 0.40))
    context.close()


def test_mouse_and_keyboard_regions(live_server, browser, shot):
    base, app = live_server
    ids = setup(app)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base)
    page.goto(f"{base}/entries/{ids['entry']}")
    img = page.locator(f"#evidence-{ids['evidence']} img")
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    page.mouse.move(box["x"] + 0.60 * box["width"], box["y"] + 0.70 * box["height"])  # drawn up and to the left
    page.mouse.down()
    page.mouse.move(box["x"] + 0.35 * box["width"], box["y"] + 0.50 * box["height"], steps=8)
    page.mouse.move(box["x"] + 0.10 * box["width"], box["y"] + 0.20 * box["height"], steps=8)
    page.mouse.up()
    form = page.locator(f"#region-form-{ids['evidence']}")
    form.get_by_role("button", name="Save region").click()
    page.get_by_text("Region saved").wait_for()
    assert close(regions(app, ids["evidence"])[0], (0.10, 0.20, 0.50, 0.50))

    # the keyboard: focus the screenshot, move the default rectangle, make it larger, Enter saves
    figure = page.locator(f"#evidence-{ids['evidence']}")
    figure.focus()
    for key in ["ArrowRight"] * 5 + ["ArrowUp"] * 10 + ["Shift+ArrowRight"] * 10 + ["Shift+ArrowDown"] * 5:
        page.keyboard.press(key)
    shot(page, "ux-region-keyboard-1280")
    assert [form.get_by_label(k).input_value() for k in ("Left (%)", "Top (%)", "Width (%)", "Height (%)")] == \
        ["45.00", "30.00", "30.00", "25.00"]
    page.keyboard.press("Enter")
    page.get_by_text("Region saved").wait_for()
    assert close(regions(app, ids["evidence"])[1], (0.45, 0.30, 0.30, 0.25), tol=0.001)
    page.close()
