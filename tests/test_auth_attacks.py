"""Issue 13, attacked: what a state attacker holding a stolen laptop's cookies, a phished password, a copied
remember-me cookie, their own account on the install, a page the victim visits, or the victim's mail can do with
the accounts. Each test is an attack; it passes when the attack fails."""

import io
import re
from datetime import timedelta

import pyotp
import pytest
from flask import g
from sqlalchemy import select

from reportkit.auth import accounts, twofactor
from reportkit.auth.accounts import Client
from reportkit.auth.signin import REMEMBER_COOKIE
from reportkit.extensions import db
from reportkit.models import Dossier, Import, User
from reportkit.models._common import utcnow
from reportkit.services import reviews
from reportkit.services.entries import add_violation
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.filings import record_filing
from reportkit.services.storage import EvidenceStore

from .conftest import PASSWORD, png_bytes

CLIENT = Client("pytest")
NEW_PASSWORD = "a brand new passphrase here"


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


@pytest.fixture
def ana(make_user):
    return make_user("ana@example.org")


def _login(client, email="ana@example.org", password=PASSWORD, **extra):
    return client.post("/auth/login", data={"email": email, "password": password, **extra})


def _code(secret, seconds_ago=0):
    return pyotp.TOTP(secret).at(utcnow() - timedelta(seconds=seconds_ago))


def _signed_in(client) -> bool:
    return client.get("/cases/").status_code == 200


def _copy(client, app, *names):
    """Another browser holding copies of these cookies (a stolen laptop's, a synced profile's)."""
    thief = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        thief.set_cookie(name, cookie.value)
    return thief


def _enrol_through_the_page(client, next_path=""):
    page = client.get(f"/auth/two-factor/setup{next_path}")
    secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', page.get_data(as_text=True)).group(1)
    secret = secret.replace(" ", "")
    done = client.post(f"/auth/two-factor/setup{next_path}", data={"code": _code(secret), "current": PASSWORD})
    assert done.status_code == 200 and b"recovery codes" in done.data
    return secret, done


def _enrolled(user) -> tuple[str, list[str]]:
    """Two-factor on, with the code of a minute ago, so the codes of now are still unused."""
    factor = twofactor.start_enrolment(user)
    then = utcnow() - timedelta(seconds=60)
    codes = twofactor.confirm_enrolment(user, pyotp.TOTP(factor.secret).at(then), CLIENT, now=then)
    assert codes is not None
    return factor.secret, codes


# --- Stolen cookies ---------------------------------------------------------------------------------------------

def test_a_copied_session_cookie_dies_with_logout_sign_out_everywhere_and_password_change(app, ana):
    laptop = app.test_client()
    assert _login(laptop).status_code == 302
    thief = _copy(laptop, app, "session")
    assert _signed_in(thief)
    laptop.post("/auth/logout")
    assert not _signed_in(thief)

    laptop = app.test_client()
    _login(laptop, remember="y")
    thief = _copy(laptop, app, "session", REMEMBER_COOKIE)
    phone = app.test_client()
    _login(phone)
    assert phone.post("/auth/sessions/end-all").status_code == 302
    assert not _signed_in(thief) and not _signed_in(laptop)

    laptop = app.test_client()
    _login(laptop, remember="y")
    thief = _copy(laptop, app, "session", REMEMBER_COOKIE)
    phone = app.test_client()
    _login(phone)
    changed = phone.post("/auth/password", data={"current": PASSWORD, "password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})
    assert changed.status_code == 302
    assert _signed_in(phone) and not _signed_in(thief) and not _signed_in(laptop)


def test_turning_two_factor_on_ends_every_other_session_and_remember_me_cookie(app, ana):
    """The attacker signed in with a phished password and kept a remember-me cookie; the victim then turns
    two-factor on. Before the fix the old cookie kept signing in without a code."""
    attacker = app.test_client()
    assert _login(attacker, remember="y").status_code == 302
    stolen = _copy(attacker, app, REMEMBER_COOKIE)  # only the long-lived cookie, as after the session expired
    other_tab = _copy(attacker, app, "session")
    victim = app.test_client()
    _login(victim)
    _secret, done = _enrol_through_the_page(victim)
    said = " ".join(done.get_data(as_text=True).split())
    assert "Every other session of your account has ended (1 signed in with the password alone)" in said
    assert _signed_in(victim)  # the browser that turned it on stays signed in
    assert not _signed_in(stolen) and not _signed_in(other_tab) and not _signed_in(attacker)
    assert stolen.get("/auth/settings").status_code == 302
    settings = victim.get("/auth/settings").get_data(as_text=True)
    assert "Turned on two-factor sign-in (every other session ended)" in settings
    assert len(accounts.active_sessions(ana)) == 1


def test_a_remember_me_cookie_made_after_the_code_still_works_and_is_rotated(app, ana):
    secret, _codes = _enrolled(ana)
    laptop = app.test_client()
    _login(laptop, remember="y")
    assert laptop.post("/auth/two-factor", data={"code": _code(secret)}).status_code == 302
    first = laptop.get_cookie(REMEMBER_COOKIE).value
    browser = app.test_client()
    browser.set_cookie(REMEMBER_COOKIE, first)
    assert _signed_in(browser)  # remembered: no code again on this device, as asked
    copy = app.test_client()
    copy.set_cookie(REMEMBER_COOKIE, first)
    assert not _signed_in(copy)  # used once: the copy taken before is dead


# --- The step between the password and the code -------------------------------------------------------------------

def test_the_pending_second_step_opens_nothing_else(app, ana, token_for):
    secret, _codes = _enrolled(ana)
    client = app.test_client()
    assert _login(client).headers["Location"].endswith("/auth/two-factor")
    for path in ("/cases/", "/auth/settings", "/auth/two-factor/setup", "/reviews/", "/policies/"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"], path
    for path in ("/auth/password", "/auth/sessions/end-all", "/auth/two-factor/disable"):
        assert client.post(path, data={"current": PASSWORD}).status_code == 302, path
    assert client.get("/api/v1/cases").status_code == 401  # the API wants a token, never the cookie
    assert twofactor.is_enabled(ana)


def test_a_pending_second_step_is_void_once_the_password_changes(app, ana, runner):
    """A phished password typed in the attacker's browser leaves a pending step; the victim resets the password.
    Before the fix the attacker's step still took a code for five minutes."""
    secret, codes = _enrolled(ana)
    attacker = app.test_client()
    assert _login(attacker).headers["Location"].endswith("/auth/two-factor")
    link = re.search(r"/auth/reset/[\w-]+", runner.invoke(args=["reset-password", ana.email]).output).group(0)
    assert app.test_client().post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    resp = attacker.post("/auth/two-factor", data={"code": codes[0]})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/login")
    assert not _signed_in(attacker)
    assert twofactor.recovery_codes_left(ana) == 10  # the code was not even tried
    # Whoever reads the mail and resets the password still meets the second step.
    assert _login(app.test_client(), password=NEW_PASSWORD).headers["Location"].endswith("/auth/two-factor")


def test_a_replayed_pending_cookie_cannot_reuse_the_code(app, ana):
    secret, _codes = _enrolled(ana)
    client = app.test_client()
    _login(client)
    pending = _copy(client, app, "session")  # the cookie between the two steps
    code = _code(secret)
    assert client.post("/auth/two-factor", data={"code": code}).status_code == 302
    again = pending.post("/auth/two-factor", data={"code": code})
    assert again.status_code == 200 and b"Wrong code" in again.data
    assert not _signed_in(pending)


def test_codes_guessed_from_many_addresses_count_against_the_account(make_app, make_user):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="100 per minute", ACCOUNT_LOGIN_RATE_LIMIT="3 per hour")
    with app.app_context():
        _fresh_requests(app)
        ana = make_user("ana@example.org")
        secret, _codes = _enrolled(ana)
        near = {_code(secret, s) for s in (-30, 0, 30)}
        guesses = [c for c in ("123456", "654321", "111111", "222222") if c not in near][:3]
        early = app.test_client()  # a pending log-in started before the guessing
        early.post("/auth/login", data={"email": ana.email, "password": PASSWORD},
                   environ_base={"REMOTE_ADDR": "198.51.100.7"})
        for n, guess in enumerate(guesses):
            client = app.test_client()  # a new pending log-in from a new address each time
            env = {"REMOTE_ADDR": f"203.0.113.{n + 1}"}
            client.post("/auth/login", data={"email": ana.email, "password": PASSWORD}, environ_base=env)
            resp = client.post("/auth/two-factor", data={"code": guess}, environ_base=env)
            assert resp.status_code == 200 and b"Wrong code" in resp.data
        blocked = early.post("/auth/two-factor", data={"code": _code(secret)},
                             environ_base={"REMOTE_ADDR": "198.51.100.7"})
        assert blocked.status_code == 429 and b"Too many failed attempts for this account" in blocked.data
        client = app.test_client()
        again = client.post("/auth/login", data={"email": ana.email, "password": PASSWORD},
                            environ_base={"REMOTE_ADDR": "192.0.2.9"})
        assert again.status_code == 429  # a new pending log-in is not a way around it either
        assert not _signed_in(early) and not _signed_in(client)
        db.session.remove()
        db.engine.dispose()


def test_recovery_codes_work_once_whatever_their_spelling(app, ana):
    _secret, codes = _enrolled(ana)
    first = app.test_client()
    _login(first)
    assert first.post("/auth/two-factor", data={"code": codes[0].upper().replace("-", " ")}).status_code == 302
    second = app.test_client()
    _login(second)
    again = second.post("/auth/two-factor", data={"code": codes[0]})
    assert again.status_code == 200 and b"Wrong code" in again.data
    assert twofactor.recovery_codes_left(ana) == 9


# --- Reset links (the victim's mail is read) ----------------------------------------------------------------------

def _reset_link(runner, email="ana@example.org"):
    result = runner.invoke(args=["reset-password", email])
    assert result.exit_code == 0, result.output
    return re.search(r"/auth/reset/[\w-]+", result.output).group(0)


def test_only_the_newest_reset_link_works(app, ana, runner):
    older, newer = _reset_link(runner), _reset_link(runner)
    assert app.test_client().get(older).status_code == 404
    assert app.test_client().post(older, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 404
    assert app.test_client().get(newer).status_code == 200


def test_a_password_change_voids_reset_links_sent_before(app, ana, runner):
    link = _reset_link(runner)
    client = app.test_client()
    _login(client)
    assert client.post("/auth/password", data={"current": PASSWORD, "password": NEW_PASSWORD,
                                               "confirm": NEW_PASSWORD}).status_code == 302
    assert app.test_client().post(link, data={"password": "the attackers passphrase",
                                              "confirm": "the attackers passphrase"}).status_code == 404
    assert _login(app.test_client(), password=NEW_PASSWORD).status_code == 302


def test_a_used_or_expired_reset_link_is_a_plain_404(app, ana, runner):
    link = _reset_link(runner)
    assert app.test_client().post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert app.test_client().get(link).status_code == 404
    late = _reset_link(runner)
    from reportkit.models import PasswordReset
    for row in db.session.scalars(select(PasswordReset)):
        row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert app.test_client().get(late).status_code == 404
    assert app.test_client().get("/auth/reset/not-a-link").status_code == 404


# --- Enumeration --------------------------------------------------------------------------------------------------

def test_log_in_register_and_forgot_answer_alike_for_known_and_unknown_addresses(make_app, make_user, monkeypatch):
    app = make_app(REGISTRATION_OPEN=True)
    with app.app_context():
        _fresh_requests(app)
        make_user("ana@example.org")
        from reportkit.auth import passwords
        hashed = []
        real = passwords.check_password_hash

        def counting(password_hash, password):  # werkzeug's, counted: both paths must do the same work
            hashed.append(1)
            return real(password_hash, password)
        monkeypatch.setattr(passwords, "check_password_hash", counting)
        answers = []
        for email in ("ana@example.org", "nobody@example.org"):
            hashed.clear()
            resp = _login(app.test_client(), email=email, password="wrong password here")
            answers.append((resp.status_code, b"Wrong email or password." in resp.data, len(hashed)))
        assert answers[0] == answers[1] == (200, True, 1)

        registered = []
        for email in ("ana@example.org", "newcomer@example.org"):
            client = app.test_client()
            resp = client.post("/auth/register", data={"email": email, "name": "X", "password": NEW_PASSWORD,
                                                       "confirm": NEW_PASSWORD})
            registered.append((resp.status_code, resp.headers.get("Location"),
                               client.get(resp.headers["Location"]).data))
        assert registered[0] == registered[1]
        assert _login(app.test_client(), password=NEW_PASSWORD).status_code == 200  # ana's password unchanged
        db.session.remove()
        db.engine.dispose()


# --- Open redirects -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
                                    "/\t/evil.example", "/\n/evil.example", "https:evil.example", "javascript:alert(1)",
                                    "/%09/evil.example", " //evil.example", "///evil.example"])
def test_next_never_leaves_the_site(app, ana, target):
    from urllib.parse import quote, urljoin, urlsplit
    resp = app.test_client().post(f"/auth/login?next={quote(target, safe='')}",
                                  data={"email": ana.email, "password": PASSWORD})
    assert resp.status_code == 302
    location = resp.headers["Location"]
    # How a browser reads it: joined to our own page's address, it must stay on our host.
    assert urlsplit(urljoin("http://reportkit.example/auth/login", location)).netloc == "reportkit.example", location
    assert "evil" not in location.split("?")[0].lstrip("/").split("/")[0]


def test_next_survives_the_second_step_only_when_it_is_ours(app, ana):
    secret, _codes = _enrolled(ana)
    client = app.test_client()
    client.post("/auth/login?next=//evil.example/x", data={"email": ana.email, "password": PASSWORD})
    resp = client.post("/auth/two-factor", data={"code": _code(secret)})
    assert resp.headers["Location"] == "/cases/"


# --- Cross-site requests ------------------------------------------------------------------------------------------

def test_every_post_of_the_pages_wants_the_csrf_token(make_app, make_user, make_case):
    """A page on another site makes the victim's browser post to us with their cookies: every POST route of the
    pages (not the API, which takes no cookies) refuses it without the form's token."""
    app = make_app(WTF_CSRF_ENABLED=True, REGISTRATION_OPEN=True)
    with app.app_context():
        _fresh_requests(app)
        ana = make_user("ana@example.org")
        case = make_case(ana)
        client = app.test_client()
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post("/auth/login", data={"email": ana.email, "password": PASSWORD,
                                                "csrf_token": token}).status_code == 302
        checked = []
        for rule in app.url_map.iter_rules():
            if "POST" not in rule.methods or rule.endpoint.startswith("api"):
                continue
            path = re.sub(r"<any\(([a-z]+)[^>]*\):\w+>", r"\1", rule.rule)
            path = re.sub(r"<int:case_id>", str(case.id), path)
            path = re.sub(r"<[^>]+>", "1", path)
            resp = client.post(path, data={"email": ana.email, "password": PASSWORD, "title": "x"})
            assert resp.status_code == 400, (path, resp.status_code)
            assert b"CSRF" in resp.data or b"form expired" in resp.data.lower() or b"Reload" in resp.data, path
            checked.append(path)
        assert "/auth/logout" in checked and "/auth/sessions/end-all" in checked and len(checked) > 40
        assert _signed_in(client) and len(accounts.active_sessions(ana)) == 1  # nothing happened
        db.session.remove()
        db.engine.dispose()


# --- A case that requires two-factor, through every route ---------------------------------------------------------

SECRET_TEXT = "A post only the team may read"


def test_a_member_without_two_factor_opens_nothing_of_a_case_that_requires_it(app, make_user, make_case, make_entry,
                                                                             login, token_for):
    """Every page, download and API route that names a case, entry, evidence, dossier, import, violation,
    annotation or region of the case answers 403 (or refuses) to a member who has not turned two-factor on."""
    owner, member = make_user("owner@example.org"), make_user("mina@example.org")
    case = make_case(owner, members=[(member, "owner")])  # the strongest role: nothing but the factor is missing
    entry = make_entry(case, owner, text=SECRET_TEXT)
    violation = add_violation(owner, entry, "x/violent_content/violent_threats", "Threatens to kill.")
    evidence = add_evidence_file(owner, entry, io.BytesIO(png_bytes()), "s.png",
                                 EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config))
    note = reviews.annotate(owner, entry, "A note only the team may read")
    region = reviews.add_region(owner, entry, evidence, "highlight", 0.1, 0.1, 0.2, 0.2)
    dossier = Dossier(case_id=case.id, document_id="RK-2FA", status="done", created_by_id=owner.id)
    job = Import(case_id=case.id, kind="csv", mapping={}, created_by_id=owner.id)
    db.session.add_all([dossier, job])
    record_filing(owner, case.id, "x", "in_app", [entry.id])  # on the overviews (/outcomes) for its members
    _enrolled(owner)
    case.require_two_factor = True
    db.session.commit()
    ids = {"case_id": case.id, "entry_id": entry.id, "evidence_id": evidence.id, "dossier_id": dossier.id,
           "import_id": job.id, "violation_id": getattr(violation, "id", 1), "note_id": note.id,
           "region_id": region.id, "member_id": case.memberships[0].id, "invitation_id": 1,
           "account_id": case.accounts[0].id,
           "finding_id": 1}
    client = login(app.test_client(), member)
    headers = token_for(member)
    leaks = []
    for rule in app.url_map.iter_rules():
        names = set(rule.arguments)
        if not names & {"case_id", "entry_id", "evidence_id", "dossier_id", "import_id", "violation_id", "note_id",
                        "region_id"} or rule.endpoint.startswith("auth."):
            continue
        if names & set(rule.defaults or {}):  # an overview across cases (/outcomes): leaves the case out, below
            overview = client.get(rule.rule + "?platform=x&figure=filed").get_data()
            if SECRET_TEXT.encode() in overview or f"/entries/{entry.id}".encode() in overview:
                leaks.append(("GET", rule.rule, "shows the case"))
            continue
        values = {}
        for name in rule.arguments:
            if name in ids:
                values[name] = ids[name]
        path = rule.rule
        for name, value in values.items():
            path = re.sub(rf"<(int:)?{name}>", str(value), path)
        path = re.sub(r"<any\(([a-z]+)[^>]*\):\w+>", r"\1", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            is_api = rule.endpoint.startswith("api.")
            resp = client.open(path, method=method, headers=headers if is_api else None,
                               data=None if is_api else {"body": "x", "reason": "x"},
                               json={} if is_api and method != "GET" else None)
            body = resp.get_data()
            if resp.status_code != 403 or SECRET_TEXT.encode() in body or png_bytes()[:64] in body:
                leaks.append((method, path, resp.status_code))
            resp.close()
    assert leaks == []


# --- API tokens: a credential that outlives the session -----------------------------------------------------------

def test_a_stolen_session_cannot_mint_an_api_token_without_the_password(app, ana):
    """Before: a laptop's cookie alone made a token that kept working after 'sign out everywhere'."""
    from reportkit.models import ApiToken
    thief = app.test_client()
    _login(thief)
    refused = thief.post("/auth/settings", data={"name": "backup script"})
    assert refused.status_code == 422 and b'id="token-current"' in refused.data
    wrong = thief.post("/auth/settings", data={"name": "backup script", "current": "a guess at the password"})
    assert wrong.status_code == 422 and b"This is not your password" in wrong.data
    assert db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == ana.id)) is None
    made = thief.post("/auth/settings", data={"name": "backup script", "current": PASSWORD})
    assert made.status_code == 200 and b"copy it now" in made.data
    assert b'value="backup script"' not in made.data  # the form is empty again
    victim = app.test_client()
    _login(victim)
    _secret, done = _enrol_through_the_page(victim)
    said = " ".join(done.get_data(as_text=True).split())
    assert "Your 1 API token still works without a code: if you did not make it, revoke it in" in said


# --- Invitations --------------------------------------------------------------------------------------------------

def _invite(owner_client, case, email, role="viewer"):
    resp = owner_client.post(f"/cases/{case.id}/members", data={"email": email, "role": role})
    assert resp.status_code == 302, resp.data[:300]
    from reportkit.models import Invitation
    return db.session.scalar(select(Invitation).where(Invitation.email == email).order_by(Invitation.id.desc()))


def test_invitations_are_answered_once_by_their_address_in_their_role(app, make_user, make_case, login):
    owner, mina, eve = make_user("owner@example.org"), make_user("mina@example.org"), make_user("eve@example.org")
    editor = make_user("ed@example.org")
    case = make_case(owner, members=[(editor, "editor")])
    owner_client = login(app.test_client(), owner)
    invitation = _invite(owner_client, case, "mina@example.org")
    attacker = login(app.test_client(), eve)  # her own account on the same install
    for answer in ("accept", "decline"):
        assert attacker.post(f"/cases/invitations/{invitation.id}", data={answer: "y"}).status_code == 404
    assert attacker.get(f"/cases/{case.id}").status_code == 404
    # An editor cannot invite anyone, let alone an owner (role escalation through an accomplice's address).
    ed_client = login(app.test_client(), editor)
    escalated = ed_client.post(f"/cases/{case.id}/members", data={"email": "eve@example.org", "role": "owner"})
    assert escalated.status_code in (403, 404)
    assert owner_client.post(f"/cases/{case.id}/members", data={"email": "eve@example.org", "role": "god"}
                             ).status_code in (200, 422)
    from reportkit.models import Invitation
    assert db.session.scalar(select(Invitation.id).where(Invitation.email == "eve@example.org")) is None

    invitee = login(app.test_client(), mina)
    assert invitee.post(f"/cases/invitations/{invitation.id}", data={"decline": "y"}).status_code == 302
    again = invitee.post(f"/cases/invitations/{invitation.id}", data={"accept": "y"}, follow_redirects=True)
    assert b"declined already" in again.data and invitee.get(f"/cases/{case.id}").status_code == 404

    late = _invite(owner_client, case, "mina@example.org")
    late.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expired = invitee.post(f"/cases/invitations/{late.id}", data={"accept": "y"}, follow_redirects=True)
    assert b"has expired" in expired.data and invitee.get(f"/cases/{case.id}").status_code == 404


def test_a_copy_of_the_very_browser_that_changes_the_password_or_turns_on_two_factor_stops_working(app, ana):
    """The thief copied this laptop's own cookies (same session); the owner then acts on the laptop. Before the
    fix the kept session's secret stayed the same, so the copy stayed signed in."""
    for act in ("password", "two-factor"):
        password = PASSWORD if act == "password" else NEW_PASSWORD
        laptop = app.test_client()
        assert _login(laptop, password=password, remember="y").status_code == 302
        thief = _copy(laptop, app, "session")
        thief_remembered = _copy(laptop, app, REMEMBER_COOKIE)
        if act == "password":
            assert laptop.post("/auth/password", data={"current": PASSWORD, "password": NEW_PASSWORD,
                                                       "confirm": NEW_PASSWORD}).status_code == 302
        else:
            page = laptop.get("/auth/two-factor/setup").get_data(as_text=True)
            secret = re.search(r'id="two-factor-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
            assert b"recovery codes" in laptop.post("/auth/two-factor/setup", data={"code": _code(secret),
                                                                                   "current": NEW_PASSWORD}).data
        assert _signed_in(laptop), act
        assert not _signed_in(thief) and not _signed_in(thief_remembered), act
        remembered = _copy(laptop, app, REMEMBER_COOKIE)  # the laptop's new remember-me cookie works
        assert _signed_in(remembered), act


def test_an_account_on_the_same_install_cannot_end_or_revoke_what_is_not_its_own(app, make_user, token_for):
    victim_user = make_user("victim@example.org")
    make_user("eve@example.org")
    victim = app.test_client()
    _login(victim, email="victim@example.org")
    headers = token_for(victim_user)
    [row] = accounts.active_sessions(victim_user)
    from reportkit.models import ApiToken
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == victim_user.id))
    eve = app.test_client()
    _login(eve, email="eve@example.org")
    assert eve.post(f"/auth/sessions/{row.id}/end").status_code == 404
    assert eve.post(f"/auth/tokens/{token_id}/revoke").status_code == 404
    assert _signed_in(victim) and victim.get("/api/v1/cases", headers=headers).status_code == 200
    settings = eve.get("/auth/settings").get_data(as_text=True)
    assert "victim@example.org" not in settings and "Starts with" not in settings


def test_one_pending_log_in_gets_a_few_codes_then_the_password_again(app, ana):
    from reportkit.auth.signin import SECOND_STEP_TRIES
    secret, _codes = _enrolled(ana)
    client = app.test_client()
    _login(client)
    near = {_code(secret, s) for s in (-30, 0, 30)}
    guesses = [f"{n:06d}" for n in range(100, 120) if f"{n:06d}" not in near][:SECOND_STEP_TRIES]
    for guess in guesses[:-1]:
        assert b"Wrong code" in client.post("/auth/two-factor", data={"code": guess}).data
    last = client.post("/auth/two-factor", data={"code": guesses[-1]})
    assert last.status_code == 302 and last.headers["Location"].endswith("/auth/login")
    over = client.post("/auth/two-factor", data={"code": _code(secret)})  # even the right code: password first
    assert over.status_code == 302 and over.headers["Location"].endswith("/auth/login") and not _signed_in(client)
    assert _login(client).headers["Location"].endswith("/auth/two-factor")
    assert client.post("/auth/two-factor", data={"code": _code(secret)}).status_code == 302 and _signed_in(client)


def test_a_stolen_session_cannot_guess_the_password_through_settings(make_app, make_user):
    """Before: the change-password form checked the current password with no limit at all."""
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="100 per minute", ACCOUNT_LOGIN_RATE_LIMIT="3 per hour")
    with app.app_context():
        _fresh_requests(app)
        make_user("ana@example.org")
        thief = app.test_client()
        _login(thief)
        for guess in ("guess number one", "guess number two", "guess number three"):
            resp = thief.post("/auth/password", data={"current": guess, "password": NEW_PASSWORD,
                                                      "confirm": NEW_PASSWORD})
            assert resp.status_code == 422 and b"not your current password" in resp.data
        blocked = thief.post("/auth/password", data={"current": PASSWORD, "password": NEW_PASSWORD,
                                                     "confirm": NEW_PASSWORD})
        assert blocked.status_code == 422 and b"Too many failed attempts for this account" in blocked.data
        assert thief.post("/auth/settings", data={"name": "x", "current": PASSWORD}).status_code == 422
        from reportkit.auth.passwords import verify_password
        user = db.session.scalar(select(User).where(User.email == "ana@example.org"))
        assert verify_password(user.password_hash, PASSWORD)  # unchanged
        db.session.remove()
        db.engine.dispose()
