"""Two-factor sign-in as an attacker tries it (issue 13): a stolen password without the phone, a code seen over a
shoulder and typed again, guessing codes, a session left open used to switch the factor off or read new recovery
codes, a member without a factor opening a case that requires one, and an install that requires it of everyone."""

import io
import re
from datetime import timedelta

import pyotp
import pytest
from flask import g
from sqlalchemy import select

from reportkit.auth import twofactor
from reportkit.auth.accounts import Client
from reportkit.config import DEFAULTS, ConfigError, check_settings
from reportkit.extensions import db
from reportkit.models import Event, RecoveryCode, SecurityEvent, TwoFactor
from reportkit.models._common import utcnow
from reportkit.services import reviews
from reportkit.services.custody import verify_case
from reportkit.services.entries import add_violation
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore

from .conftest import PASSWORD, png_bytes

CLIENT = Client("pytest")


def _fresh_requests(app):
    """A fresh `g` per request, as on a real server (see tests/test_auth.py)."""
    @app.teardown_request
    def _forget(_exc):
        for name in ("_login_user", "user_session", "remember_cookie"):
            g.pop(name, None)
    return app


@pytest.fixture
def app(make_app):
    app = _fresh_requests(make_app())
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _login(client, email="ana@example.org", password=PASSWORD, **extra):
    return client.post("/auth/login", data={"email": email, "password": password, **extra})


def _code(secret, seconds_ago=0):
    return pyotp.TOTP(secret).at(utcnow() - timedelta(seconds=seconds_ago))


def _actions(user):
    return [e.action for e in db.session.scalars(select(SecurityEvent).where(SecurityEvent.user_id == user.id)
                                                  .order_by(SecurityEvent.id))]


def _enrolled(user) -> tuple[str, list[str]]:
    """Turn two-factor on directly, with the code of a minute ago, so the codes of now are still unused."""
    factor = twofactor.start_enrolment(user)
    then = utcnow() - timedelta(seconds=60)
    codes = twofactor.confirm_enrolment(user, pyotp.TOTP(factor.secret).at(then), CLIENT, now=then)
    assert codes is not None
    return factor.secret, codes


def _signed_in(client) -> bool:
    resp = client.get("/cases/")
    return resp.status_code == 200


@pytest.fixture
def ana(make_user):
    return make_user("ana@example.org")


def test_enrol_with_the_secret_shown_on_the_page(app, ana, login):
    client = login(app.test_client(), ana)
    settings = client.get("/auth/settings")
    assert b"Turn on two-factor" in settings.data and b"<strong>Off.</strong>" in settings.data
    page = client.get("/auth/two-factor/setup")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert len(secret) == 32
    assert "<svg" in html and 'class="segno"' in html  # the QR code is drawn here, inline
    assert not re.search(r'<img[^>]+src="https?:', html) and "chart.googleapis" not in html
    assert client.get("/auth/two-factor/setup").get_data(as_text=True).count(secret[:4]) >= 1  # same key on reload
    factor = db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == ana.id))
    assert factor.secret == secret and factor.confirmed_at is None and secret not in ana.password_hash

    # Not active until confirmed: a log-in still needs only the password.
    other = app.test_client()
    assert _login(other).headers["Location"].endswith("/cases/")

    wrong = client.post("/auth/two-factor/setup", data={"code": "000000" if _code(secret) != "000000" else "111111",
                                                        "current": PASSWORD})
    assert wrong.status_code == 422 and b"not the code the app shows now" in wrong.data
    bad_password = client.post("/auth/two-factor/setup", data={"code": _code(secret), "current": "not my password"})
    assert bad_password.status_code == 422 and b"This is not your password" in bad_password.data
    db.session.refresh(factor)
    assert factor.confirmed_at is None

    done = client.post("/auth/two-factor/setup", data={"code": _code(secret), "current": PASSWORD})
    assert done.status_code == 200
    codes = re.findall(r'<li><code class="token">([a-z2-9-]+)</code></li>', done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    db.session.refresh(factor)
    assert factor.confirmed_at is not None
    stored = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == ana.id)).all()
    assert len(stored) == 10 and len({r.salt for r in stored}) == 10
    assert not any(code.replace("-", "") in r.code_hash or code in r.code_hash for r in stored for code in codes)
    assert "two_factor_enabled" in _actions(ana)
    assert client.get("/auth/two-factor/setup").headers["Location"].endswith("/auth/settings")  # on already
    settings = client.get("/auth/settings").get_data(as_text=True)
    assert "<strong>On.</strong>" in settings and "10 recovery codes left" in settings
    assert "Turned on two-factor sign-in" in settings  # the security log says it


def test_log_in_asks_for_the_code_after_the_password(app, ana):
    secret, _codes = _enrolled(ana)
    client = app.test_client()
    resp = _login(client, remember="y")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/two-factor")
    assert client.get_cookie("remember_session") is None  # remember-me waits for the code
    assert not _signed_in(client)  # the password alone signs nobody in
    assert client.get("/auth/two-factor").status_code == 200
    done = client.post("/auth/two-factor", data={"code": _code(secret)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/cases/")
    assert client.get_cookie("remember_session") is not None
    assert _signed_in(client)
    assert client.get("/auth/two-factor").headers["Location"].endswith("/auth/login")  # the step is over
    # An unknown email and a wrong password still get the one answer.
    for email, password in (("nobody@example.org", PASSWORD), ("ana@example.org", "wrong password here")):
        resp = _login(app.test_client(), email=email, password=password)
        assert resp.status_code == 200 and b"Wrong email or password." in resp.data


def test_the_second_step_expires_and_keeps_next(app, ana):
    secret, codes = _enrolled(ana)
    client = app.test_client()
    resp = client.post("/auth/login?next=/auth/settings", data={"email": ana.email, "password": PASSWORD})
    assert resp.headers["Location"].endswith("/auth/two-factor")
    with client.session_transaction() as session:
        session["two_factor_pending"] = {**session["two_factor_pending"],
                                         "until": session["two_factor_pending"]["until"] - 3600}
    late = client.post("/auth/two-factor", data={"code": _code(secret)})
    assert late.status_code == 302 and late.headers["Location"].endswith("/auth/login")
    assert not _signed_in(client)
    client.post("/auth/login?next=/auth/settings", data={"email": ana.email, "password": PASSWORD})
    assert client.post("/auth/two-factor", data={"code": _code(secret)}).headers["Location"].endswith("/auth/settings")
    other = app.test_client()
    other.post("/auth/login?next=//evil.example/x", data={"email": ana.email, "password": PASSWORD})
    assert other.post("/auth/two-factor", data={"code": codes[0]}).headers["Location"].endswith("/cases/")
    with other.session_transaction() as session:
        assert "two_factor_pending" not in session


def test_wrong_codes_are_refused_and_count_against_the_account(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="100 per minute", ACCOUNT_LOGIN_RATE_LIMIT="3 per minute")
    with app.app_context():
        _fresh_requests(app)
        ana = make_user("ana@example.org")
        secret, _codes = _enrolled(ana)
        client = app.test_client()
        assert _login(client).status_code == 302
        right = _code(secret)
        wrong = [c for c in ("123456", "654321", "111111", "222222") if c not in {right, _code(secret, 30),
                                                                                   _code(secret, -30)}]
        statuses = []
        for guess in wrong[:3]:
            resp = client.post("/auth/two-factor", data={"code": guess})
            statuses.append(resp.status_code)
            assert b"Wrong code" in resp.data
        blocked = client.post("/auth/two-factor", data={"code": _code(secret)})  # even the right code waits now
        assert statuses == [200, 200, 200] and blocked.status_code == 429
        assert b"Too many failed attempts for this account" in blocked.data
        assert not _signed_in(client)
        assert _login(app.test_client()).status_code == 429  # the password page counts the same failures
        assert _actions(ana).count("two_factor_failed") == 3 and "login" not in _actions(ana)
        db.session.remove()
        db.engine.dispose()


def test_a_code_works_once_within_its_time_step(app, ana):
    secret, _codes = _enrolled(ana)
    first = app.test_client()
    _login(first)
    code = _code(secret)
    assert first.post("/auth/two-factor", data={"code": code}).status_code == 302
    second = app.test_client()  # someone who saw the code over a shoulder, with the password
    _login(second)
    replay = second.post("/auth/two-factor", data={"code": code})
    assert replay.status_code == 200 and b"Wrong code" in replay.data
    assert not _signed_in(second)
    assert _actions(ana)[-1] == "two_factor_failed"
    # An older code than the last one accepted is refused as well.
    assert twofactor.check_code(ana, _code(secret, 30), CLIENT) is None


def test_a_recovery_code_works_once(app, ana):
    _secret, codes = _enrolled(ana)
    client = app.test_client()
    _login(client)
    resp = client.post("/auth/two-factor", data={"code": codes[0]}, follow_redirects=True)
    assert resp.status_code == 200 and b"You used a recovery code; 9 left" in resp.data
    client.post("/auth/logout")
    again = app.test_client()
    _login(again)
    assert b"Wrong code" in again.post("/auth/two-factor", data={"code": codes[0]}).data
    assert not _signed_in(again)
    # Typed in capitals without dashes, another code works.
    assert again.post("/auth/two-factor", data={"code": codes[1].upper().replace("-", " ")}).status_code == 302
    assert twofactor.recovery_codes_left(ana) == 8
    assert _actions(ana).count("recovery_code_used") == 2


def test_turning_off_needs_the_password_and_a_code(app, ana, login):
    secret, codes = _enrolled(ana)
    client = app.test_client()
    _login(client)
    client.post("/auth/two-factor", data={"code": codes[0]})  # signed in with a recovery code
    no_code = client.post("/auth/two-factor/disable", data={"disable-current": PASSWORD, "disable-code": "123123"})
    assert no_code.status_code == 422 and b"Wrong code" in no_code.data
    no_password = client.post("/auth/two-factor/disable", data={"disable-current": "a session left open",
                                                               "disable-code": _code(secret)})
    assert no_password.status_code == 422 and b"This is not your password" in no_password.data
    assert twofactor.is_enabled(ana)
    done = client.post("/auth/two-factor/disable", data={"disable-current": PASSWORD, "disable-code": _code(secret)})
    assert done.status_code == 302
    assert not twofactor.is_enabled(ana)
    assert db.session.scalar(select(RecoveryCode.id).where(RecoveryCode.user_id == ana.id)) is None
    assert _actions(ana)[-1] == "two_factor_disabled"
    assert _login(app.test_client()).headers["Location"].endswith("/cases/")  # the password alone again


def test_new_recovery_codes_need_reauthentication_and_replace_the_old(app, ana):
    secret, old = _enrolled(ana)
    client = app.test_client()
    _login(client)
    client.post("/auth/two-factor", data={"code": old[0]})
    refused = client.post("/auth/two-factor/recovery-codes", data={"codes-current": PASSWORD, "codes-code": ""})
    assert refused.status_code == 422
    resp = client.post("/auth/two-factor/recovery-codes", data={"codes-current": PASSWORD, "codes-code": old[1]})
    assert resp.status_code == 200 and b"Your old recovery codes no longer work" in resp.data
    new = re.findall(r'<li><code class="token">([a-z2-9-]+)</code></li>', resp.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert twofactor.check_code(ana, old[2], CLIENT) is None
    assert twofactor.check_code(ana, new[0], CLIENT) == "recovery"
    assert "recovery_codes_created" in _actions(ana)


def _case_form(case, **changes):
    fields = {"title": case.title, "subject": case.subject, "summary": case.summary, "required_approvals": "1",
              "allow_new_accounts": "y"}
    return {**fields, **changes}


def test_a_case_that_requires_two_factor_shows_members_without_it_how(app, make_user, make_case, make_entry, login,
                                                                       token_for):
    owner, member, outsider = make_user("owner@example.org"), make_user("mina@example.org"), make_user("x@example.org")
    case = make_case(owner, members=[(member, "editor")])
    entry = make_entry(case, owner)
    owner_client = login(app.test_client(), owner)
    refused = owner_client.post(f"/cases/{case.id}/edit", data=_case_form(case, require_two_factor="y"))
    assert refused.status_code == 200 and b"Turn on two-factor sign-in for your own account first" in refused.data
    db.session.refresh(case)
    assert case.require_two_factor is False

    owner_secret, _ = _enrolled(owner)
    owner_client = app.test_client()
    _login(owner_client, email=owner.email)
    owner_client.post("/auth/two-factor", data={"code": _code(owner_secret)})
    saved = owner_client.post(f"/cases/{case.id}/edit", data=_case_form(case, require_two_factor="y"))
    assert saved.status_code == 302
    db.session.refresh(case)
    assert case.require_two_factor is True
    edited = db.session.scalars(select(Event).where(Event.case_id == case.id, Event.action == "case.edited")).all()
    assert [e.data for e in edited] == [{"require_two_factor": [False, True]}]  # in the custody log
    assert verify_case(case.id, EvidenceStore(app.config["EVIDENCE_DIR"])).ok  # and the replay knows it
    assert owner_client.get(f"/cases/{case.id}").status_code == 200

    client = login(app.test_client(), member)
    for path in (f"/cases/{case.id}", f"/entries/{entry.id}", f"/cases/{case.id}/edit"):
        page = client.get(path)
        assert page.status_code == 403, path
        assert b"Two-factor sign-in needed" in page.data and b"/auth/two-factor/setup?next=" in page.data
    headers = token_for(member)
    api = client.get(f"/api/v1/cases/{case.id}", headers=headers)
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "two_factor_required"
    assert client.get(f"/api/v1/entries/{entry.id}", headers=headers).status_code == 403
    # An outsider still learns nothing about the case.
    assert login(app.test_client(), outsider).get(f"/cases/{case.id}").status_code == 404
    assert app.test_client().get(f"/api/v1/cases/{case.id}", headers=token_for(outsider)).status_code == 404

    setup = client.get(f"/auth/two-factor/setup?next=/cases/{case.id}").get_data(as_text=True)
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', setup).group(1).replace(" ", "")
    done = client.post(f"/auth/two-factor/setup?next=/cases/{case.id}", data={"code": _code(secret),
                                                                             "current": PASSWORD})
    assert f'href="/cases/{case.id}"'.encode() in done.data  # "continue" leads back to the case
    assert client.get(f"/cases/{case.id}").status_code == 200
    assert client.get(f"/api/v1/cases/{case.id}", headers=headers).status_code == 200


def test_the_install_can_require_two_factor_of_everyone(make_app, make_user, token_for):
    app = make_app(REQUIRE_TWO_FACTOR=True)
    with app.app_context():
        _fresh_requests(app)
        ana = make_user("ana@example.org")
        headers = token_for(ana)
        client = app.test_client()
        assert _login(client).status_code == 302
        for path in ("/cases/", "/auth/settings", "/policies/", "/no/such/page"):
            resp = client.get(path)
            assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/two-factor/setup"), path
        static = client.get("/static/app.css")
        assert static.status_code == 200
        static.close()
        page = client.get("/auth/two-factor/setup")
        assert page.status_code == 200 and b"asks everyone to sign in with two factors" in page.data
        api = client.get("/api/v1/cases", headers=headers)
        assert api.status_code == 403 and api.get_json()["error"]["code"] == "two_factor_required"
        secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', page.get_data(as_text=True)).group(1)
        done = client.post("/auth/two-factor/setup", data={"code": _code(secret.replace(" ", "")),
                                                           "current": PASSWORD})
        assert done.status_code == 200 and b"recovery codes" in done.data
        assert client.get("/cases/").status_code == 200
        assert client.get("/api/v1/cases", headers=headers).status_code == 200
        assert client.post("/auth/logout").status_code == 302
        db.session.remove()
        db.engine.dispose()


def test_the_setting_reads_yes_and_no():
    for text, value in (("yes", True), ("off", False), ("1", True)):
        config = {**DEFAULTS, "REQUIRE_TWO_FACTOR": text}
        check_settings(config)
        assert config["REQUIRE_TWO_FACTOR"] is value
    with pytest.raises(ConfigError, match="REQUIRE_TWO_FACTOR"):
        check_settings({**DEFAULTS, "REQUIRE_TWO_FACTOR": "maybe"})


def test_an_admin_turns_it_off_for_someone_who_lost_phone_and_codes(app, ana, runner):
    _enrolled(ana)
    result = runner.invoke(args=["disable-two-factor", "ana@example.org"])
    assert result.exit_code == 0, result.output
    assert not twofactor.is_enabled(ana)
    assert _actions(ana)[-1] == "two_factor_disabled"
    again = runner.invoke(args=["disable-two-factor", "ana@example.org"])
    assert again.exit_code != 0 and "has two-factor sign-in on" in again.output
    assert _login(app.test_client()).headers["Location"].endswith("/cases/")


def test_lists_across_cases_hide_what_a_closed_case_holds(app, make_user, make_case, make_entry, login, token_for):
    """The review queue and the API's case list do not go through `access.check`: they leave out (or only name)
    a case the reviewer may not open yet."""
    owner, reviewer = make_user("owner@example.org"), make_user("rev@example.org")
    case = make_case(owner, members=[(reviewer, "reviewer")])
    entry = make_entry(case, owner, text="A post that only the team may read")
    add_violation(owner, entry, "x/violent_content/violent_threats", "Threatens to kill.")
    add_evidence_file(owner, entry, io.BytesIO(png_bytes()), "s.png", EvidenceStore(app.config["EVIDENCE_DIR"]),
                      Limits.from_config(app.config))
    reviews.transition(owner, entry, "ready")
    headers = token_for(reviewer)
    client = login(app.test_client(), reviewer)
    assert b"#1" in client.get("/reviews/").data
    assert [e["id"] for e in client.get("/api/v1/review-queue", headers=headers).get_json()["entries"]] == [entry.id]

    _enrolled(owner)
    case.require_two_factor = True  # as the edit form does, through the custody log, in the test above
    db.session.commit()
    page = client.get("/reviews/")
    assert page.status_code == 200 and b"Nothing to review" in page.data
    assert client.get("/api/v1/review-queue", headers=headers).get_json()["entries"] == []
    listed = client.get("/api/v1/cases", headers=headers).get_json()["cases"]
    assert listed == [{"id": case.id, "title": case.title, "role": "reviewer", "two_factor_required": True}]
    assert "summary" in client.get("/api/v1/cases", headers=token_for(owner)).get_json()["cases"][0]


def test_a_session_left_open_cannot_guess_codes_to_turn_it_off(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="100 per minute", ACCOUNT_LOGIN_RATE_LIMIT="3 per minute")
    with app.app_context():
        _fresh_requests(app)
        ana = make_user("ana@example.org")
        secret, codes = _enrolled(ana)
        client = app.test_client()
        _login(client)
        assert client.post("/auth/two-factor", data={"code": codes[0]}).status_code == 302
        near = {_code(secret, s) for s in (-30, 0, 30)}
        for guess in [c for c in ("123456", "654321", "111111", "222222") if c not in near][:3]:
            resp = client.post("/auth/two-factor/disable", data={"disable-current": PASSWORD, "disable-code": guess})
            assert resp.status_code == 422 and b"Wrong code" in resp.data
        blocked = client.post("/auth/two-factor/disable", data={"disable-current": PASSWORD,
                                                                "disable-code": _code(secret)})
        assert blocked.status_code == 422 and b"Too many failed attempts for this account" in blocked.data
        assert twofactor.is_enabled(ana)
        assert _actions(ana).count("two_factor_failed") == 3
        db.session.remove()
        db.engine.dispose()
