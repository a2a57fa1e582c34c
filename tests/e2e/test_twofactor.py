"""Two-factor in the browser: turn it on from Settings by reading the key off the page and typing a real code,
log out, and log in again with the password and a code."""

import time

import pyotp
import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def fresh_code(totp: pyotp.TOTP, used: set[str]) -> str:
    """A code not typed before (each works once): the current one, or else the next step's, which the server
    accepts too (a phone's clock may run a little ahead), so the test never waits 30 seconds."""
    code = next(c for c in (totp.at(time.time()), totp.at(time.time() + 30)) if c not in used)
    used.add(code)
    return code


def test_turn_on_two_factor_and_log_in_with_a_code(live_server, browser, shot, make_user):
    base, app = live_server
    with app.app_context():
        make_user("rana@example.org", name="Rana")
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill("rana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/cases/")

    page.goto(f"{base}/auth/settings")
    page.locator("#two-factor").get_by_role("link", name="Turn on two-factor").click()
    page.wait_for_url(f"{base}/auth/two-factor/setup")
    assert page.locator("figure.qr svg").is_visible()
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    totp, used = pyotp.TOTP(secret), set()
    shot(page, "50-two-factor-setup-desktop")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=page.context.storage_state())
    phone_page = phone.new_page()
    phone_page.goto(f"{base}/auth/two-factor/setup")
    assert phone_page.locator("#two-factor-secret").inner_text().replace(" ", "") == secret  # same key on reload
    shot(phone_page, "51-two-factor-setup-phone")
    phone.close()

    page.get_by_label("Code from the app").fill(fresh_code(totp, used))
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on two-factor").click()
    page.get_by_text("Two-factor sign-in is on").wait_for()
    assert page.locator("#recovery-codes li").count() == 10
    shot(page, "52-two-factor-recovery-codes")
    page.get_by_role("link", name="I have saved them — continue").click()
    page.wait_for_url(f"{base}/auth/settings")
    assert "Turned on two-factor sign-in" in page.locator("#security-log").inner_text()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/auth/login")
    page.get_by_label("Email").fill("rana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/auth/two-factor")
    shot(page, "53-two-factor-code-at-log-in")
    page.get_by_label("Code").fill(fresh_code(totp, used))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{base}/cases/")
    page.goto(f"{base}/auth/settings")
    assert "On." in page.locator("#two-factor").inner_text()
    shot(page, "54-settings-two-factor-on")
