"""Optional mail (issue 13), against a real SMTP server (aiosmtpd on 127.0.0.1). The adversaries: someone who uses
"Forgot your password?" to learn which addresses have accounts, or floods one address with it; a Host header that
would point a reset link at another site; a mail server that is down; and a state reading the mail."""

import re
import socket
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from flask import g
from sqlalchemy import func, select

from reportkit import create_app, mail
from reportkit.config import ConfigError
from reportkit.extensions import db
from reportkit.models import Invitation, PasswordReset

from .conftest import PASSWORD

PUBLIC_URL = "https://reports.example.org"
NEW_PASSWORD = "violet lantern across rivers"
SENDER = "reportkit <noreply@example.org>"


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.messages) >= count, f"{len(self.messages)} mails arrived, expected {count}"
        return self.messages


class SmtpServer:
    def __init__(self):
        with socket.socket() as probe:  # a free port, then the server binds it
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.inbox = Inbox()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.running = True

    def stop(self):
        if self.running:
            self.controller.stop()
            self.running = False


@pytest.fixture
def smtp():
    server = SmtpServer()
    yield server
    server.stop()


def mail_config(smtp: SmtpServer, **extra) -> dict:
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_DEFAULT_SENDER": SENDER,
            "MAIL_TIMEOUT": 5, "PUBLIC_URL": PUBLIC_URL, **extra}


def fresh_requests(app):
    """The clients of a test share its app context and `g`: load each request's user anew, as a server would."""
    @app.teardown_request
    def _forget(_exc):
        for name in ("_login_user", "user_session", "remember_cookie"):
            g.pop(name, None)
    return app


@pytest.fixture
def app(make_app, smtp):
    """This module's app sends mail to the test's SMTP server (the fixtures make_user, runner... use it)."""
    app = fresh_requests(make_app(**mail_config(smtp)))
    with app.app_context():
        yield app
        mail.wait(10)  # nothing of this test still runs on the mail thread
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def ana(make_user):
    return make_user("ana@example.org")


def login(client, email="ana@example.org", password=PASSWORD):
    return client.post("/auth/login", data={"email": email, "password": password})


def forgot(client, email):
    return client.post("/auth/forgot", data={"email": email})


def link_in(message) -> str:
    """The one link of a mail, as a path for the test client (after checking it starts with PUBLIC_URL)."""
    links = re.findall(r"https?://\S+", message.get_content())
    assert links and all(link.startswith(PUBLIC_URL + "/") for link in links), links
    return links[0][len(PUBLIC_URL):]


def plain_text_only(message):
    assert message.get_content_type() == "text/plain" and not message.is_multipart()
    body = message.get_content()
    assert "<" not in body and "http" in body  # no HTML, no images to load: nothing tells anyone it was read
    return body


def reset_rows() -> int:
    return db.session.scalar(select(func.count(PasswordReset.id)))


# --- "Forgot your password?" ------------------------------------------------------------------------------------

def test_the_mailed_link_resets_the_password_once_and_ends_every_session(app, smtp, ana):
    laptop = app.test_client()
    assert login(laptop).status_code == 302 and laptop.get("/cases/").status_code == 200
    login_page = app.test_client().get("/auth/login")
    assert b'href="/auth/forgot"' in login_page.data and b"Ask your admin" not in login_page.data

    resp = forgot(app.test_client(), "Ana@Example.org ")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/login")
    [message] = smtp.inbox.wait_for(1)
    assert message["To"] == "ana@example.org" and message["Subject"] == "reportkit: password reset"
    assert message["From"] == SENDER and "example.org" in message["Message-ID"]
    plain_text_only(message)
    path = link_in(message)
    assert path.startswith("/auth/reset/")

    phone = app.test_client()
    assert phone.get(path).status_code == 200
    resp = phone.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/login")
    assert "/auth/login" in laptop.get("/cases/").headers["Location"]  # the laptop's session ended
    assert login(app.test_client()).status_code == 200  # the old password no longer works
    assert login(app.test_client(), password=NEW_PASSWORD).status_code == 302
    assert phone.get(path).status_code == 404  # the link worked once
    assert phone.post(path, data={"password": "another long passphrase", "confirm": "another long passphrase"}
                      ).status_code == 404


def test_known_and_unknown_addresses_get_the_same_answer_and_only_the_known_one_a_mail(app, smtp, ana):
    answers = []
    for address in ("nobody@example.org", "ana@example.org"):
        client = app.test_client()
        resp = forgot(client, address)
        page = client.get(resp.headers["Location"])
        answers.append((resp.status_code, resp.headers["Location"], resp.data, page.status_code, page.data))
    assert answers[0] == answers[1]
    assert b"If an account uses this address, we have sent it a link" in answers[0][4]
    smtp.inbox.wait_for(1)
    mail.wait(10)  # the unknown address was handled first, on the same thread: it is done too
    assert [m["To"] for m in smtp.inbox.messages] == ["ana@example.org"]
    assert reset_rows() == 1


def test_a_forged_host_header_does_not_change_the_mailed_link(app, smtp, ana):
    """Reset poisoning: the link must not point at whatever site the request claims to be."""
    resp = app.test_client().post("/auth/forgot", data={"email": "ana@example.org"},
                                  headers={"Host": "attacker.example", "X-Forwarded-Host": "attacker.example"})
    assert resp.status_code == 302
    [message] = smtp.inbox.wait_for(1)
    assert "attacker" not in message.get_content()
    assert link_in(message).startswith("/auth/reset/")


def test_mail_server_down_same_page_no_error_and_the_command_line_link_still_works(app, smtp, ana, runner, caplog):
    smtp.stop()
    client = app.test_client()
    resp = forgot(client, "ana@example.org")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/login")
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200 and b"If an account uses this address, we have sent it a link" in page.data
    mail.wait(10)
    assert any("could not be sent" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    assert not any("ana@example.org" in r.getMessage() for r in caplog.records)  # the log names no address

    result = runner.invoke(args=["reset-password", "ana@example.org", "--send"])
    assert result.exit_code == 1 and "The mail could not be sent" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(args=["reset-password", "ana@example.org"])
    assert result.exit_code == 0, result.output
    path = re.search(r"/auth/reset/[\w-]+", result.output).group(0)
    assert result.output.startswith(PUBLIC_URL + path)
    resp = app.test_client().post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 302
    assert login(app.test_client(), password=NEW_PASSWORD).status_code == 302


def test_reset_password_send_mails_the_link_from_the_command_line(app, smtp, ana, runner):
    result = runner.invoke(args=["reset-password", "ana@example.org", "--send"])
    assert result.exit_code == 0 and "Mailed a reset link to ana@example.org" in result.output, result.output
    assert "/auth/reset/" not in result.output  # the admin does not see the secret
    [message] = smtp.inbox.wait_for(1)
    path = link_in(message)
    resp = app.test_client().post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 302
    assert login(app.test_client(), password=NEW_PASSWORD).status_code == 302


def test_bad_input_on_the_forgot_page_is_a_form_error(app, smtp, ana):
    for bad in ("", "not an address", "ana@example.org\r\nBcc: mallory@example.org", "a" * 300 + "@example.org"):
        resp = forgot(app.test_client(), bad)
        assert resp.status_code == 200 and b"Forgot your password?" in resp.data, bad
    mail.wait(10)
    assert smtp.inbox.messages == [] and reset_rows() == 0


def test_forgot_is_limited_per_address_and_per_email_alike_for_known_and_unknown(make_app, smtp, make_user):
    app = fresh_requests(make_app(**mail_config(smtp, RATELIMIT_ENABLED=True, FORGOT_RATE_LIMIT="3 per hour",
                                                 FORGOT_EMAIL_RATE_LIMIT="2 per hour")))
    with app.app_context():
        make_user("target@example.org")
        for email in ("target@example.org", "nobody@example.org"):  # from another address each time
            codes = [forgot(_from(app, f"203.0.113.{n}"), email).status_code for n in range(3)]
            assert codes == [302, 302, 429], email
        one_address = _from(app, "198.51.100.9")
        codes = [forgot(one_address, f"someone{n}@example.org").status_code for n in range(4)]
        assert codes == [302, 302, 302, 429]
        mail.wait(10)
        assert [m["To"] for m in smtp.inbox.messages] == ["target@example.org"] * 2
        db.session.remove()
        db.engine.dispose()


def _from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


# --- invitations --------------------------------------------------------------------------------------------------

def test_an_invitation_is_mailed_without_naming_the_case_and_its_link_leads_to_the_answer(app, smtp, ana, make_user,
                                                                                           make_case):
    owner = make_user("owner@example.org", name="Owner Person")
    case = make_case(owner, title="Secret Minister Dossier")
    owner_client = app.test_client()
    assert login(owner_client, "owner@example.org").status_code == 302
    for address in ("ana@example.org", "new.person@example.org"):  # with and without an account: both mailed
        resp = owner_client.post(f"/cases/{case.id}/members", data={"email": address, "role": "viewer"},
                                 follow_redirects=True)
        assert resp.status_code == 200 and f"Invited {address}".encode() in resp.data
        assert b"could not be sent" not in resp.data
    messages = smtp.inbox.wait_for(2)
    assert [m["To"] for m in messages] == ["ana@example.org", "new.person@example.org"]
    for message in messages:
        assert message["Subject"] == "reportkit: you are invited to a case"
        body = plain_text_only(message)
        for secret in ("Secret Minister", "Owner Person", "owner@example.org", "Leader", "leader_en"):
            assert secret not in body and secret not in str(message), secret
        assert f"{PUBLIC_URL}/auth/register" in body  # registration is open: how to get an account
    path = link_in(messages[0])
    assert path == "/cases/"

    invitee = app.test_client()
    resp = invitee.get(path)
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]  # log in first ...
    assert login(invitee).status_code == 302
    page = invitee.get(path)  # ... then the link shows the invitation and its answer buttons
    assert b"Secret Minister Dossier" in page.data and b"Accept" in page.data
    invitation = db.session.scalar(select(Invitation).where(Invitation.email == "ana@example.org"))
    resp = invitee.post(f"/cases/invitations/{invitation.id}", data={"accept": "Accept"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case.id}")
    assert invitee.get(f"/cases/{case.id}").status_code == 200


def test_an_invitation_survives_a_mail_server_that_is_down(app, smtp, ana, make_user, make_case, caplog):
    owner = make_user("owner@example.org")
    case = make_case(owner)
    smtp.stop()
    owner_client = app.test_client()
    login(owner_client, "owner@example.org")
    resp = owner_client.post(f"/cases/{case.id}/members", data={"email": "ana@example.org", "role": "viewer"},
                             follow_redirects=True)
    assert resp.status_code == 200
    assert b"Invited ana@example.org" in resp.data and b"The email to them could not be sent" in resp.data
    assert any("invitation mail could not be sent" in r.getMessage() for r in caplog.records)
    invitee = app.test_client()
    login(invitee)
    page = invitee.get("/cases/")
    assert page.status_code == 200 and b"Case A" in page.data and b"Accept" in page.data


# --- without mail nothing changes, and settings that cannot work stop start-up ----------------------------------

def test_without_mail_server_nothing_is_offered_or_sent(make_app, smtp, make_user):
    app = fresh_requests(make_app(PUBLIC_URL=PUBLIC_URL))
    with app.app_context():
        make_user("ana@example.org")
        client = app.test_client()
        page = client.get("/auth/login")
        assert b"/auth/forgot" not in page.data and b"Ask your admin for a reset link" in page.data
        assert client.get("/auth/forgot").status_code == 404
        assert forgot(client, "ana@example.org").status_code == 404
        result = app.test_cli_runner().invoke(args=["reset-password", "ana@example.org", "--send"])
        assert result.exit_code == 0 and "Mail is not configured" in result.output
        assert f"{PUBLIC_URL}/auth/reset/" in result.output
        mail.wait(10)
        assert smtp.inbox.messages == []
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("settings, named", [
    ({"MAIL_DEFAULT_SENDER": ""}, "MAIL_DEFAULT_SENDER"),
    ({"PUBLIC_URL": None}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "reports.example.org"}, "PUBLIC_URL"),
    ({"MAIL_USE_TLS": True, "MAIL_USE_SSL": True}, "MAIL_USE_SSL"),
    ({"MAIL_PORT": 0}, "MAIL_PORT"),
    ({"MAIL_TIMEOUT": "soon"}, "MAIL_TIMEOUT"),
    ({"MAIL_USE_TLS": "maybe"}, "MAIL_USE_TLS"),
])
def test_mail_settings_that_cannot_work_stop_start_up_naming_the_setting(tmp_path, settings, named):
    config = {"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "MAIL_SERVER": "mail.example.org",
              "MAIL_DEFAULT_SENDER": SENDER, "PUBLIC_URL": PUBLIC_URL, **settings}
    with pytest.raises(ConfigError, match=named):
        create_app(config)


def test_mail_settings_from_the_environment(tmp_path, monkeypatch):
    for name, value in {"MAIL_SERVER": "mail.example.org", "MAIL_PORT": "587", "MAIL_USE_TLS": "yes",
                        "MAIL_USE_SSL": "off", "MAIL_USERNAME": "reportkit", "MAIL_PASSWORD": "123456",
                        "MAIL_DEFAULT_SENDER": "noreply@example.org", "PUBLIC_URL": PUBLIC_URL}.items():
        monkeypatch.setenv(f"REPORTKIT_{name}", value)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    config = app.config
    assert (config["MAIL_PORT"], config["MAIL_USE_TLS"], config["MAIL_USE_SSL"], config["MAIL_TIMEOUT"]) == \
        (587, True, False, 10)
    with app.app_context():
        assert mail.configured() and mail.link("auth.reset", secret="abc") == f"{PUBLIC_URL}/auth/reset/abc"


def test_the_forgot_form_needs_its_csrf_token(make_app, smtp, make_user):
    """Another site cannot make a visitor's browser ask for reset mails: without the page's token, nothing."""
    app = fresh_requests(make_app(**mail_config(smtp, WTF_CSRF_ENABLED=True)))
    with app.app_context():
        make_user("ana@example.org")
        client = app.test_client()
        assert forgot(client, "ana@example.org").status_code == 400
        page = client.get("/auth/forgot")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.data).group(1).decode()
        resp = client.post("/auth/forgot", data={"email": "ana@example.org", "csrf_token": token})
        assert resp.status_code == 302
        smtp.inbox.wait_for(1)
        mail.wait(10)
        assert [m["To"] for m in smtp.inbox.messages] == ["ana@example.org"]
        db.session.remove()
        db.engine.dispose()


def test_a_used_link_offers_a_new_one_by_mail(app, smtp, ana, runner):
    result = runner.invoke(args=["reset-password", "ana@example.org"])
    path = re.search(r"/auth/reset/[\w-]+", result.output).group(0)
    client = app.test_client()
    assert client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    dead = client.get(path)
    assert dead.status_code == 404 and b'href="/auth/forgot">Ask for a new one by mail' in dead.data
