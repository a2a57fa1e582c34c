"""A new user's first session, in a real browser: register, create a case, add posts, upload, map a clause."""

import re

import pytest
from pypdf import PdfReader

from reportkit.services.package import verify_package

from ..conftest import PASSWORD, png_bytes

pytestmark = pytest.mark.e2e

URLS = [  # the X post last: its page is the one the test stays on, and an X rule must fit it
    "https://t.me/s/leader_fa/1402",
    "https://www.youtube.com/shorts/dQw4w9WgXcQ",
    "https://www.tiktok.com/@leader_en/video/6718335390845095173",
    "https://bsky.app/profile/leader.example.org/post/3kdgrrkvnnv2l",
    "https://twitter.com/leader_en/status/1453347171011694596?s=20",
]


def test_first_session(live_server, browser, shot, tmp_path):
    base, _app = live_server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/auth/register")
    page.get_by_label("Name").fill("Rana")
    page.get_by_label("Email").fill("rana@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.get_by_text("If this address could be registered").wait_for()  # the same answer for a taken address
    page.get_by_label("Email").fill("rana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("No cases yet").wait_for()
    shot(page, "01-empty-cases")

    page.get_by_role("link", name="Create your first case").click()
    page.get_by_label("Title").fill("Threats against journalists")
    page.get_by_label("Subject").fill("A. Leader (fictional)")
    page.locator("#accounts-0-platform").select_option("x")
    page.locator("#accounts-0-handle").fill("leader_en")
    page.locator("#accounts-1-platform").select_option("telegram")
    page.locator("#accounts-1-handle").fill("leader_fa")
    page.locator("#accounts-1-display_name").fill("رهبر")
    page.get_by_role("button", name="Save case").click()
    page.get_by_text("No entries yet").wait_for()
    case_url = page.url

    for n, url in enumerate(URLS, start=1):
        page.goto(case_url)
        page.get_by_role("link", name=re.compile("Add (the first )?entry")).first.click()
        page.get_by_label("Post URL").fill(url)
        if "t.me" in url:
            page.get_by_label("Original text").fill("این یک متن آزمایشی است with English inside، و ادامه.")
            page.get_by_label("Language").fill("fa")
        page.get_by_role("button", name="Add entry").click()
        page.get_by_text(f"Entry #{n} added").wait_for()
    shot(page, "02-entry-added")

    screenshot = tmp_path / "shot.png"
    screenshot.write_bytes(png_bytes(1800, 1100, color=(30, 60, 120)))
    page.locator("input[type=file]").set_input_files(str(screenshot))
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("Stored shot.png").wait_for()
    page.get_by_label("Policy clause").fill("bluesky/community_guidelines/spam_disruption")  # another platform's rule
    page.get_by_label("Rationale").fill("Calls for violence.")
    page.get_by_role("button", name="Map clause").click()
    assert "this post is on X" in page.locator("#clause-error").inner_text()  # said next to the field
    page.get_by_label("Policy clause").fill("x/violent_content/violent_threats")
    page.get_by_label("Rationale").fill("Threatens to kill a named journalist.")
    page.get_by_role("button", name="Map clause").click()
    page.get_by_text("Clause mapped.", exact=True).wait_for()
    assert page.locator("figure.shot img").evaluate("img => img.naturalWidth") == 1600
    shot(page, "03-entry-page")

    page.goto(case_url)
    rows = page.locator("table.entries tbody tr")
    assert rows.count() == 5
    assert page.get_by_text("X › Violent Content › Violent Threats").count() >= 2  # chart and table
    persian = page.locator("div.snippet[lang=fa] .para").first  # each paragraph has its own direction
    assert persian.evaluate("el => getComputedStyle(el).direction") == "rtl"
    shot(page, "04-case-page")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(case_url)
    shot(page, "05-case-page-phone")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(case_url)
    page.get_by_role("link", name="Dossier").click()
    page.get_by_label("Also make an evidence package (ZIP)").check()
    page.get_by_label(re.compile("Include entries not yet approved")).check()  # nothing is approved yet
    shot(page, "06a-export-form")
    page.get_by_role("button", name="Export dossier").click()
    page.get_by_role("link", name="Download the PDF").wait_for(timeout=60_000)  # the progress bar page reloads
    shot(page, "06-dossier-ready")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the PDF").click()
    pdf = tmp_path / "dossier.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert "Threats against journalists" in PdfReader(str(pdf)).metadata.title
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the evidence package (ZIP)").click()
    package = tmp_path / "package.zip"
    download.value.save_as(package)
    assert verify_package(package) == []
    page.close()
