"""One list of entry fields checked the same way by every way in (page, API, import, service), and one service
that creates an import from a file for the page, the API and the command line."""

import inspect
import io
import json

import pytest
from sqlalchemy import String, func, select

from reportkit.entries.forms import EntryForm
from reportkit.extensions import db
from reportkit.models import Entry, Event, Import
from reportkit.models.entries import EDITABLE, FIELDS
from reportkit.services import entries as entry_ops
from reportkit.services import evidence as evidence_ops
from reportkit.services.entries import LANGUAGE_MESSAGE, EntryError, create_entry, update_entry
from reportkit.services.intake import TARGETS, TableError, create_import
from reportkit.services.storage import app_store

BAD_TAG = "not a tag!"


@pytest.fixture
def setup(app, make_user, make_case):
    user = make_user()
    return user, make_case(user, accounts=[{"platform": "telegram", "handle": "leader_fa"}])


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _stored_files(app) -> set:
    return {p.name for p in app_store(app).root.rglob("*") if p.is_file()} if app_store(app).root.exists() else set()


# --- one list of entry fields ----------------------------------------------------------------------------------

def test_the_form_the_columns_and_the_import_follow_the_one_list(app):
    assert EDITABLE == tuple(FIELDS)
    form_fields = set(EntryForm.__dict__) | {name for name in dir(EntryForm) if not name.startswith("_")}
    assert set(EDITABLE) <= form_fields  # a field in the list without a form field would never be shown
    for name, spec in FIELDS.items():
        column = Entry.__table__.c[name]
        if isinstance(column.type, String) and column.type.length:  # a one-line field: its column holds its max
            assert column.type.length == spec.max, name
        assert spec.label and spec.kind in ("text", "line", "language", "choice", "severity", "flag", "time"), name
    assert {"text", "language", "translation", "translation_method", "notes"} <= set(TARGETS)


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"language": BAD_TAG}, "language", LANGUAGE_MESSAGE),
    ({"translation_method": "telepathy"}, "translation_method", "must be one of: human, machine"),
    ({"capture_method": "guess"}, "capture_method", "must be one of"),
    ({"translator": "t" * 201}, "translator", "longer than 200 characters"),
    ({"text": "x" * 50_001}, "text", "longer than 50000"),
    ({"notes": "a\x00b"}, "notes", "NUL"),
    ({"graphic": "yes"}, "graphic", "true or false"),
    ({"legal_law": 7}, "legal_law", "give text"),
])
def test_the_service_refuses_a_bad_field_and_saves_nothing(setup, fields, field, message):
    user, case = setup
    with pytest.raises(EntryError, match=message) as refused:
        create_entry(user, case, "https://t.me/leader_fa/1", fields)
    assert refused.value.field == field
    db.session.rollback()
    assert _count(Entry) == 0 and _count(Event, Event.action == "entry.created") == 0


def test_an_edit_is_checked_by_the_same_list(setup):
    user, case = setup
    entry = create_entry(user, case, "https://t.me/leader_fa/1", {"language": " fa "})
    assert entry.language == "fa"  # only the spaces around a tag go
    with pytest.raises(EntryError, match="language tag"):
        update_entry(user, entry, {"language": BAD_TAG})
    db.session.rollback()
    assert db.session.get(Entry, entry.id).language == "fa"


def test_every_way_in_refuses_a_bad_language_tag_with_the_same_words(setup, app, client, login, token_for):
    user, case = setup
    login(client, user)
    page = client.post(f"/entries/new/{case.id}", data={"url": "https://t.me/leader_fa/1", "account_id": "0",
                                                       "language": BAD_TAG})
    assert page.status_code == 200 and LANGUAGE_MESSAGE in page.data.decode()
    api = app.test_client().post(f"/api/v1/cases/{case.id}/entries", headers=token_for(user),
                                 json={"url": "https://t.me/leader_fa/2", "language": BAD_TAG})
    assert api.status_code == 422 and api.json["error"]["fields"]["language"] == [LANGUAGE_MESSAGE]
    job = create_import(user, case, "rows.csv", f"url,language\nhttps://t.me/leader_fa/3,{BAD_TAG}\n"
                                                f"https://t.me/leader_fa/4,fa\n".encode(), start=True)
    from reportkit.services.intake import import_rows, read_table
    headers, rows = read_table(app_store().path_for(job.file_sha256).read_bytes())
    import_rows(user, case, job, headers, rows)
    assert [(r["status"], r["reason"]) for r in job.results] == [("invalid", LANGUAGE_MESSAGE), ("created", "")]
    assert [e.post_id for e in db.session.scalars(select(Entry))] == ["4"]  # the import skipped no check


def test_the_import_preview_says_what_the_service_will_refuse(setup, client, login):
    user, case = setup
    login(client, user)
    long_text = "x" * 50_001
    job = create_import(user, case, "rows.csv", f"url,language,text\nhttps://t.me/leader_fa/3,{BAD_TAG},a\n"
                                                f"https://t.me/leader_fa/4,fa,{long_text}\n".encode())
    page = client.get(f"/imports/{job.id}/map").data.decode()
    assert LANGUAGE_MESSAGE in page and "longer than 50000 characters" in page


def test_no_commit_log_or_known_flags_and_the_actor_comes_first():
    for function in (entry_ops.create_entry, entry_ops.add_violation, evidence_ops.add_archive_link):
        assert not {"commit", "log", "known"} & set(inspect.signature(function).parameters), function
    for function in (entry_ops.remove_violation, entry_ops.create_entry, entry_ops.update_entry,
                     entry_ops.new_entry, entry_ops.attach_violation, evidence_ops.attach_archive_link,
                     create_import):
        first = next(iter(inspect.signature(function).parameters.values()))
        assert first.name == "actor" and first.default is inspect.Parameter.empty, function


# --- one service creates an import ---------------------------------------------------------------------------

ROWS = [{"link": "https://t.me/leader_fa/5", "words": "a"}]


def test_page_api_and_command_line_create_imports_alike(setup, app, client, login, token_for, runner, tmp_path):
    user, case = setup
    login(client, user)
    csv_bytes = b"link,words\nhttps://t.me/leader_fa/1,a\n"
    resp = client.post(f"/imports/new/{case.id}", data={"upload-file": (io.BytesIO(csv_bytes), "x.csv"),
                                                       "upload-submit": "1"})
    assert resp.status_code == 302
    api = app.test_client().post(f"/api/v1/cases/{case.id}/imports", headers=token_for(user),
                                 json={"rows": ROWS, "mapping": {"url": "link", "text": "words"}})
    assert api.status_code == 202
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{"link": "https://t.me/leader_fa/9", "words": "b"}]), encoding="utf-8")
    result = runner.invoke(args=["import", str(case.id), str(path), "--map", "url=link"])
    assert result.exit_code == 0, result.output
    jobs = db.session.scalars(select(Import).order_by(Import.id)).all()
    # the command line labelled a JSON file as CSV: each is labelled by how it is read now
    assert [(j.kind, j.filename) for j in jobs] == [("csv", "x.csv"), ("json", "rows.json"), ("json", "rows.json")]
    assert [j.status for j in jobs][0] == "mapping"
    created = db.session.scalars(select(Event).where(Event.action == "import.created").order_by(Event.id)).all()
    assert [e.target for e in created] == [f"import:{j.id}" for j in jobs]
    assert [e.actor_id for e in created] == [user.id] * 3
    for job, event in zip(jobs, created, strict=True):
        assert event.data["file_sha256"] == job.file_sha256 and event.data["rows"] == 1
        assert app_store().path_for(job.file_sha256).exists()  # kept: the import can be resumed and checked
    assert "mapping" not in created[0].data and created[2].data["mapping"]["url"] == "link"


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"data": b""}, "file", "empty"),
    ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
    ({"calendar": "lunar"}, "calendar", "Unknown calendar"),
    ({"mapping": {"url": "nope"}}, "mapping", "columns are link, words"),
    ({"mapping": {"colour": "link"}}, "mapping", "fields are url"),
    ({"mapping": "url=link"}, "mapping", "{field: column}"),
    ({"mapping": {"text": "words"}, "start": True}, "url", "Which column holds the post URL"),
])
def test_a_refused_import_keeps_no_row_no_event_and_no_bytes(setup, app, kwargs, field, message):
    user, case = setup
    before = _stored_files(app)
    args = {"data": b"link,words\nhttps://t.me/leader_fa/1,a\n", **kwargs}
    with pytest.raises(TableError, match=message) as refused:
        create_import(user, case, "x.csv", **args)
    assert refused.value.field == field
    assert _count(Import) == 0 and _count(Event, Event.action == "import.created") == 0
    assert _stored_files(app) == before


def test_the_api_answers_a_refused_import_by_its_field(setup, app, token_for):
    user, case = setup
    api = app.test_client()
    resp = api.post(f"/api/v1/cases/{case.id}/imports", headers=token_for(user),
                    json={"rows": ROWS, "mapping": {"url": "link"}, "timezone": "Mars/Olympus"})
    assert resp.status_code == 422 and "Unknown time zone" in resp.json["error"]["fields"]["timezone"][0]
    resp = api.post(f"/api/v1/cases/{case.id}/imports", headers=token_for(user),
                    json={"rows": ROWS, "mapping": {"url": "nope"}})
    assert resp.status_code == 422 and "columns are" in resp.json["error"]["fields"]["mapping"][0]
    assert _count(Import) == 0


def test_mapping_page_saves_nothing_refused_and_starts_once(setup, app, client, login):
    user, case = setup
    login(client, user)
    job = create_import(user, case, "x.csv", b"link,when\nhttps://t.me/leader_fa/1,2024-05-01\n")
    url = f"/imports/{job.id}/map"
    bad = client.post(url, data={"map_url": "link", "timezone": "Mars/Olympus", "calendar": "auto", "submit": "1"})
    assert bad.status_code == 200 and "Unknown time zone" in bad.data.decode()
    no_url = client.post(url, data={"map_url": "", "map_posted_at": "when", "timezone": "Asia/Tehran",
                                    "calendar": "auto", "submit": "1"})
    assert "Which column holds the post URL" in no_url.data.decode()
    db.session.expire_all()
    saved = db.session.get(Import, job.id)
    assert (saved.status, saved.timezone, saved.mapping) == ("mapping", "UTC", {"url": "link"})  # as guessed
    preview = client.post(url, data={"map_url": "link", "map_posted_at": "when", "timezone": "Asia/Tehran",
                                     "calendar": "auto", "preview": "1"})
    assert preview.status_code == 200 and "t.me/leader_fa/1" in preview.data.decode()
    db.session.expire_all()
    assert db.session.get(Import, job.id).timezone == "Asia/Tehran"  # a preview keeps the draft: nothing recorded
    assert _count(Event, Event.action == "import.mapped") == 0
    go = {"map_url": "link", "map_posted_at": "", "timezone": "UTC", "calendar": "auto", "submit": "1"}
    assert client.post(url, data=go).status_code == 302
    again = client.post(url, data=go)  # sent twice (a double click): the import was already started
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/imports/{job.id}")
    mapped = db.session.scalars(select(Event).where(Event.action == "import.mapped")).all()
    assert len(mapped) == 1 and mapped[0].data["mapping"] == {"url": "link"} and mapped[0].actor_id == user.id


def test_an_outsider_gets_the_same_404_for_an_import_on_the_page_and_the_api(setup, app, make_user, login,
                                                                          token_for):
    user, case = setup
    job = create_import(user, case, "x.csv", b"link\nhttps://t.me/leader_fa/1\n")
    stranger = make_user("mallory@example.org")
    page, api = app.test_client(), app.test_client()
    login(page, stranger)
    for path in (f"/imports/{job.id}", f"/imports/{job.id}/map", f"/imports/{job.id}/status.json",
                 f"/imports/{job.id}/results.csv"):
        theirs, missing = page.get(path), page.get(path.replace(str(job.id), str(job.id + 1000)))
        assert theirs.status_code == missing.status_code == 404 and theirs.data == missing.data, path
    headers = token_for(stranger)
    theirs = api.get(f"/api/v1/imports/{job.id}", headers=headers)
    missing = api.get(f"/api/v1/imports/{job.id + 1000}", headers=headers)
    assert theirs.status_code == missing.status_code == 404 and theirs.json == missing.json
    resume = api.post(f"/api/v1/imports/{job.id}/resume", headers=headers)
    assert resume.status_code == 404 and resume.json == missing.json
