"""The language of a post's text is guessed offline (Lingua) and prefilled: on create and import when empty,
in the edit form, and as the person types (a JSON endpoint). A person's value always wins."""

import re

import pytest
from sqlalchemy import select

from reportkit.extensions import db
from reportkit.models import Entry, Import
from reportkit.services.intake import import_rows, read_table
from reportkit.services.language import guess_language

PERSIAN = "خبرنگاران خائن را یکی‌یکی پیدا می‌کنیم و سزایشان را می‌دهیم."
PERSIAN_2 = "این حشرات رسانه‌ای باید از شهرهای ما پاک شوند."
ARABIC = "سنسحق هؤلاء الخونة ولن يرحمهم أحد."
ARABIC_2 = "إلى أنصارنا: اذهبوا إلى مكاتبهم وعلّموهم درساً لن ينسوه."
HEBREW = "אנחנו נמצא את העיתונאים הבוגדים אחד אחד ונעניש אותם."
ENGLISH = "Journalists who spread foreign lies will be hunted down. We know where they live."


@pytest.mark.parametrize("text, expected", [
    (PERSIAN, "fa"), (PERSIAN_2, "fa"), ("مرگ بر خبرنگاران مزدور. روزشان نزدیک است.", "fa"),
    (ARABIC, "ar"), (ARABIC_2, "ar"), (HEBREW, "he"), (ENGLISH, "en"),
    ("Мы найдём всех журналистов-предателей.", "ru"),
    (f"{PERSIAN} https://t.me/leader_fa/7 @leader_en #CleanTheNation", "fa"),  # links and handles are not words
])
def test_guesses_the_language_of_a_sentence(text, expected):
    assert guess_language(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "کتاب", "ok", "12345 !!! 678", "https://x.com/a/status/1", None])
def test_no_guess_when_the_text_says_too_little(text):
    assert guess_language(text) == ""


def test_create_prefills_an_empty_language_and_keeps_a_typed_one(app, make_user, make_case, make_entry):
    user = make_user()
    case = make_case(user, accounts=[{"platform": "telegram", "handle": "leader_fa"}])
    guessed = make_entry(case, user, url="https://t.me/leader_fa/1", text=PERSIAN)
    typed = make_entry(case, user, url="https://t.me/leader_fa/2", text=PERSIAN, language="ar")  # wrong, but theirs
    silent = make_entry(case, user, url="https://t.me/leader_fa/3")
    assert (guessed.language, typed.language, silent.language) == ("fa", "ar", "")


def test_an_import_without_a_language_column_gets_one(app, make_user, make_case):
    user = make_user()
    case = make_case(user, accounts=[{"platform": "telegram", "handle": "leader_fa"}])
    text = f"url,text\nhttps://t.me/leader_fa/1,{PERSIAN}\nhttps://t.me/leader_fa/2,{ARABIC}\nhttps://t.me/leader_fa/3,\n"
    headers, rows = read_table(text.encode())
    job = Import(case_id=case.id, kind="csv", mapping={"url": "url", "text": "text"}, created_by_id=user.id)
    import_rows(user, case, job, headers, rows)
    got = dict(db.session.execute(select(Entry.post_id, Entry.language).where(Entry.case_id == case.id)).all())
    assert got == {"1": "fa", "2": "ar", "3": ""}


def test_the_edit_form_shows_the_guess(app, client, login, make_user, make_case, make_entry):
    user = make_user()
    case = make_case(user, accounts=[{"platform": "telegram", "handle": "leader_fa"}])
    entry = make_entry(case, user, url="https://t.me/leader_fa/1", text=HEBREW, language="he")
    entry.language = ""  # an entry from before the guess (or cleared): the form proposes it
    db.session.commit()
    login(client, user)
    page = client.get(f"/entries/{entry.id}/edit").data.decode()
    assert re.search(r'<input[^>]*id="language"[^>]*value="he"', page) or \
        re.search(r'<input[^>]*value="he"[^>]*id="language"', page), page[page.find('id="language"') - 300:][:600]
    assert "Guessed from the text" in page
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).language == ""  # shown, not saved until the person saves


def test_the_json_guess_as_the_person_types(app, client, login, make_user):
    assert client.post("/entries/language", data={"text": PERSIAN}).status_code in (302, 401)  # signed in only
    login(client, make_user())
    assert client.post("/entries/language", data={"text": PERSIAN}).get_json() == {"language": "fa"}
    assert client.post("/entries/language", data={"text": ARABIC}).get_json() == {"language": "ar"}
    assert client.post("/entries/language", data={"text": "x" * 200_000}).get_json() == {"language": ""}
    assert client.post("/entries/language", data={}).get_json() == {"language": ""}


def test_the_json_guess_needs_the_csrf_token(make_app, make_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = make_user()
        client = app.test_client()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                          client.get("/auth/login").data.decode()).group(1)
        client.post("/auth/login", data={"email": user.email, "password": "correct horse battery", "csrf_token": token})
        assert client.post("/entries/language", data={"text": PERSIAN}).status_code == 400
        assert client.post("/entries/language", data={"text": PERSIAN, "csrf_token": token}).get_json() == \
            {"language": "fa"}
