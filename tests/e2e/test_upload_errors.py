"""An upload over the limit or of a wrong type is said on the page, with size and limit, next to the file field:
before sending (the page's script) and after (the plain form, without script). Nothing is stored."""

import threading

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from reportkit.extensions import db
from reportkit.models import Evidence, User
from reportkit.services.cases import create_case
from reportkit.services.entries import create_entry

from ..conftest import PASSWORD, png_bytes

pytestmark = pytest.mark.e2e

LIMIT = 200_000


@pytest.fixture
def small_server(make_app):
    app = make_app(WTF_CSRF_ENABLED=True, MAX_CONTENT_LENGTH=LIMIT)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join()
    server.server_close()


def setup(app) -> int:
    with app.app_context():
        user = User(email="rana@example.org", name="Rana")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        case = create_case(user, "Case", "A. Leader", accounts=[{"platform": "x", "handle": "leader_en"}])
        entry_id = create_entry(user, case, "https://x.com/leader_en/status/1453347171011694596", {}).id
        db.session.remove()
    return entry_id


def stored(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count(Evidence.id)))
        db.session.remove()
    return n


def login(page, base):
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill("rana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Your cases").wait_for()


def test_upload_errors_with_and_without_script(small_server, browser, shot, tmp_path):
    base, app = small_server
    entry_id = setup(app)
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes(10, 10) + b"\0" * 300_000)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a screenshot\n")

    page = browser.new_page(viewport={"width": 390, "height": 844})
    login(page, base)
    page.goto(f"{base}/entries/{entry_id}")
    page.locator("input[type=file]").set_input_files(str(big))
    status = page.locator("#upload-status")
    status.wait_for()  # said as soon as the file is chosen, before anything is sent
    assert "big.png is 293.0 KB; the limit is 195.3 KB per upload." in status.inner_text()
    assert "upload-status" in page.locator("input[type=file]").get_attribute("aria-describedby")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_timeout(300)
    assert status.is_visible() and stored(app) == 0  # not sent
    page.locator("input[type=file]").set_input_files(str(notes))
    assert "notes.txt: this type of file is not accepted (text/plain). Accepted: PNG" in status.inner_text()
    shot(page, "ux-upload-refused-script-390")
    page.close()

    plain = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False).new_page()
    login(plain, base)
    plain.goto(f"{base}/entries/{entry_id}")
    plain.locator("input[type=file]").set_input_files(str(big))
    plain.get_by_role("button", name="Upload").click()
    error = plain.locator("#files-error")
    error.wait_for()
    assert "is larger than the 195.3 KB limit per upload" in error.inner_text()
    assert "This upload (293." in error.inner_text() and "Nothing was saved" in error.inner_text()
    plain.locator("input[type=file]").set_input_files(str(notes))
    plain.get_by_role("button", name="Upload").click()
    plain.locator("#files-error").get_by_text("notes.txt: This type of file is not accepted").wait_for()
    assert stored(app) == 0
    shot(plain, "ux-upload-refused-plain-1280")
    plain.context.close()
