"""Bulk intake in the browser: paste a list, then import a file through the mapping and preview."""

import pytest

from reportkit.extensions import db
from reportkit.models import User
from reportkit.services.cases import create_case

from ..conftest import PASSWORD

pytestmark = pytest.mark.e2e


def test_paste_and_import(live_server, browser, shot, tmp_path):
    base, app = live_server
    with app.app_context():
        user = User(email="bulk@example.org", name="Bulk")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        case_id = create_case(user, "Bulk case", "S", accounts=[{"platform": "telegram", "handle": "leader_fa"}]).id
        db.session.remove()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill("bulk@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/cases/{case_id}")
    page.get_by_role("link", name="Bulk intake").click()
    page.get_by_label("Addresses").fill("https://t.me/leader_fa/1 and https://t.me/s/leader_fa/1\nhello\n"
                                        "https://x.com/leader_en/status/1453347171011694596")
    page.get_by_role("button", name="Create entries").click()
    page.get_by_text("2 created").wait_for()
    assert page.locator("tr.result-duplicate").count() == 1 and page.locator("tr.result-invalid").count() == 1
    shot(page, "20-paste-results")

    page.get_by_role("link", name="Bulk intake").click()
    csv_path = tmp_path / "posts.csv"
    csv_path.write_text("Link,Date,Text\nhttps://t.me/leader_fa/5,2024-05-01 10:00,متن\n"
                        "https://t.me/leader_fa/6,not a date,x\n", encoding="utf-8-sig")
    page.get_by_label("CSV or JSON file").set_input_files(str(csv_path))
    page.get_by_role("button", name="Upload and map columns").click()
    page.get_by_text("Preview of the first rows").wait_for()
    assert page.get_by_text("cannot be read").count() == 1
    shot(page, "21-import-preview")
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("1 created").wait_for(timeout=30_000)
    shot(page, "22-import-done")
