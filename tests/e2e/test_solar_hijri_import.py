"""A user in Tehran registers (the browser's zone is kept), imports a file with Solar Hijri dates in Persian
digits, sees each conversion and the impossible row in the preview, and reads the entry's time in Tehran time."""

import pytest
from sqlalchemy import select

from reportkit.extensions import db
from reportkit.models import Entry, User
from reportkit.services.cases import create_case

from ..conftest import PASSWORD

pytestmark = pytest.mark.e2e

CSV = ("Link,Date,Text\n"
       "https://t.me/leader_fa/11,۱۴۰۳/۰۳/۰۸ ۱۰:۳۰,متن اول\n"
       "https://t.me/leader_fa/12,1403/03/15 08:00,متن دوم\n"
       "https://t.me/leader_fa/13,1392/01/01 09:00,پیش از تلگرام\n")


def test_solar_hijri_import_in_tehran_time(live_server, browser, shot, tmp_path):
    base, app = live_server
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Tehran")
    page = context.new_page()
    page.goto(f"{base}/auth/register")
    page.get_by_text("your browser's time zone").wait_for()  # filled by static/timezone.js
    assert page.locator('input[name="time_zone"]').input_value() == "Asia/Tehran"
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "49-register-time-zone-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Name").fill("Shirin")
    page.get_by_label("Email").fill("shirin@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD + " 7")
    page.get_by_label("Repeat the password").fill(PASSWORD + " 7")
    page.get_by_role("button", name="Create account").click()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "shirin@example.org"))
        assert user.time_zone == "Asia/Tehran"
        case_id = create_case(user, "Tehran case", "S", accounts=[{"platform": "telegram", "handle": "leader_fa"}]).id
        db.session.remove()
    page.get_by_label("Email").fill("shirin@example.org")
    page.get_by_label("Password").fill(PASSWORD + " 7")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{base}/imports/new/{case_id}")
    csv_path = tmp_path / "solar.csv"
    csv_path.write_text(CSV, encoding="utf-8")
    page.get_by_label("CSV or JSON file").set_input_files(str(csv_path))
    page.get_by_role("button", name="Upload and map columns").click()
    page.get_by_text("Preview of the first rows").wait_for()
    page.get_by_label("Dates in this file are").select_option("solar_hijri")
    page.get_by_label("Time zone for times written without one").fill("Asia/Tehran")
    page.get_by_role("button", name="Preview").click()
    page.get_by_text("۱۴۰۳/۰۳/۰۸ ۱۰:۳۰ (Solar Hijri, Asia/Tehran) → 2024-05-28 07:00 UTC").wait_for()
    assert page.get_by_text("2024-05-28 10:30 Tehran (UTC+03:30)").count() == 1  # the reader's own time
    assert page.get_by_text("before Telegram existed").count() == 1  # 1392/01/01 is 2013-03-21
    shot(page, "50-solar-hijri-preview")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "51-solar-hijri-preview-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("2 created · 0 duplicates").wait_for(timeout=30_000)

    with app.app_context():
        entry = db.session.scalar(select(Entry).where(Entry.post_id == "11"))
        assert entry.posted_at.isoformat() == "2024-05-28T07:00:00+00:00"  # stored UTC
        assert db.session.scalar(select(Entry).where(Entry.post_id == "13")) is None  # refused, not stored
        entry_id = entry.id
        db.session.remove()
    page.goto(f"{base}/entries/{entry_id}")
    page.get_by_text("2024-05-28 10:30:00 Tehran (UTC+03:30)").wait_for()
    shot(page, "52-solar-hijri-entry")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "53-solar-hijri-entry-phone")
    context.close()
