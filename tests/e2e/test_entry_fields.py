"""The one check of entry fields, seen in the browser: a refused language tag on the entry form and in an
import's preview, and a refused time zone on the mapping page that keeps what was chosen."""

import pytest

from reportkit.extensions import db
from reportkit.models import Entry, Import, User
from reportkit.services.cases import create_case

from ..conftest import PASSWORD

pytestmark = pytest.mark.e2e
TAG_MESSAGE = "Use a language tag such as fa, ar, he, en or fa-IR."


@pytest.mark.parametrize("width", [1280, 390])
def test_refused_fields_are_said_next_to_them(live_server, browser, shot, tmp_path, width):
    base, app = live_server
    with app.app_context():
        user = User(email="fields@example.org", name="Fields")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        case_id = create_case(user, "Fields case", "S", accounts=[{"platform": "telegram", "handle": "leader_fa"}]).id
        db.session.remove()
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill("fields@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{base}/entries/new/{case_id}")
    assert page.get_by_label("Translator").get_attribute("maxlength") == "200"  # the browser's hint, from FIELDS
    page.get_by_label("Post URL").fill("https://t.me/leader_fa/1")
    page.get_by_label("Language").fill("not a tag!")
    page.get_by_role("button", name="Add entry").click()
    page.get_by_text(TAG_MESSAGE).wait_for()
    assert page.get_by_label("Language").input_value() == "not a tag!"  # kept, to be corrected
    page.get_by_text(TAG_MESSAGE).scroll_into_view_if_needed()
    shot(page, f"40-entry-language-refused-{width}")

    csv_path = tmp_path / "posts.csv"
    csv_path.write_text("Link,Language\nhttps://t.me/leader_fa/5,fa\nhttps://t.me/leader_fa/6,farsi please\n",
                        encoding="utf-8")
    page.goto(f"{base}/imports/new/{case_id}")
    page.get_by_label("CSV or JSON file").set_input_files(str(csv_path))
    page.get_by_role("button", name="Upload and map columns").click()
    page.get_by_text("Preview of the first rows").wait_for()
    assert page.get_by_text(TAG_MESSAGE).count() == 1  # the preview says what the import will refuse
    page.get_by_label("Time zone for times written without one").fill("Mars/Olympus")
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("Unknown time zone").first.wait_for()
    assert page.get_by_label("Time zone for times written without one").input_value() == "Mars/Olympus"
    shot(page, f"41-import-time-zone-refused-{width}")
    with app.app_context():
        assert db.session.scalar(db.select(Import.status)) == "mapping"  # nothing saved, nothing started
        assert db.session.scalar(db.select(db.func.count(Entry.id))) == 0
        db.session.remove()
