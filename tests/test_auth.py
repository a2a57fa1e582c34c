"""Accounts as an attacker tries them (issue 13): a copied cookie after log out, a stolen remember-me token,
a session on a lost laptop, a guessed password, and someone finding out which emails have accounts."""

import re
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select, update

from reportkit.auth import accounts
from reportkit.extensions import db
from reportkit.models import PasswordReset, SecurityEvent, User, UserSession
from reportkit.models._common import utcnow
from reportkit.models.users import hash_token

from .conftest import PASSWORD

NEW_PASSWORD = "violet lantern across rivers"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _fresh_requests(app):
    """The `app` fixture holds an app context, which Flask then shares with every request of a test, and with
    it `g`, where Flask-Login caches the user: each request would see the user the previous one loaded. A real
    server gives each request a fresh `g`; so do we, or a dead session would look alive (or the reverse)."""
    @app.teardown_request
    def _forget(_exc):
        for name in ("_login_user", "user_session", "remember_cookie"):
            g.pop(name, None)
    return app


@pytest.fixture(autouse=True)
def fresh_requests(app):
    return _fresh_requests(app)


@pytest.fixture
def ana(make_user):
    return make_user("ana@example.org")


def _login(client, email="ana@example.org", password=PASSWORD, **extra):
    return client.post("/auth/login", data={"email": email, "password": password, **extra})


def _from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _cookie(client, name):
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def _is_login_page(resp):
    return resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def _actions(user):
    return [e.action for e in db.session.scalars(select(SecurityEvent).where(SecurityEvent.user_id == user.id)
                                                  .order_by(SecurityEvent.id))]


def test_old_session_cookie_after_log_out_gets_the_log_in_page(app, ana):
    client = app.test_client()
    assert _login(client).status_code == 302
    stolen = _cookie(client, "session")
    assert client.get("/cases/").status_code == 200
    client.post("/auth/logout")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert _is_login_page(thief.get("/cases/"))
    client.set_cookie("session", stolen)
    assert _is_login_page(client.get("/cases/"))
    assert _actions(ana) == ["login", "logout"]


def test_remember_token_is_stored_hashed_rotates_on_use_and_dies_at_log_out(app, ana):
    first = app.test_client()
    assert _login(first, remember="y").status_code == 302
    token = _cookie(first, "remember_session")
    assert token and db.session.scalar(select(UserSession.remember_hash)) == hash_token(token)
    assert _cookie(first, "remember_token") is None  # Flask-Login's fixed-value cookie is not used

    browser = app.test_client()  # the same browser after a restart: no session cookie, the remember cookie
    browser.set_cookie("remember_session", token)
    assert browser.get("/cases/").status_code == 200
    rotated = _cookie(browser, "remember_session")
    assert rotated and rotated != token
    assert browser.get("/cases/").status_code == 200  # and the session it started holds

    replay = app.test_client()  # a copy of the old token works no more
    replay.set_cookie("remember_session", token)
    assert _is_login_page(replay.get("/cases/"))

    browser.post("/auth/logout")
    after = app.test_client()
    after.set_cookie("remember_session", rotated)
    assert _is_login_page(after.get("/cases/"))
    assert db.session.scalar(select(UserSession.remember_hash)) is None
    assert _actions(ana) == ["login", "login_remembered", "logout"]


def test_sign_out_everywhere(app, ana):
    laptop, phone = app.test_client(), app.test_client()
    _login(laptop, remember="y")
    _login(phone)
    remembered = _cookie(laptop, "remember_session")
    assert _is_login_page(phone.post("/auth/sessions/end-all"))
    assert _is_login_page(laptop.get("/cases/")) and _is_login_page(phone.get("/cases/"))
    fresh = app.test_client()
    fresh.set_cookie("remember_session", remembered)
    assert _is_login_page(fresh.get("/cases/"))
    assert "signed_out_everywhere" in _actions(ana)


def test_settings_list_sessions_and_end_another_one(app, ana):
    laptop = app.test_client()
    laptop.environ_base["HTTP_USER_AGENT"] = FIREFOX
    phone = app.test_client()
    _login(laptop)
    _login(phone)
    page = phone.get("/auth/settings").get_data(as_text=True)
    assert "Firefox on Linux" in page and "(this one)" in page
    assert "127.0.0.1" not in page  # addresses are not kept unless the operator says so
    laptop_session = db.session.scalar(select(UserSession.id).where(UserSession.device == "Firefox on Linux"))
    assert phone.post(f"/auth/sessions/{laptop_session}/end").status_code == 302
    assert _is_login_page(laptop.get("/cases/"))
    assert phone.get("/cases/").status_code == 200
    log = phone.get("/auth/settings").get_data(as_text=True)
    assert "Ended a session" in log and "Logged in" in log
    assert db.session.scalar(select(SecurityEvent.address).limit(1)) is None


def test_someone_else_cannot_end_my_session(app, ana, make_user):
    make_user("bo@example.org")
    mine, theirs = app.test_client(), app.test_client()
    _login(mine)
    _login(theirs, email="bo@example.org")
    my_session = db.session.scalar(select(UserSession.id).where(UserSession.user_id == ana.id))
    assert theirs.post(f"/auth/sessions/{my_session}/end").status_code == 404
    assert mine.get("/cases/").status_code == 200


def test_addresses_kept_only_when_the_operator_enables_it(make_app, make_user):
    app = _fresh_requests(make_app(SESSION_KEEP_ADDRESSES="yes"))
    with app.app_context():
        make_user("ana@example.org")
        client = app.test_client()
        _login(client)
        assert "127.0.0.1" in client.get("/auth/settings").get_data(as_text=True)
        assert db.session.scalar(select(SecurityEvent.address)) == "127.0.0.1"
        db.session.remove()
        db.engine.dispose()


def test_password_change_ends_other_sessions_and_can_revoke_tokens(app, ana, token_for):
    here, elsewhere = app.test_client(), app.test_client()
    _login(here)
    _login(elsewhere, remember="y")
    headers = token_for(ana)
    wrong = here.post("/auth/password", data={"current": "not my password at all", "password": NEW_PASSWORD,
                                              "confirm": NEW_PASSWORD})
    assert wrong.status_code == 422 and b"not your current password" in wrong.data
    assert elsewhere.get("/cases/").status_code == 200

    resp = here.post("/auth/password", data={"current": PASSWORD, "password": NEW_PASSWORD,
                                             "confirm": NEW_PASSWORD, "revoke_tokens": "y"})
    assert resp.status_code == 302
    assert here.get("/cases/").status_code == 200
    assert _is_login_page(elsewhere.get("/cases/"))
    assert here.get("/api/v1/cases", headers=headers).status_code == 401
    db.session.expire_all()
    assert ana.check_password(NEW_PASSWORD)
    assert _actions(ana)[-2:] == ["password_changed", "tokens_revoked"]


def test_password_change_keeps_tokens_unless_asked(app, ana, token_for):
    client = app.test_client()
    _login(client)
    headers = token_for(ana)
    client.post("/auth/password", data={"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert client.get("/api/v1/cases", headers=headers).status_code == 200


def test_new_password_rules(app, ana):
    client = app.test_client()
    _login(client)
    for bad, message in (("aaaaaaaaaaaa", b"most common"), ("password1234", b"most common"),
                         ("Password2024!", b"most common"), ("123456789012", b"most common"),
                         ("ana@example.org1", b"built from your email"), ("short pass", b"at least 12")):
        resp = client.post("/auth/password", data={"current": PASSWORD, "password": bad, "confirm": bad})
        assert resp.status_code == 422 and message in resp.data, bad


def _reset_link(runner, email="ana@example.org"):
    result = runner.invoke(args=["reset-password", email])
    assert result.exit_code == 0, result.output
    return re.search(r"/auth/reset/[\w-]+", result.output).group(0)


def test_reset_link_works_once_and_ends_every_session(app, ana, runner):
    signed_in = app.test_client()
    _login(signed_in, remember="y")
    link = _reset_link(runner)
    assert db.session.scalar(select(PasswordReset.token_hash)) == hash_token(link.rsplit("/", 1)[1])
    client = app.test_client()
    assert client.get(link).status_code == 200
    refused = client.post(link, data={"password": "password1234", "confirm": "password1234"})
    assert refused.status_code == 200 and b"most common" in refused.data
    assert _is_login_page(client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}))
    assert _is_login_page(signed_in.get("/cases/"))
    assert client.post(link, data={"password": "another long passphrase", "confirm": "another long passphrase"}
                       ).status_code == 404
    assert _login(app.test_client(), password=PASSWORD).status_code == 200
    assert _login(app.test_client(), password=NEW_PASSWORD).status_code == 302
    assert "password_reset_link" in _actions(ana) and "password_reset" in _actions(ana)


def test_reset_link_expires(app, ana, runner):
    link = _reset_link(runner)
    db.session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    client = app.test_client()
    assert client.get(link).status_code == 404
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404
    assert _login(app.test_client()).status_code == 302  # the old password still works


def test_reset_for_an_unknown_email_is_a_command_line_error(runner):
    result = runner.invoke(args=["reset-password", "nobody@example.org"])
    assert result.exit_code != 0 and "No user" in result.output


def test_log_in_answers_the_same_and_checks_one_hash_for_unknown_emails(app, ana, monkeypatch):
    checked = []
    real = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password", lambda h, p: checked.append(h) or real(h, p))
    known = _login(app.test_client(), password="wrong password here")
    unknown = _login(app.test_client(), email="nobody@example.org", password="wrong password here")
    assert len(checked) == 2 and checked[0] == ana.password_hash and checked[1].startswith("scrypt:")
    assert known.status_code == unknown.status_code == 200
    assert known.data.replace(b"ana@", b"?@") == unknown.data.replace(b"nobody@", b"?@")
    assert b"Wrong email or password" in known.data


def test_register_answers_the_same_whether_or_not_the_email_has_an_account(app, ana, monkeypatch):
    hashed = []
    real = accounts.hash_password
    monkeypatch.setattr(accounts, "hash_password", lambda p: hashed.append(p) or real(p))
    answers = []
    for email in ("ana@example.org", "new@example.org"):
        client = app.test_client()
        resp = client.post("/auth/register", data={"email": email, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        answers.append((resp.status_code, resp.headers.get("Location"), client.get(resp.headers["Location"]).data))
    assert answers[0] == answers[1] and answers[0][1] == "/auth/login"
    assert b"If this address could be registered" in answers[0][2]
    assert len(hashed) == 2
    db.session.expire_all()
    assert ana.check_password(PASSWORD)  # the existing account is untouched
    assert _login(app.test_client(), email="new@example.org", password=NEW_PASSWORD).status_code == 302


def test_register_refuses_weak_passwords(app):
    for bad in ("aaaaaaaaaaaa", "password1234", "rana@example.org", "rana.example.org"):
        resp = app.test_client().post("/auth/register", data={"email": "rana@example.org", "password": bad,
                                                              "confirm": bad})
        assert resp.status_code == 200 and b"Create an account" in resp.data, bad
    assert db.session.scalar(select(User).where(User.email == "rana@example.org")) is None


def test_log_in_is_limited_per_account_from_any_address(make_app, make_user):
    app = _fresh_requests(make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="100 per minute",
                   ACCOUNT_LOGIN_RATE_LIMIT="3 per minute"))
    with app.app_context():
        make_user("target@example.org")
        make_user("other@example.org")
        codes = []
        for n in range(4):  # each attempt from another address
            client = _from(app, f"203.0.113.{n}")
            codes.append(_login(client, email="target@example.org", password=f"guess number {n}").status_code)
        assert codes == [200, 200, 200, 429]
        blocked = _login(_from(app, "198.51.100.7"), email="target@example.org")
        assert blocked.status_code == 429 and b"Too many failed attempts for this account" in blocked.data
        assert b"Try again in 1 minute" in blocked.data
        assert _login(app.test_client(), email="other@example.org").status_code == 302  # others are not blocked
        unknown = [_login(app.test_client(), email="nobody@example.org", password="x").status_code for _ in range(4)]
        assert unknown == [200, 200, 200, 429]  # an unknown email is limited alike: the limit tells nothing
        db.session.remove()
        db.engine.dispose()


def test_registration_is_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, REGISTER_RATE_LIMIT="2 per hour")
    client = app.test_client()
    codes = [client.post("/auth/register", data={"email": f"u{n}@example.org", "password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD}).status_code for n in range(3)]
    assert codes == [302, 302, 429]
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(("agent", "label"), [
    (FIREFOX, "Firefox on Linux"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 "
     "Safari/604.1", "Safari on iOS"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0",
     "Edge on Windows"),
    ("", "Unknown browser"),
])
def test_device_label(agent, label):
    assert accounts.device_label(agent) == label


def test_the_settings_page_has_each_section_once_and_a_plain_title(app, make_user, client, login):
    login(client, make_user())
    page = client.get("/auth/settings").data.decode()
    assert "<title>Settings" in page and "<title>Settings\n<section" not in page
    for section in ('id="change-password"', 'id="sessions"', 'id="security-log"'):
        assert page.count(section) == 1, section
