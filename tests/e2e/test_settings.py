"""Sessions in the browser: a phone and a laptop signed in; the laptop ends the phone's session from Settings."""

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/cases/")


def test_end_another_session_from_settings(live_server, browser, shot, make_user):
    base, app = live_server
    with app.app_context():
        make_user("rana@example.org", name="Rana")
    laptop = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.0 Mobile/15E148 Safari/604.1")).new_page()
    sign_in(laptop, base, "rana@example.org")
    sign_in(phone, base, "rana@example.org")
    phone.goto(f"{base}/auth/settings")
    shot(phone, "40-settings-phone")
    laptop.goto(f"{base}/auth/settings")
    rows = laptop.locator("#sessions tbody tr")
    assert rows.count() == 2
    shot(laptop, "41-settings-two-sessions")
    rows.filter(has_not_text="(this one)").get_by_role("button", name="End").click()
    laptop.locator("#sessions tbody tr").first.wait_for()
    assert laptop.locator("#sessions tbody tr").count() == 1
    phone.goto(f"{base}/cases/")
    assert "/auth/login" in phone.url  # the phone's cookie no longer opens anything
