"""The browser extension (extension/), unpacked in Debian's chromium, captures a post page into a case.

The post page is served by the test at its real address (https://x.com/leader_en/status/…, through Playwright's
routing), so the tab's URL is the one reportkit canonicalises. The test copy of the extension adds one manifest
line, `host_permissions: ["<all_urls>"]`: it stands in for what a person grants by clicking (the toolbar button or
the menu entry gives `activeTab` for the tab; the options page asks for the reportkit address), which a test
cannot click because both are browser UI, not page content. Everything else is the extension as shipped: the popup
window the context menu opens (`openCaptureWindow`), its lookup, capture, hashing and upload through API v1.
What arrived is checked through the API: the entry, both files, and that their bytes hash to what the popup
showed. A cookie the browser holds for the reportkit address must never reach the server."""

import email
import hashlib
import io
import json
import shutil
import time
from pathlib import Path

import pytest
from flask import request
from PIL import Image

from reportkit.extensions import db
from reportkit.models import ApiToken, User
from reportkit.services.cases import create_case

from ..conftest import PASSWORD
from .conftest import CHROMIUM, SHOTS

pytestmark = pytest.mark.e2e

EXTENSION = Path(__file__).resolve().parents[2] / "extension"
POST_URL = "https://x.com/leader_en/status/1790000000000000001?s=20&t=sharer-id"
CANONICAL = "https://x.com/leader_en/status/1790000000000000001"
TEXT = "They are vermin and will be dealt with one by one, starting tonight."
POST_PAGE = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>A. Leader on X: "They are vermin"</title>
<style>body{{font:16px sans-serif;margin:40px}} article{{border:1px solid #ccc;padding:16px;max-width:560px}}</style>
</head><body><article><strong>A. Leader</strong> <span>@leader_en</span>
<p id="text">{TEXT}</p><time>9:14 PM · May 13, 2024</time></article></body></html>"""
CLAUSE = "x/violent_content/violent_threats"


def extension_copy(tmp_path: Path) -> Path:
    target = tmp_path / "extension"
    shutil.copytree(EXTENSION, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["host_permissions"] = ["<all_urls>"]  # the clicks' grants (see the module's docstring)
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def setup(app) -> tuple[int, str]:
    with app.app_context():
        user = User(email="rana@example.org", name="Rana")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        case = create_case(user, "Leader's threats", "A. Leader", accounts=[{"platform": "x", "handle": "leader_en"}])
        token, secret = ApiToken.issue(user, "browser extension")
        db.session.add(token)
        db.session.commit()
        case_id = case.id
        db.session.remove()
    return case_id, secret


def api(app, secret, path):
    with app.test_client() as client:
        resp = client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {secret}"})
        try:
            assert resp.status_code == 200, resp.data[:300]
            return resp.json if resp.is_json else resp.data
        finally:
            resp.close()


def launch(pw, tmp_path: Path, unpacked: Path):
    """Debian's chromium with the unpacked extension, headless in the mode that runs extensions."""
    return pw.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=False, viewport={"width": 1000, "height": 700},
        args=["--headless=new", f"--disable-extensions-except={unpacked}", f"--load-extension={unpacked}",
              "--disable-features=DisableLoadExtensionCommandLineSwitch", "--no-sandbox", "--disable-gpu",
              "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"])


def open_popup(ctx, url: str):
    """The popup in a tab. On install the extension opens its options page, which can take over a tab being
    opened at that moment ("navigation interrupted"): then the popup is opened again in a fresh tab."""
    from playwright.sync_api import Error

    for attempt in range(4):
        page = ctx.new_page()
        try:
            page.goto(url)
            return page
        except Error as exc:
            if "interrupted by another navigation" not in str(exc) or attempt == 3:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def test_the_extension_as_shipped_asks_for_its_settings_first(tmp_path):
    """The extension exactly as in extension/ (no added permission): it loads, opens its options on install, and
    the popup sends nothing until an address and token are set and that address was allowed."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # a loaded test machine starts a browser with an extension slowly
    with sync_playwright() as pw:
        ctx = launch(pw, tmp_path, EXTENSION)
        try:
            worker = ctx.service_workers[0] if ctx.service_workers else ctx.wait_for_event("serviceworker",
                                                                                          timeout=60_000)
            extension_id = worker.url.split("/")[2]
            manifest = worker.evaluate("() => chrome.runtime.getManifest()")
            assert "host_permissions" not in manifest and "<all_urls>" not in json.dumps(manifest)
            assert sorted(manifest["permissions"]) == ["activeTab", "contextMenus", "pageCapture", "scripting",
                                                       "storage"]
            requests = []
            ctx.on("request", lambda r: requests.append(r.url) if r.url.startswith(("http:", "https:")) else None)
            popup = open_popup(ctx, f"chrome-extension://{extension_id}/popup.html")
            expect(popup.locator("#setup-message")).to_have_text("Set your reportkit address and API token first.")
            worker.evaluate("() => chrome.storage.local.set({address: 'http://127.0.0.1:9', token: 'rk_x'})")
            popup.reload()
            expect(popup.locator("#setup-message")).to_contain_text("may not talk to http://127.0.0.1:9 yet")
            expect(popup.locator("#capture")).to_be_hidden()
            SHOTS.mkdir(exist_ok=True)
            popup.screenshot(path=str(SHOTS / "extension_popup_setup.png"))
            assert requests == []  # nothing was sent anywhere
        finally:
            ctx.close()


def capture(ctx, worker, tab_id: int, canonical: str = CANONICAL):
    """What the menu entry does: the popup in its own window, aimed at the post's tab."""
    with ctx.expect_page() as opened:
        worker.evaluate("id => openCaptureWindow(id)", tab_id)
    popup = opened.value
    popup.wait_for_load_state()
    popup.locator("#canonical").filter(has_text=canonical).wait_for(timeout=10_000)
    return popup


def test_extension_captures_a_post_into_a_case(live_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    base, app = live_server
    cookies_seen = []
    app.before_request(lambda: cookies_seen.append(request.headers.get("Cookie")) if request.path.startswith(
        "/api/") else None)
    case_id, secret = setup(app)
    unpacked = extension_copy(tmp_path)
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        ctx = launch(pw, tmp_path, unpacked)
        try:
            ctx.route("https://x.com/**", lambda route: route.fulfill(
                status=200, content_type="text/html; charset=utf-8", body=POST_PAGE))
            ctx.add_cookies([{"name": "session", "value": "must-not-travel", "url": base}])
            worker = ctx.service_workers[0] if ctx.service_workers else ctx.wait_for_event("serviceworker",
                                                                                          timeout=60_000)
            worker.evaluate("([address, token]) => chrome.storage.local.set({address, token})", [base, secret])

            extension_id = worker.url.split("/")[2]
            options = ctx.new_page()
            options.set_viewport_size({"width": 1280, "height": 800})
            options.goto(f"chrome-extension://{extension_id}/options.html")
            expect(options.locator("#status")).to_have_text(f"Saved for {base}.")
            expect(options.locator("#address")).to_have_value(base)
            options.screenshot(path=str(SHOTS / "extension_options.png"), full_page=True)
            options.locator("#address").fill("ftp://reportkit.example.org")
            options.get_by_role("button", name="Save and allow this address").click()
            expect(options.locator("#address-error")).to_have_text("Only http and https addresses.")
            assert worker.evaluate("async () => (await chrome.storage.local.get('address')).address") == base

            page = ctx.new_page()
            page.goto("https://x.com/leader_en")  # a profile, not a post: said, and nothing can be sent
            tab_id = worker.evaluate("async () => (await chrome.tabs.query({url: 'https://x.com/*'}))[0].id")
            for other in [p for p in ctx.pages if p is not page]:
                other.close()
            popup = capture(ctx, worker, tab_id, "https://x.com/leader_en")
            expect(popup.locator("#refused")).to_contain_text("reportkit will not take this address")
            expect(popup.get_by_role("button", name="Capture and send")).to_be_disabled()
            popup.screenshot(path=str(SHOTS / "extension_popup_refused.png"), full_page=True)
            popup.close()
            page.goto(POST_URL)
            page.evaluate("""() => { const r = document.createRange();
                r.selectNodeContents(document.getElementById('text'));
                getSelection().removeAllRanges(); getSelection().addRange(r); }""")
            tab_id = worker.evaluate("async () => (await chrome.tabs.query({url: 'https://x.com/*'}))[0].id")

            popup = capture(ctx, worker, tab_id)
            expect(popup.locator("#text")).to_have_value(TEXT)
            expect(popup.locator("#platform")).to_contain_text("@leader_en")
            expect(popup.locator("#language")).to_contain_text("en")
            expect(popup.locator("#existing")).to_be_hidden()
            popup.locator("#notes").fill("Posted during the protests.")
            popup.locator("#clause").select_option(CLAUSE)
            popup.locator("#rationale").fill("Announces violence against a group, tonight.")
            popup.locator("#logged_in_as").fill("research account 2")
            popup.screenshot(path=str(SHOTS / "extension_popup.png"), full_page=True)
            popup.get_by_role("button", name="Capture and send").click()
            expect(popup.locator("#result")).to_contain_text("Entry #1 created in Leader's threats (#1): 2 files added",
                                                             timeout=20_000)
            shown = popup.locator("#result code").all_inner_texts()
            popup.screenshot(path=str(SHOTS / "extension_result.png"), full_page=True)
            link = popup.get_by_role("link", name="Open entry")
            popup.close()

            entries = api(app, secret, f"/cases/{case_id}/entries")["entries"]
            assert len(entries) == 1
            entry = entries[0]
            assert link is not None
            assert entry["canonical_url"] == entry["url"] == CANONICAL  # the tab's share parameters are not sent
            assert entry["text"] == TEXT and entry["language"] == "en"
            assert entry["capture"]["method"] == "browser_extension"
            assert entry["capture"]["logged_in_as"] == "research account 2"
            assert entry["capture"]["captured_at"] is not None
            assert [v["clause"] for v in entry["violations"]] == [CLAUSE]
            assert "Posted during the protests." in entry["notes"] and "They are vermin" in entry["notes"]  # title
            files = api(app, secret, f"/entries/{entry['id']}/evidence")["evidence"]
            assert sorted((f["kind"], f["mime"]) for f in files) == [("page", "multipart/related"),
                                                                     ("screenshot", "image/png")]
            assert sorted(f["sha256"] for f in files) == sorted(shown)  # what the popup showed is what is kept
            for f in files:
                data = api(app, secret, f"/evidence/{f['id']}/original")
                assert hashlib.sha256(data).hexdigest() == f["sha256"]
                if f["kind"] == "screenshot":
                    (SHOTS / "extension_captured_tab.png").write_bytes(data)  # to look at: the post, not the popup
                    width, height = Image.open(io.BytesIO(data)).size
                    assert width >= 600 and height >= 400  # the visible tab, not an empty image
                else:
                    message = email.message_from_bytes(data)
                    html = next(p.get_payload(decode=True) for p in message.walk()
                                if p.get_content_type() == "text/html")
                    assert TEXT.encode() in html and message["Snapshot-Content-Location"].startswith(CANONICAL)

            # The same post again: no second entry, the new capture is evidence of the first.
            popup = capture(ctx, worker, tab_id)
            expect(popup.locator("#existing")).to_contain_text(f"Already entry #{entry['number']}")
            popup.screenshot(path=str(SHOTS / "extension_popup_existing.png"), full_page=True)
            popup.get_by_role("button", name="Capture and send").click()
            expect(popup.locator("#result")).to_contain_text(f"Already entry #{entry['number']} in Leader's threats",
                                                             timeout=20_000)
            popup.close()

            entry_page = ctx.new_page()  # what the team sees of it
            entry_page.set_viewport_size({"width": 1280, "height": 900})
            entry_page.goto(f"{base}/auth/login")
            entry_page.get_by_label("Email").fill("rana@example.org")
            entry_page.get_by_label("Password").fill(PASSWORD)
            entry_page.get_by_role("button", name="Log in").click()
            entry_page.goto(f"{base}/entries/{entry['id']}")
            expect(entry_page.locator("body")).to_contain_text("browser extension")
            entry_page.screenshot(path=str(SHOTS / "extension_entry.png"), full_page=True)
        finally:
            ctx.close()
    assert len(api(app, secret, f"/cases/{case_id}/entries")["entries"]) == 1
    assert len(api(app, secret, f"/entries/{entry['id']}/evidence")["evidence"]) == 4
    assert cookies_seen and not any(cookies_seen)  # the browser's cookie for this address never went along
