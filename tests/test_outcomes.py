"""Outcome figures against a hand-counted campaign, the entries behind each figure, the CSV, the API, the CLI,
and the follow-ups that need someone."""

from datetime import UTC, datetime

import pytest

from reportkit.extensions import db
from reportkit.models import Observation
from reportkit.services.filings import record_decision, record_filing, update_filing
from reportkit.services.outcomes import follow_ups, outcomes

X = "https://x.com/leader_en/status/14533471710116945{:02d}"


def when(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def campaign(app, make_user, make_case, make_entry):
    """x: #1 removed after 3 days (then seen online), #2 account suspended after 10, #3 no violation after 5,
    #4 no answer; #1 filed again later (counted once). telegram: #5 confirmed, no answer."""
    owner = make_user("owner@example.org")
    case = make_case(owner)
    e = [make_entry(case, owner, url=X.format(n)) for n in range(1, 5)]
    e.append(make_entry(case, owner, url="https://t.me/leader_fa/24680"))
    first = record_filing(owner, case.id, "x", "in_app", [x.id for x in e[:4]], filed_at=when("2026-03-01T00:00"))
    record_decision(owner, first, {"entry_ids": [e[0].id], "visibility": "removed",
                                   "decided_at": when("2026-03-04T00:00")})
    record_decision(owner, first, {"entry_ids": [e[1].id], "account": "suspended",
                                   "decided_at": when("2026-03-11T00:00")})
    record_decision(owner, first, {"entry_ids": [e[2].id], "no_action": True, "decided_at": when("2026-03-06T00:00")})
    record_decision(owner, first, {"entry_ids": [e[3].id], "no_answer": True, "decided_at": when("2026-03-20T00:00")})
    record_filing(owner, case.id, "x", "dsa_notice", [e[0].id], filed_at=when("2026-04-01T00:00"))
    tg = record_filing(owner, case.id, "telegram", "email", [e[4].id], filed_at=when("2026-03-02T00:00"))
    update_filing(owner, tg, {"confirmed_at": when("2026-03-03T00:00")})
    db.session.add_all([Observation(entry_id=e[0].id, checked_at=when("2026-03-05T00:00"), outcome="removed"),
                        Observation(entry_id=e[0].id, checked_at=when("2026-05-01T00:00"), outcome="online"),
                        Observation(entry_id=e[0].id, checked_at=when("2026-05-02T00:00"), outcome="unknown"),
                        Observation(entry_id=e[1].id, checked_at=when("2026-05-01T00:00"), outcome="removed")])
    db.session.commit()
    return owner, case, e


def test_figures_match_the_hand_count(campaign):
    _, case, e = campaign
    x, telegram = outcomes([case.id])
    assert (x.platform, x.count("filed"), x.count("confirmed"), x.count("decided"), x.count("no_action"),
            x.count("no_answer"), x.median_days, x.count("still_online")) == ("x", 4, 0, 2, 1, 1, 5.0, 1)
    assert x.actions == {"removed": {e[0].id}, "account suspended": {e[1].id}}
    assert x.entries["still_online"] == {e[0].id}  # the last known check; "unknown" says nothing
    assert (telegram.count("filed"), telegram.count("confirmed"), telegram.count("no_answer"),
            telegram.median_days) == (1, 1, 1, None)


def test_the_api_cli_csv_and_pages_say_the_same(app, client, login, token_for, campaign, tmp_path):
    owner, case, e = campaign
    body = client.get(f"/api/v1/cases/{case.id}/outcomes", headers=token_for(owner)).json
    x = body["platforms"][0]
    assert (x["filed"], x["decided"], x["actions"], x["median_days_to_decision"]) == \
        (4, 2, {"account suspended": 1, "removed": 1}, 5.0)
    assert x["entry_ids"]["no_answer"] == [e[3].id] and x["entry_ids"]["action:removed"] == [e[0].id]
    out = tmp_path / "outcomes.csv"
    result = app.test_cli_runner().invoke(args=["outcomes", str(case.id), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert "X / Twitter: 4 filed, 0 confirmed, 2 acted on (account suspended 1, removed 1), 1 no violation " \
           "found, 1 no answer, median 5.0 days, 1 still online" in result.output
    lines = out.read_text().splitlines()
    assert lines[1] == "X / Twitter,4,0,2,1,1,5.0,1,account suspended: 1; removed: 1"
    assert app.test_cli_runner().invoke(args=["outcomes", "999"]).exit_code != 0
    login(client, owner)
    page = client.get(f"/cases/{case.id}/outcomes").get_data(as_text=True)
    link = f"/cases/{case.id}/outcomes/entries?platform=x&amp;figure=no_action"
    assert link in page
    behind = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert f"/entries/{e[2].id}" in behind and f"/entries/{e[0].id}" not in behind
    assert client.get(f"/cases/{case.id}/outcomes.csv").get_data(as_text=True).splitlines()[1] == lines[1]
    assert "X / Twitter" in client.get("/outcomes").get_data(as_text=True)  # across the user's cases


def test_follow_ups_say_what_needs_someone(client, login, campaign):
    owner, case, e = campaign
    items = follow_ups([case.id], now=when("2026-09-01T00:00"), expected_days={"default": 7, "telegram": 300})
    kinds = sorted((i.kind, i.entry.number if i.entry else None) for i in items)
    # x's first filing waits for #4, the re-report of #1 for its own answer; telegram's 300 days have not passed;
    # #4 has no decision to appeal
    assert kinds == [("no_answer", None), ("no_answer", None), ("still_online", 1), ("window_closing", 1),
                     ("window_closing", 2), ("window_closing", 3)]
    assert next(i for i in items if i.kind == "window_closing" and i.entry.number == 1).due.isoformat() == \
        "2026-09-04"
    login(client, owner)
    assert "No answer from X / Twitter for 1 of 4 entries" in client.get("/follow-ups").get_data(as_text=True)


def test_the_weekly_digest_names_nothing_but_the_count(make_app, make_user, make_case, make_entry, tmp_path):
    from datetime import datetime as real_datetime

    from reportkit.services.digest import send_digests
    from reportkit.services.queue import queue_for

    from .test_mail import SmtpServer, mail_config

    smtp = SmtpServer()
    try:
        app = make_app(**mail_config(smtp))
        with app.app_context():
            owner, viewer = make_user("owner@example.org"), make_user("viewer@example.org")
            case = make_case(owner, members=[(viewer, "viewer")])
            entry = make_entry(case, owner, url=X.format(7))
            record_filing(owner, case.id, "x", "in_app", [entry.id], filed_at=when("2026-01-05T00:00"))
            due = [t for t in queue_for(app).read_periodic(real_datetime(2026, 11, 30, 7, 5))
                   if t.name == "follow-up-digest"]
            assert len(due) == 1  # a Monday at 07:05
            assert send_digests() == 1  # the viewer cannot act on it: no mail
            message = smtp.inbox.wait_for(1)[0]
            assert message["To"] == "owner@example.org"
            body = message.get_content()
            assert "1 follow-up waits for you" in body and "https://reports.example.org/follow-ups" in body
            assert case.title not in body and "x.com" not in body and "Twitter" not in body
            db.session.remove()
    finally:
        smtp.stop()


def test_the_annual_report_counts_notices_by_provider_and_type(client, login, campaign):
    owner, case, e = campaign
    login(client, owner)
    lines = client.get(f"/cases/{case.id}/outcomes/annual.csv?year=2026").get_data(as_text=True).splitlines()
    assert lines[0].startswith("year,provider,type_of_alleged_illegal_content,notices")
    # entries without a mapped rule are "unspecified"; #1 filed twice is two notices (the re-report: no answer)
    assert lines[1:] == ["2026,Telegram,unspecified,1,0,0,1,,",
                         "2026,X / Twitter,unspecified,5,2,1,2,account suspended: 1; removed: 1,5.0"]
    assert client.get(f"/cases/{case.id}/outcomes/annual.csv?year=2025").get_data(as_text=True).count("\n") == 1
    assert client.get(f"/cases/{case.id}/outcomes/annual.csv?year=99999").status_code == 400
