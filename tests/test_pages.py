"""Forms and pages: happy paths, their errors, and hostile input shown escaped."""

import io

import pytest
from sqlalchemy import select

from reportkit.extensions import db
from reportkit.models import Entry, User

from .conftest import PASSWORD, png_bytes

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def owner(make_user):
    return make_user("owner@example.org", admin=True)


@pytest.fixture
def logged_in(client, login, owner):
    return login(client, owner)


def test_register_login_logout(client):
    resp = client.post("/auth/register", data={"name": "Rana", "email": "Rana@Example.org",
                                               "password": PASSWORD, "confirm": PASSWORD})
    assert resp.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "rana@example.org"))
    assert user.password_hash.startswith("scrypt:") and user.check_password(PASSWORD)
    assert resp.headers["Location"] == "/auth/login"  # the same answer as for a registered address (test_auth)
    assert client.post("/auth/login", data={"email": "rana@example.org", "password": PASSWORD}).status_code == 302
    assert client.get("/cases/").status_code == 200
    client.post("/auth/logout")
    assert client.get("/cases/").status_code == 302


@pytest.mark.parametrize(("data", "message"), [
    ({"email": "bad", "password": PASSWORD, "confirm": PASSWORD}, b"Invalid email"),
    ({"email": "a@example.org", "password": "short", "confirm": "short"}, b"at least 12"),
    ({"email": "a@example.org", "password": PASSWORD, "confirm": "other one!!"}, b"The passwords differ"),
])
def test_register_errors(client, owner, data, message):
    resp = client.post("/auth/register", data=data)
    assert resp.status_code == 200 and message in resp.data


def test_registration_can_be_closed(make_app):
    app = make_app(REGISTRATION_OPEN=False)
    assert app.test_client().get("/auth/register").status_code == 404


def test_wrong_password_and_open_redirect(client, owner):
    resp = client.post("/auth/login", data={"email": owner.email, "password": "wrong password"})
    assert resp.status_code == 200 and b"Wrong email or password" in resp.data
    resp = client.post("/auth/login?next=//evil.example/x", data={"email": owner.email, "password": PASSWORD})
    assert resp.headers["Location"] == "/cases/"


def test_login_is_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [client.post("/auth/login", data={"email": "x@example.org", "password": "nope"}).status_code
             for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]


def test_csrf_is_required_on_forms(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    resp = client.post("/auth/register", data={"email": "a@example.org", "password": PASSWORD,
                                               "confirm": PASSWORD})
    assert resp.status_code == 400 and b"CSRF" in resp.data


def test_create_case_with_two_accounts(logged_in):
    resp = logged_in.post("/cases/new", data={
        "title": "Case", "subject": "Subject", "summary": "**bold** <script>x</script>",
        "accounts-0-platform": "x", "accounts-0-handle": "@leader_en",
        "accounts-1-platform": "telegram", "accounts-1-handle": "leader_fa", "accounts-1-display_name": "رهبر"})
    assert resp.status_code == 302
    page = logged_in.get(resp.headers["Location"]).data
    assert b"X / Twitter @leader_en" in page and b"Telegram @leader_fa" in page
    assert b"<strong>bold</strong>" in page and b"<script>x</script>" not in page
    assert b"No entries yet" in page


def test_case_needs_an_account(logged_in):
    resp = logged_in.post("/cases/new", data={"title": "Case", "subject": "S"})
    assert b"Add at least one account" in resp.data


def _case(logged_in) -> str:
    resp = logged_in.post("/cases/new", data={"title": "Case", "subject": "S", "accounts-0-platform": "x",
                                              "accounts-0-handle": "leader_en"})
    return resp.headers["Location"].rsplit("/", 1)[-1]


def test_add_entry_by_url_then_duplicate_links_to_it(logged_in):
    case_id = _case(logged_in)
    resp = logged_in.post(f"/entries/new/{case_id}", data={
        "url": "https://twitter.com/leader_en/status/1453347171011694596?s=20", "account_id": "0",
        "text": "متن فارسی", "language": "fa"})
    assert resp.status_code == 302
    entry_page = logged_in.get(resp.headers["Location"]).data.decode()
    assert "https://x.com/leader_en/status/1453347171011694596" in entry_page
    assert "2021-10-27 13:05:42 UTC" in entry_page and "derived from the id" in entry_page
    assert "<title>Entry #1 · Case · reportkit</title>" in entry_page and entry_page.count('id="history"') == 1
    assert 'dir="auto" lang="fa"' in entry_page
    dup = logged_in.post(f"/entries/new/{case_id}", data={
        "url": "https://vxtwitter.com/leader_en/status/1453347171011694596/photo/1", "account_id": "0"})
    assert dup.status_code == 200 and b"already in the case as entry #1" in dup.data
    entry_id = db.session.scalar(select(Entry.id))
    assert f'href="/entries/{entry_id}"'.encode() in dup.data


@pytest.mark.parametrize(("url", "message"), [
    ("javascript:alert(1)", b"Only http and https"),
    ("file:///etc/passwd", b"Only http and https"),
    ("https://a:b@example.org/", b"user name or password"),
    ("", b"This field is required"),
])
def test_entry_url_errors(logged_in, url, message):
    case_id = _case(logged_in)
    resp = logged_in.post(f"/entries/new/{case_id}", data={"url": url, "account_id": "0"})
    assert resp.status_code == 200 and message in resp.data


def test_hostile_html_in_every_text_field_is_escaped(logged_in):
    case_id = _case(logged_in)
    fields = {name: XSS for name in ("text", "translation", "translator", "notes", "captured_by", "logged_in_as",
                                     "network_route", "legal_country", "legal_law", "legal_article")}
    resp = logged_in.post(f"/entries/new/{case_id}", data={"url": "https://t.me/chan/5", "account_id": "0",
                                                         "tags": XSS, **fields})
    assert resp.status_code == 302
    entry_url = resp.headers["Location"]
    entry_id = entry_url.rsplit("/", 1)[-1]
    logged_in.post(f"/entries/{entry_id}/violations",
                   data={"clause": "x/violent_content/violent_threats", "rationale": XSS})
    for url in (entry_url, f"/cases/{case_id}", f"/entries/{entry_id}/edit"):
        html = logged_in.get(url).data.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;" in html, url


def test_one_megabyte_of_text_gets_a_form_error(logged_in):
    case_id = _case(logged_in)
    resp = logged_in.post(f"/entries/new/{case_id}", data={"url": "https://t.me/chan/6", "account_id": "0",
                                                         "text": "ش" * 1_000_000})
    assert resp.status_code == 200 and b"longer than 50000" in resp.data
    assert db.session.scalar(select(Entry.id)) is None


def test_upload_through_page_and_download_html_as_attachment(logged_in):
    case_id = _case(logged_in)
    entry_url = logged_in.post(f"/entries/new/{case_id}", data={"url": "https://t.me/chan/7",
                                                               "account_id": "0"}).headers["Location"]
    entry_id = entry_url.rsplit("/", 1)[-1]
    resp = logged_in.post(f"/evidence/upload/{entry_id}", data={"files": [
        (io.BytesIO(png_bytes()), "shot.png"),
        (io.BytesIO(b"<html><script>alert(1)</script></html>"), "page.html"),
        (io.BytesIO(b"\x7fELF\x02\x01"), "tool.png")]}, follow_redirects=True)
    html = resp.data.decode()
    assert "Stored shot.png" in html and "Stored page.html" in html
    assert "tool.png: This type of file is not accepted" in html
    page_link = html.split("Download original")[1]  # the second file's row
    ev_id = [part for part in html.split('href="/evidence/') if part.split("/")[1].startswith("original")][1]
    download = logged_in.get(f"/evidence/{ev_id.split('/')[0]}/original")
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    download.close()
    assert page_link


def test_upload_over_limit_is_a_clear_413_page(make_app, make_user, login):
    app = make_app(MAX_CONTENT_LENGTH=2048)
    with app.app_context():
        user = make_user()
        client = login(app.test_client(), user)
        case_id = _case(client)
        entry_id = client.post(f"/entries/new/{case_id}", data={"url": "https://t.me/chan/8", "account_id": "0"}
                               ).headers["Location"].rsplit("/", 1)[-1]
        resp = client.post(f"/evidence/upload/{entry_id}", data={"files": (io.BytesIO(b"x" * 10_000), "big.png")})
        assert resp.status_code == 413 and b"larger than the" in resp.data


def test_members_add_and_last_owner_protected(logged_in, make_user, owner):
    make_user("ed@example.org")
    case_id = _case(logged_in)
    resp = logged_in.post(f"/cases/{case_id}/members", data={"email": "ED@example.org", "role": "editor"},
                          follow_redirects=True)
    assert b"Invited ed@example.org as editor" in resp.data  # they join when they accept (test_invitations)
    resp = logged_in.post(f"/cases/{case_id}/members", data={"email": "nobody@example.org", "role": "editor"},
                          follow_redirects=True)
    assert b"Invited nobody@example.org as editor" in resp.data and b"No user has that email" not in resp.data
    from reportkit.models import Membership
    own = db.session.scalar(select(Membership).where(Membership.user_id == owner.id))
    resp = logged_in.post(f"/cases/{case_id}/members/{own.id}", data={"role": "viewer"}, follow_redirects=True)
    assert b"at least one owner" in resp.data


def test_case_filters_and_pagination(make_app, make_user, login):
    app = make_app(ENTRIES_PER_PAGE=3)
    with app.app_context():
        client = login(app.test_client(), make_user())
        case_id = _case(client)
        for n in range(1, 8):
            client.post(f"/entries/new/{case_id}", data={"url": f"https://t.me/chan/{n}", "account_id": "0",
                                                       "text": "needle" if n == 4 else "hay", "tags": f"t{n % 2}"})
        page = client.get(f"/cases/{case_id}").data.decode()
        assert "7 entries" in page and 'rel="next"' in page
        page2 = client.get(f"/cases/{case_id}?page=3").data.decode()
        assert "#1<" in page2 and "#7<" not in page2
        found = client.get(f"/cases/{case_id}?q=needle").data.decode()
        assert "1 entry match" in found and "#4<" in found
        assert "4 entries match" in client.get(f"/cases/{case_id}?tag=t1").data.decode()
        assert "No entry matches" in client.get(f"/cases/{case_id}?q=zzz").data.decode()
        assert client.get(f"/cases/{case_id}?date_from=garbage&sort=evil").status_code == 200


def test_map_clause_and_clause_counts(logged_in):
    case_id = _case(logged_in)
    entry_id = logged_in.post(f"/entries/new/{case_id}",
                              data={"url": "https://x.com/chan/status/1790000000000000009", "account_id": "0"}
                              ).headers["Location"].rsplit("/", 1)[-1]
    resp = logged_in.post(f"/entries/{entry_id}/violations", data={
        "clause": "x/violent_content/violent_threats", "rationale": "Threatens to kill a named journalist."},
        follow_redirects=True)
    assert b"Clause mapped" in resp.data and b"Violent Threats" in resp.data
    again = logged_in.post(f"/entries/{entry_id}/violations", data={
        "clause": "x/violent_content/violent_threats", "rationale": "again"}, follow_redirects=True)
    assert b"already mapped" in again.data
    unknown = logged_in.post(f"/entries/{entry_id}/violations", data={"clause": "x/none", "rationale": "r"},
                             follow_redirects=True)
    assert b"no policy clause" in unknown.data
    case_page = logged_in.get(f"/cases/{case_id}").data.decode()
    assert "X › Violent Content › Violent Threats" in case_page and "<meter" in case_page


def test_custom_clause_admin_only(logged_in, client, login, make_user):
    resp = logged_in.post("/policies/clauses", data={
        "platform_key": "x", "policy_key": "violent_content", "clause_key": "new_rule", "heading": "New rule"},
        follow_redirects=True)
    assert b"x/violent_content/new_rule added" in resp.data
    other = login(client.application.test_client(), make_user("plain@example.org"))
    assert other.post("/policies/clauses", data={"platform_key": "x"}).status_code == 403
    assert b"new_rule" in other.get("/policies/?q=new rule").data


def test_edit_form_round_trip_changes_nothing(logged_in):
    """Saving the edit form untouched must not turn tags into text, nor a derived time into a typed one."""
    from reportkit.models import Event

    case_id = _case(logged_in)
    entry_url = logged_in.post(f"/entries/new/{case_id}", data={
        "url": "https://x.com/leader_en/status/1453347171011694596", "account_id": "0", "tags": "a, b",
        "text": "t"}).headers["Location"]
    entry_id = entry_url.rsplit("/", 1)[-1]
    form = logged_in.get(f"/entries/{entry_id}/edit").data.decode()
    assert 'value="a, b"' in form and 'value="2021-10-27T13:05"' in form
    resp = logged_in.post(f"/entries/{entry_id}/edit", data={
        "account_id": "1", "posted_at": "2021-10-27T13:05", "text": "t", "tags": "a, b"})
    assert resp.status_code == 302
    entry = db.session.get(Entry, int(entry_id))
    db.session.refresh(entry)
    assert entry.tag_names == ["a", "b"] and entry.posted_at_source == "id"
    assert entry.posted_at.microsecond == 110000
    assert db.session.scalar(select(Event).where(Event.action == "entry.edited")) is None
