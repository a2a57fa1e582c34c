"""Filings, decisions and appeals through the API v1 contract of issue #17, with the statuses they derive."""

import hashlib
import io
import re
import time
from datetime import UTC, date, datetime

import pytest

from reportkit.extensions import db
from reportkit.models import Dossier, Event
from reportkit.services.activity import describe_events
from reportkit.services.custody import verify_case
from reportkit.services.filings import entry_status, record_filing
from reportkit.services.storage import app_store

from .test_dossier import case_with_entries  # noqa: F401  (a fixture)


@pytest.fixture
def filed(app, make_user, make_case, make_entry, token_for):
    owner = make_user("owner@example.org")
    case = make_case(owner, members=[(make_user("viewer@example.org"), "viewer")])
    entries = [make_entry(case, owner, url=f"https://x.com/leader/status/17000000000000000{n}") for n in range(3)]
    sha, _ = app_store().put_bytes(b"%PDF-1.7\n%stand-in for a rendered dossier\n%%EOF\n")
    dossier = Dossier(case_id=case.id, document_id="RK-FILED", status="done", sha256=sha, pages=1)
    db.session.add(dossier)
    db.session.commit()
    return {"owner": owner, "case": case.id, "entries": [e.id for e in entries], "dossier": dossier.id,
            "sha": sha, "headers": token_for(owner)}


def _file(client, w, **body):
    data = {"platform": "x", "channel": "dsa_notice", "entry_ids": w["entries"], "dossier_id": w["dossier"],
            "filed_at": "2026-03-01T10:00:00Z", "reference": "DSA-4411", **body}
    return client.post(f"/api/v1/cases/{w['case']}/filings", json=data, headers=w["headers"])


def test_a_filing_proves_which_document_was_sent_and_is_in_the_custody_log(client, filed):
    resp = _file(client, filed)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["document_sha256"] == filed["sha"] and body["document_id"] == "RK-FILED"
    assert body["entry_ids"] == filed["entries"] and body["reference"] == "DSA-4411"
    listed = client.get(f"/api/v1/cases/{filed['case']}/filings", headers=filed["headers"]).json["filings"]
    assert [f["id"] for f in listed] == [body["id"]]
    event = db.session.scalars(db.select(Event).where(Event.action == "filing.recorded")).one()
    assert event.data["document_sha256"] == filed["sha"]
    text = describe_events([event])[0].text
    assert "were reported to X / Twitter" in text and "reference DSA-4411" in text
    assert verify_case(filed["case"], app_store()).ok
    assert {entry_status(i).key for i in filed["entries"]} == {"filed"}


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"platform": "myspace"}, "platform", "Choose one of"),
    ({"channel": "fax"}, "channel", "Choose one of"),
    ({"entry_ids": []}, "entry_ids", "at least one"),
    ({"entry_ids": [99999]}, "entry_ids", "Not entries of this case: 99999"),
    ({"entry_ids": "1,2"}, "entry_ids", "list of entry ids"),
    ({"filed_at": "2099-01-01T00:00:00Z"}, "filed_at", "in the future"),
    ({"filed_at": "2026-03-01T10:00:00"}, "filed_at", "time zone"),
    ({"dossier_id": 99999}, "dossier_id", "No such dossier"),
    ({"reference": "R" * 201}, "reference", "At most 200"),
    ({"surprise": 1}, "surprise", "Unknown field"),
])
def test_bad_filings_are_refused_whole_with_the_field(client, filed, body, field, words):
    resp = _file(client, filed, **body)
    assert resp.status_code == 422, resp.json
    assert field in resp.json["error"]["fields"], resp.json
    assert words in " ".join(resp.json["error"]["fields"][field]) + resp.json["error"]["message"]
    assert client.get(f"/api/v1/cases/{filed['case']}/filings", headers=filed["headers"]).json["filings"] == []


def test_an_unfinished_dossier_cannot_be_what_was_filed(client, filed):
    db.session.get(Dossier, filed["dossier"]).status = "running"
    db.session.commit()
    resp = _file(client, filed)
    assert resp.status_code == 422 and "not finished" in resp.json["error"]["message"]


def test_decisions_derive_each_entrys_status_and_the_complaint_window(client, filed):
    filing = _file(client, filed).json
    removed, unanswered = filed["entries"][:2], filed["entries"][2]
    url = f"/api/v1/filings/{filing['id']}/decisions"
    resp = client.post(url, json={"entry_ids": removed, "decided_at": "2026-03-31T09:00:00Z",
                                  "visibility": "removed", "territorial_scope": ["DE", "FR"], "ground": "illegal",
                                  "automated": False}, headers=filed["headers"])
    assert resp.status_code == 201, resp.json
    rows = resp.json["decisions"]
    assert [r["entry_id"] for r in rows] == removed
    assert rows[0]["complaint_window_closes"] == "2026-09-30"  # six months, the end of a shorter month
    assert rows[0]["label"] == "removed in 2 countries"
    resp = client.post(url, json={"entry_ids": [unanswered], "no_answer": True}, headers=filed["headers"])
    assert resp.status_code == 201 and resp.json["decisions"][0]["complaint_window_closes"] is None
    assert entry_status(removed[0]).label == "decided: removed in 2 countries"
    assert entry_status(unanswered).key == "filed"  # "no answer" is not a decision
    assert verify_case(filed["case"], app_store()).ok


@pytest.mark.parametrize(("body", "field"), [
    ({"visibility": "removed", "no_answer": True, "decided_at": "2026-03-02T00:00:00Z"}, "visibility"),
    ({}, "visibility"),
    ({"visibility": "vaporised", "decided_at": "2026-03-02T00:00:00Z"}, "visibility"),
    ({"visibility": "removed"}, "decided_at"),
    ({"visibility": "removed", "decided_at": "2026-02-01T00:00:00Z"}, "decided_at"),  # before the filing
    ({"no_action": "yes", "decided_at": "2026-03-02T00:00:00Z"}, "no_action"),
    ({"visibility": "removed", "decided_at": "2026-03-02T00:00:00Z", "territorial_scope": ["de"]},
     "territorial_scope"),
    ({"no_action": True, "decided_at": "2026-03-02T00:00:00Z", "entry_ids": [424242]}, "entry_ids"),
])
def test_a_decision_is_one_clear_answer(client, filed, body, field):
    filing = _file(client, filed).json
    resp = client.post(f"/api/v1/filings/{filing['id']}/decisions", json=body, headers=filed["headers"])
    assert resp.status_code == 422 and field in resp.json["error"]["fields"], resp.json
    assert client.get(f"/api/v1/filings/{filing['id']}", headers=filed["headers"]).json["decisions"] == []


def test_appeals_follow_a_decision_and_escalation_outranks_them(client, filed):
    filing = _file(client, filed).json
    appeals = f"/api/v1/filings/{filing['id']}/appeals"
    early = client.post(appeals, json={"kind": "internal_complaint"}, headers=filed["headers"])
    assert early.status_code == 422 and "decision" in early.json["error"]["message"]
    client.post(f"/api/v1/filings/{filing['id']}/decisions",
                json={"no_action": True, "decided_at": "2026-03-10T00:00:00Z"}, headers=filed["headers"])
    entry = filed["entries"][0]
    assert entry_status(entry).label == "decided: no action"
    resp = client.post(appeals, json={"kind": "internal_complaint", "reference": "C-9",
                                      "filed_at": "2026-03-12T00:00:00Z"}, headers=filed["headers"])
    assert resp.status_code == 201 and resp.json["outcome"] == "pending"
    assert entry_status(entry).key == "appealed"
    client.post(appeals, json={"kind": "coordinator", "entry_id": entry}, headers=filed["headers"])
    assert entry_status(entry).key == "escalated"
    assert entry_status(filed["entries"][1]).key == "appealed"  # the coordinator complaint names one entry
    assert verify_case(filed["case"], app_store()).ok


def test_what_was_filed_does_not_change_but_receipt_and_reference_do(client, filed):
    filing = _file(client, filed).json
    url = f"/api/v1/filings/{filing['id']}"
    resp = client.patch(url, json={"platform": "youtube"}, headers=filed["headers"])
    assert resp.status_code == 422 and "record another filing" in resp.json["error"]["message"]
    resp = client.patch(url, json={"confirmed_at": "2026-02-01T00:00:00Z"}, headers=filed["headers"])
    assert resp.status_code == 422 and "confirmed_at" in resp.json["error"]["fields"]
    resp = client.patch(url, json={"confirmed_at": "2026-03-01T12:00:00Z", "reference": "DSA-4411-B"},
                        headers=filed["headers"])
    assert resp.status_code == 200 and resp.json["reference"] == "DSA-4411-B"
    assert resp.json["confirmed_at"].startswith("2026-03-01T12:00")
    assert entry_status(filed["entries"][0]).key == "confirmed"
    changed = db.session.scalars(db.select(Event).where(Event.action == "filing.changed")).one()
    assert set(changed.data) == {"filing", "confirmed_at", "reference"}


def test_the_window_is_counted_from_the_decision_day():
    from reportkit.models.filings import Decision
    from reportkit.services.filings import complaint_window_closes

    decided = Decision(decided_at=datetime(2026, 8, 31, 23, 0, tzinfo=UTC), no_answer=False)
    assert complaint_window_closes(decided) == date(2027, 2, 28)


def test_the_pages_record_a_filing_from_a_dossier_then_the_answer(client, login, filed):
    from reportkit.models import Filing, User
    from reportkit.services.custody import record

    owner = filed["owner"]
    record(owner, filed["case"], "dossier.exported", "dossier:RK-FILED", {"entries": [1, 2]})
    db.session.commit()
    login(client, owner)
    page = client.get(f"/cases/{filed['case']}/filings/new?dossier={filed['dossier']}").get_data(as_text=True)
    assert filed["sha"] in page
    first, second, third = filed["entries"]
    assert f'checked id="entry_ids-0" name="entry_ids" type="checkbox" value="{first}"' in page or \
        f'value="{first}" checked' in page or page.count("checked") == 2
    form = {"platform": "x", "channel": "in_app", "entry_ids": [first, second], "filed_at": "next tuesday",
            "reference": "", "requested_action": "", "notes": "", "dossier_id": str(filed["dossier"])}
    resp = client.post(f"/cases/{filed['case']}/filings/new", data=form)
    assert resp.status_code == 422 and "cannot be read" in resp.get_data(as_text=True)
    assert db.session.scalars(db.select(Filing)).all() == []
    resp = client.post(f"/cases/{filed['case']}/filings/new", data={**form, "filed_at": "2026-03-01 10:00",
                                                                     "reference": "TW-88"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    filing = db.session.scalars(db.select(Filing)).one()
    assert filing.document_sha256 == filed["sha"] and [e.id for e in filing.entries] == [first, second]
    decide = f"/filings/{filing.id}/decisions"
    resp = client.post(decide, data={"entry_ids": [first], "answer": "action", "decided_at": "2026-03-20 09:00"})
    assert resp.status_code == 422 and "Record one of" in resp.get_data(as_text=True), \
        re.findall(r'class="error"[^>]*>(.*?)</', resp.get_data(as_text=True), re.S)
    resp = client.post(decide, data={"entry_ids": [first], "answer": "action", "visibility": "removed",
                                     "decided_at": "2026-03-20 09:00", "territorial_scope": "DE"})
    assert resp.status_code == 302
    page = client.get(f"/filings/{filing.id}").get_data(as_text=True)
    assert "decided: removed in 1 country" in page and "TW-88" in page and "complaint possible until" in page
    client.get("/auth/logout")
    login(client, db.session.scalars(db.select(User).where(User.email == "viewer@example.org")).one())
    page = client.get(f"/filings/{filing.id}")
    assert page.status_code == 200 and "Record the platform" not in page.get_data(as_text=True)
    assert client.post(decide, data={"entry_ids": [second], "answer": "no_answer"}).status_code == 403
    assert third not in [e.id for e in filing.entries]


def test_the_assistant_cuts_at_a_sentence_and_says_so():
    from reportkit.services.assistant import cut

    text = "He calls for the killing of journalists. He names three of them. " + "Details follow. " * 40
    short, was_cut = cut(text, 70)
    assert was_cut and short == "He calls for the killing of journalists. He names three of them.…"
    assert len(cut(text, 100)[0]) <= 100 and cut(text, 100)[0].endswith("Details follow.…")
    assert cut("آیا این تهدید است؟ بله، تهدید مستقیم است.", 25) == ("آیا این تهدید است؟…", True)
    assert cut("one " * 50, 30)[0].endswith("…") and len(cut("one " * 50, 30)[0]) <= 30
    assert cut("Short and whole.", 100) == ("Short and whole.", False)


def test_the_assistant_gives_each_field_and_records_a_submission(client, login, filed):
    from reportkit.models import Entry, Filing
    from reportkit.services.entries import add_violation

    owner = filed["owner"]
    entry = db.session.get(Entry, filed["entries"][0])
    add_violation(owner, entry, "x/violent_content/violent_threats", "Calls for the journalists to be killed.")
    login(client, owner)
    url = f"/cases/{filed['case']}/filings/assistant?platform=x&channel=dsa_notice"
    page = client.get(url).get_data(as_text=True)
    assert "Calls for the journalists to be killed." in page and "bona fide" in page
    assert "No legal ground on this entry" in page and 'data-copy="f-' in page
    resp = client.post(url, data={"entry_id": entry.id, "reference": "N-77"})
    assert resp.status_code == 302 and resp.location.endswith(f"#entry-{entry.id}")
    filing = db.session.scalars(db.select(Filing)).one()
    assert (filing.channel, filing.reference, [e.id for e in filing.entries]) == ("dsa_notice", "N-77", [entry.id])
    assert "submitted</span>" in client.get(url).get_data(as_text=True)
    other = f"/cases/{filed['case']}/filings/assistant?platform=youtube&channel=in_app"
    client.post(other, data={"entry_id": entry.id})
    assert db.session.scalars(db.select(Filing)).all() == [filing]  # an X post is not filed from YouTube's list


EML = (b"Return-Path: <noreply@platform.example>\r\nFrom: Trust and Safety <noreply@platform.example>\r\n"
       b"Subject: We received your report DSA-4411\r\n\r\nThank you for your report.\r\n")


def test_files_of_a_filing_are_kept_by_hash_and_checked(client, login, filed):
    from reportkit.models import FilingFile
    from reportkit.services.byte_uses import hashes_in_use

    from .conftest import png_bytes

    filing = _file(client, filed).json
    login(client, filed["owner"])
    url = f"/filings/{filing['id']}/files"
    resp = client.post(url, data={"file": (io.BytesIO(EML), "confirmation.eml"), "kind": "confirmation",
                                  "decision_id": "0"}, content_type="multipart/form-data")
    assert resp.status_code == 302
    client.post(url, data={"file": (io.BytesIO(png_bytes()), "form.png"), "kind": "confirmation"},
                content_type="multipart/form-data")
    refused = client.post(url, data={"file": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 200), "tool.exe"),
                                     "kind": "confirmation"}, content_type="multipart/form-data",
                          follow_redirects=True)
    assert "Attach a screenshot" in refused.get_data(as_text=True)
    rows = db.session.scalars(db.select(FilingFile).order_by(FilingFile.id)).all()
    assert [(r.name, r.mime) for r in rows] == [("confirmation.eml", "message/rfc822"), ("form.png", "image/png")]
    sha = hashlib.sha256(EML).hexdigest()
    assert rows[0].sha256 == sha and sha in hashes_in_use([sha])  # gc and purge leave it alone
    download = client.get(f"/filings/files/{rows[0].id}")
    assert download.data == EML and download.headers["Content-Disposition"].startswith("attachment")
    download.close()
    assert verify_case(filed["case"], app_store()).ok
    path = app_store().path_for(sha)
    path.chmod(0o644)
    path.write_bytes(EML + b"altered")
    report = verify_case(filed["case"], app_store())
    assert not report.ok and any(f"file {rows[0].id} of filing {filing['id']}" in p for p in report.problems)


def test_the_case_page_and_api_filter_entries_by_where_reporting_stands(client, login, filed):
    filing = _file(client, filed, entry_ids=filed["entries"][:2]).json
    client.post(f"/api/v1/filings/{filing['id']}/decisions", headers=filed["headers"],
                json={"entry_ids": [filed["entries"][0]], "visibility": "removed", "decided_at": "2026-03-05T00:00Z"})
    client.post(f"/api/v1/filings/{filing['id']}/appeals", headers=filed["headers"],
                json={"kind": "appeal", "entry_id": filed["entries"][0]})
    api = f"/api/v1/cases/{filed['case']}/entries?filing="
    numbers = {key: sorted(e["number"] for e in client.get(api + key, headers=filed["headers"]).json["entries"])
               for key in ("not_filed", "filed", "no_answer", "decided", "appealed")}
    assert numbers == {"not_filed": [3], "filed": [1, 2], "no_answer": [2], "decided": [1], "appealed": [1]}
    assert client.get(api + "zz", headers=filed["headers"]).status_code == 422
    login(client, filed["owner"])
    page = client.get(f"/cases/{filed['case']}?filing=no_answer").get_data(as_text=True)
    assert f"/entries/{filed['entries'][1]}" in page and f"/entries/{filed['entries'][0]}\"" not in page


def test_the_entry_page_shows_reporting_and_rechecks_on_request(app, client, login, filed):
    from reportkit.models import Observation

    entry_id = filed["entries"][0]
    login(client, filed["owner"])
    page = client.get(f"/entries/{entry_id}").get_data(as_text=True)
    assert "Not reported yet." in page and f"/cases/{filed['case']}/filings/new?entry={entry_id}" in page
    form = client.get(f"/cases/{filed['case']}/filings/new?entry={entry_id}").get_data(as_text=True)
    assert form.count("checked") == 1 and f'value="{entry_id}"' in form
    _file(client, filed, entry_ids=[entry_id])
    page = client.get(f"/entries/{entry_id}").get_data(as_text=True)
    assert "DSA-4411" in page and "Not checked yet" in page and "Re-check now" in page
    resp = client.post(f"/entries/{entry_id}/recheck")
    assert resp.status_code == 302 and resp.location.endswith("#reporting")
    for _ in range(100):  # the queue's consumer asks the (closed, in tests) endpoint
        db.session.rollback()
        if db.session.scalars(db.select(Observation)).first():
            break
        time.sleep(0.1)
    page = client.get(f"/entries/{entry_id}").get_data(as_text=True)
    assert "<strong>unknown</strong>" in page and "Network error" in page  # never a guess


def test_a_reopen_of_a_filed_entry_says_which_filings_it_was_part_of(client, filed, make_user):
    from reportkit.models import Entry
    from reportkit.services import reviews
    from reportkit.services.cases import add_member

    reviewer = make_user("reviewer@example.org")
    entry = db.session.get(Entry, filed["entries"][0])
    add_member(None, entry.case, reviewer.email, "reviewer")
    entry.status, entry.approved_at = "approved", datetime.now(UTC)  # sealed, as four eyes leave it
    db.session.commit()
    _file(client, filed, entry_ids=[entry.id])
    reviews.transition(reviewer, db.session.get(Entry, entry.id), "reopen", "The translation was wrong.")
    event = db.session.scalars(db.select(Event).where(Event.action == "status.changed")
                               .order_by(Event.id.desc())).first()
    assert [f["reference"] for f in event.data["filings"]] == ["DSA-4411"]
    assert event.data["filings"][0]["document_sha256"] == filed["sha"]
    assert "it had been reported: X / Twitter 2026-03-01 (DSA-4411)" in describe_events([event])[0].text


def test_a_follow_up_dossier_cites_the_filing_and_prints_only_what_the_platform_left(
        app, client, login, case_with_entries):  # noqa: F811 - the imported fixture
    from pypdf import PdfReader

    from reportkit.models import Dossier
    from reportkit.services.dossier.job import build_dossier, create_dossier
    from reportkit.services.dossier.options import OptionsError, read_options
    from reportkit.services.filings import record_decision

    user, case, entries = case_with_entries
    filed_with = [entries[1], entries[3], entries[0]]  # numbers 2, 4, 1
    filing = record_filing(user, case.id, "x", "in_app", [e.id for e in filed_with],
                           filed_at=datetime(2026, 3, 1, 10, tzinfo=UTC), reference="TW-ASK-1")
    record_decision(user, filing, {"entry_ids": [entries[1].id], "visibility": "removed",
                                   "decided_at": datetime(2026, 3, 3, tzinfo=UTC)})
    record_decision(user, filing, {"entry_ids": [entries[3].id], "no_action": True,
                                   "decided_at": datetime(2026, 3, 4, tzinfo=UTC),
                                   "explanation": "We did not find a violation of our rules."})
    options = read_options(case, {"follow_up_filing": filing.id, "approved_only": False})
    assert options.entry_numbers == [1, 4]
    dossier = create_dossier(user, case, options)
    build_dossier(dossier, app_store(), workers=0)
    reader = PdfReader(str(app_store().path_for(dossier.sha256)))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Follow-up of an earlier report" in text and "TW-ASK-1" in text
    assert "No violation found, decided 2026-03-04." in text and "We did not find a violation of our rules." in text
    assert "No decision received" in text
    assert "Entry 2 ·" not in text  # removed: nothing to ask again
    assert "Follow-up of an earlier report" in [i.title for i in reader.outline if not isinstance(i, list)]
    with pytest.raises(OptionsError, match="Not a filing of this case"):
        read_options(case, {"follow_up_filing": 999})
    login(client, user)
    resp = client.post(f"/filings/{filing.id}/follow-up")
    assert resp.status_code == 302 and "/dossiers/" in resp.location
    made = db.session.scalars(db.select(Dossier).order_by(Dossier.id.desc())).first()
    assert made.options["follow_up_filing"] == filing.id and made.options["entry_numbers"] == [1, 4]


def test_an_appeals_outcome_is_recorded_when_it_comes(client, login, filed):
    filing = _file(client, filed).json
    client.post(f"/api/v1/filings/{filing['id']}/decisions", headers=filed["headers"],
                json={"no_action": True, "decided_at": "2026-03-05T00:00Z"})
    appeal = client.post(f"/api/v1/filings/{filing['id']}/appeals", headers=filed["headers"],
                         json={"kind": "internal_complaint", "filed_at": "2026-03-06T00:00Z"}).json
    url = f"/api/v1/appeals/{appeal['id']}"
    early = client.patch(url, headers=filed["headers"], json={"outcome": "reversed",
                                                              "outcome_at": "2026-03-01T00:00Z"})
    assert early.status_code == 422 and "outcome_at" in early.json["error"]["fields"]
    assert client.patch(url, headers=filed["headers"], json={"kind": "appeal"}).status_code == 422
    done = client.patch(url, headers=filed["headers"], json={"outcome": "reversed", "outcome_at": "2026-03-20T00:00Z"})
    assert done.status_code == 200 and done.json["outcome"] == "reversed"
    event = db.session.scalars(db.select(Event).where(Event.action == "appeal.changed")).one()
    assert "reversed" in describe_events([event])[0].text
    login(client, filed["owner"])
    second = client.post(f"/api/v1/filings/{filing['id']}/appeals", headers=filed["headers"],
                         json={"kind": "coordinator"}).json
    resp = client.post(f"/appeals/{second['id']}/outcome", data={"outcome": "upheld", "outcome_at": ""})
    assert resp.status_code == 302
    got = client.get(f"/api/v1/filings/{filing['id']}", headers=filed["headers"]).json["appeals"]
    assert [a["outcome"] for a in got] == ["reversed", "upheld"] and got[1]["outcome_at"]
    assert verify_case(filed["case"], app_store()).ok
