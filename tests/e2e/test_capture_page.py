"""'Capture now' in a browser (#18): the entry page starts a server-side capture of a local post page and shows
what it found (desktop and phone screenshots)."""

import time

import pytest

from reportkit.extensions import db
from reportkit.models import User
from reportkit.services.cases import create_case
from reportkit.services.entries import create_entry

from ..capture_site import Site
from ..conftest import PASSWORD
from .test_review import login

pytestmark = pytest.mark.e2e


def test_capture_now_on_the_entry_page(live_server, browser, shot):
    base, app = live_server
    site = Site().start()
    try:
        app.config.update(CAPTURE_PROXY="", CAPTURE_TIMEOUT=10, CAPTURE_ALLOW_PRIVATE=[f"127.0.0.1:{site.port}"])
        with app.app_context():
            owner = User(email="owner@example.org", name="Olga Owner")
            owner.set_password(PASSWORD)
            db.session.add(owner)
            db.session.commit()
            case = create_case(owner, "Threats against reporters", "A. Leader (fictional)",
                               accounts=[{"platform": "x", "handle": "leader_en"}])
            entry_id = create_entry(owner, case, site.url("/post/1"), {}).id
            db.session.remove()
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        login(page, base, "owner@example.org")
        page.goto(f"{base}/entries/{entry_id}")
        page.get_by_role("button", name="Capture now").click()
        page.get_by_text("Capture started").wait_for()
        deadline = time.monotonic() + 40
        while page.locator("#capture[data-capture-status=done]").count() == 0 and time.monotonic() < deadline:
            time.sleep(1)
            page.reload()
        assert page.locator("#capture strong").inner_text() == "Captured"
        text = page.locator("#capture").inner_text()
        assert site.url("/post/1") in text and "HTTP 200" in text and "Chromium" in text
        assert "capture-1.wacz" in page.locator("#evidence").inner_text(), page.locator("#evidence").inner_text()[:1500]
        page.locator("#capture").scroll_into_view_if_needed()
        shot(page, "70-capture-done-desktop")
        page.set_viewport_size({"width": 390, "height": 844})
        shot(page, "71-capture-done-phone")
    finally:
        site.stop()
