"""The clause picker in a real browser: the placeholder's own words map the clause; the list searches platform,
policy, heading and summary with the post's platform first and is driven by the keyboard; a refusal keeps the
typed rationale, shows the error next to the field and opens the page at it."""

import re

import pytest
from sqlalchemy import select

from reportkit.extensions import db
from reportkit.models import Clause, User, Violation
from reportkit.services.cases import create_case
from reportkit.services.entries import create_entry

from ..conftest import PASSWORD

pytestmark = pytest.mark.e2e

RATIONALE = "Threatens to kill a named journalist: «تو را می‌کشیم» (we will kill you)."


def setup(app) -> tuple[int, int]:
    with app.app_context():
        user = User(email="rana@example.org", name="Rana")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        case = create_case(user, "Threats against journalists", "A. Leader (fictional)",
                           accounts=[{"platform": "x", "handle": "leader_en"}])
        entry = create_entry(user, case, "https://x.com/leader_en/status/1453347171011694596", {})
        ids = case.id, entry.id
        db.session.remove()
    return ids


def login(page, base):
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill("rana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Your cases").wait_for()


def mapped(app, entry_id) -> list[str]:
    with app.app_context():
        keys = db.session.scalars(select(Clause.key).join(Violation).where(Violation.entry_id == entry_id)).all()
        db.session.remove()
    return sorted(keys)


def test_clause_picker(live_server, browser, shot):
    base, app = live_server
    _case_id, entry_id = setup(app)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base)
    page.goto(f"{base}/entries/{entry_id}")
    field = page.get_by_role("combobox", name="Policy clause")
    assert field.get_attribute("placeholder") == "e.g. violent threats"

    # 1. A refusal: several X clauses have the word "violent". The page comes back at the form, the rationale kept.
    field.fill("violent")
    page.get_by_label("Rationale").fill(RATIONALE)
    page.get_by_role("button", name="Map clause").click()
    error = page.locator("#clause-error")
    error.wait_for()
    assert re.search(r"fits \d+ clauses", error.inner_text()) and "X › Violent Content › Violent Threats" in \
        error.inner_text()
    assert page.url.endswith(f"/entries/{entry_id}/violations#violations")
    assert page.get_by_label("Rationale").input_value() == RATIONALE
    assert page.evaluate("document.activeElement.id") == "clause"
    assert "clause-error" in field.get_attribute("aria-describedby")
    box, height = error.bounding_box(), page.viewport_size["height"]
    assert 0 <= box["y"] and box["y"] + box["height"] <= height, box  # in view without scrolling
    shot(page, "ux-clause-refused-1280")

    # 2. The list: words across platform, policy, heading and summary; the post's platform first; keyboard.
    field.fill("")
    field.press_sequentially("violent threats")
    listbox = page.get_by_role("listbox", name="Matching clauses")
    listbox.wait_for()
    options = listbox.get_by_role("option")
    assert options.count() >= 1
    assert options.first.inner_text().startswith("X › Violent Content › Violent Threats")
    texts = options.all_inner_texts()
    assert all(t.startswith(("X ›", "EU Digital Services Act")) for t in texts), texts
    field.fill("")
    field.press_sequentially("caste")  # a word of summaries only, not of any heading
    options.first.wait_for()
    assert any("Dehumanization" in t for t in options.all_inner_texts())
    shot(page, "ux-clause-list-1280")
    field.press("ArrowDown")
    assert field.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    field.press("Enter")
    assert listbox.is_hidden() and field.input_value().startswith("x/")
    chosen = field.input_value()
    page.get_by_role("button", name="Map clause").click()
    page.get_by_text("Clause mapped").wait_for()
    assert mapped(app, entry_id) == [chosen]

    # 3. The placeholder's own words, typed and sent without choosing from the list.
    field = page.get_by_role("combobox", name="Policy clause")
    field.fill("violent threats")
    field.press("Escape")
    page.get_by_label("Rationale").fill(RATIONALE)
    page.get_by_role("button", name="Map clause").click()
    page.get_by_text("Clause mapped").wait_for()
    assert "x/violent_content/violent_threats" in mapped(app, entry_id)
    page.close()


def test_clause_picker_phone(live_server, browser, shot):
    base, app = live_server
    _case_id, entry_id = setup(app)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    login(page, base)
    page.goto(f"{base}/entries/{entry_id}#violations")
    field = page.get_by_role("combobox", name="Policy clause")
    field.press_sequentially("violent threats")
    page.get_by_role("listbox", name="Matching clauses").get_by_role("option").first.tap()
    assert field.input_value() == "x/violent_content/violent_threats"
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    shot(page, "ux-clause-chosen-390")
    reason = page.get_by_label("Why reject (required)")
    assert reason.is_hidden()  # a fresh draft shows no empty reason box
    page.get_by_text("Reject…").tap()
    assert reason.is_visible()
    shot(page, "ux-reject-open-390")
    context.close()
