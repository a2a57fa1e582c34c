"""Odd input on the forms and API routes: each case gets its own status and says what is wrong, never a 500, and
a refused request saves nothing (no row, no custody event)."""

import html
import io
import json
import re

import pytest
from sqlalchemy import func, select

from reportkit import create_app
from reportkit.extensions import db
from reportkit.models import Entry, Event, Import
from reportkit.services.intake import TableError, read_table
from tests.conftest import png_bytes


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _visible(body: str) -> str:
    """A page's text as a person reads it: no tags, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _file(data: bytes, name: str):
    return lambda: (io.BytesIO(data), name)


# (method, path, form fields (a callable value is a file, built per request), status, what the page says,
#  whether the request is refused: then it saves nothing). {case} and {entry} are filled in by the test.
PAGE_CASES = [
    pytest.param("GET", "/dossiers/export/{case}.csv?date_from=zz", None, 422, "date_from: Use YYYY-MM-DD.", True,
                 id="export-csv-date-not-a-date"),
    pytest.param("GET", "/dossiers/export/{case}.csv?account=abc", None, 422,
                 "account: Give an account id (a number).", True, id="export-csv-account-not-a-number"),
    # a clause no entry has is honestly applied: the export holds the header row and no entry
    pytest.param("GET", "/dossiers/export/{case}.csv?clause=%00", None, 200, "number,platform,account", True,
                 id="export-csv-nul-clause-exports-nothing"),
    pytest.param("GET", "/dossiers/export/{case}.csv?clause=nonsense", None, 200, "number,platform,account", True,
                 id="export-csv-unknown-clause-exports-nothing"),
    pytest.param("GET", "/cases/{case}?page=-5", None, 200, "Case A", True, id="case-page-negative-page-is-page-1"),
    pytest.param("GET", "/cases/{case}?account=zz", None, 200, "Unknown account “zz”", True,
                 id="case-filter-account-not-an-id"),
    pytest.param("GET", "/cases/{case}?status=zz", None, 200, "Unknown status “zz”", True,
                 id="case-filter-unknown-status"),
    pytest.param("GET", "/cases/{case}?platform=zz&filing=zz", None, 200, "Unknown reporting state “zz”", True,
                 id="case-filter-unknown-reporting-state"),
    pytest.param("GET", "/cases/{case}?date_from=zz", None, 200, "Not a valid date value.", True,
                 id="case-page-date-not-a-date"),
    pytest.param("POST", "/imports/new/{case}",
                 {"upload-file": _file(b"\x00\xff\xfe\x00garbage\x89PNG", "x.csv"), "upload-submit": "1"}, 200,
                 "The name of column 1 contains a NUL character", True, id="import-page-binary-garbage"),
    pytest.param("POST", "/reviews/evidence/999/regions", {"x": "a"}, 404,
                 "Nothing here — or nothing you have access to.", True, id="region-of-no-such-evidence"),
    pytest.param("POST", "/reviews/entries/{entry}/transition", {"to": "x" * 500}, 302, "Unknown status “xxx", True,
                 id="transition-to-unknown-status"),
    pytest.param("POST", "/dossiers/new/{case}", {"mode": "zzz"}, 422, "One of: rules, dsa.", True,
                 id="dossier-unknown-mode"),
    pytest.param("POST", "/dossiers/new/{case}", {"paper": "A0"}, 422, "One of: A4, Letter.", True,
                 id="dossier-unknown-paper"),
    pytest.param("POST", "/dossiers/new/{case}", {"account": "x"}, 422, "Give an account id (a number).", True,
                 id="dossier-account-not-a-number"),
    pytest.param("POST", "/dossiers/new/{case}", {"date_from": "bad"}, 422, "Use YYYY-MM-DD.", True,
                 id="dossier-date-not-a-date"),
    pytest.param("POST", "/evidence/upload/{entry}", {"kind": "nonsense", "files": lambda: (io.BytesIO(b"x"), "a.png")},
                 422, "Not a valid choice", True, id="upload-kind-not-a-kind"),
]


@pytest.mark.parametrize("method,path,fields,status,says,refused", PAGE_CASES)
def test_odd_page_input_is_answered_with_its_reason(setup, client, make_entry, method, path, fields, status, says,
                                                    refused):
    user, case, _ = setup
    entry = make_entry(case, user)
    before = _count(Event), _count(Import), _count(Entry)
    data = {k: v() if callable(v) else v for k, v in (fields or {}).items()}
    resp = client.open(path.format(case=case.id, entry=entry.id), method=method, data=data)
    body = resp.get_data(as_text=True)
    resp.close()
    assert resp.status_code == status, (resp.status_code, body[-1500:])
    if status == 302:  # refused on a page that redirects: the reason is flashed on the next page
        shown = client.get(resp.headers["Location"])
        body = shown.get_data(as_text=True)
        shown.close()
    assert says in _visible(body), _visible(body)[-1500:]
    if path.startswith("/dossiers/export/") and status == 200:
        assert body.lstrip("\ufeff").count("\n") == 1, body[:500]  # the header row only
    if refused:
        db.session.rollback()
        assert (_count(Event), _count(Import), _count(Entry)) == before


def test_a_json_cell_that_is_an_object_goes_on_to_the_mapping_page(setup, client):
    """A nested value is not refused at upload: the row is judged when it runs, like any other bad cell."""
    _, case, _ = setup
    resp = client.post(f"/imports/new/{case.id}",
                       data={"upload-file": (io.BytesIO(b'[{"url": {"a": 1}}]'), "x.json"), "upload-submit": "1"})
    resp.close()
    assert resp.status_code == 302 and re.fullmatch(r"/imports/\d+/map", resp.headers["Location"])
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200 and "Map the columns of x.json" in _visible(page.get_data(as_text=True))
    page.close()


# (method, path, body, status, message part, the field named in `fields` or None)
API_CASES = [
    pytest.param("POST", "/api/v1/cases/{case}/dossiers", {"json": {"account_id": 99999}}, 422,
                 "Not an account of this case.", "account_id", id="dossier-account-of-no-one"),
    pytest.param("POST", "/api/v1/cases/{case}/dossiers", {"json": {"entry_numbers": [1, "x"]}}, 422,
                 "Give a list of entry numbers.", "entry_numbers", id="dossier-entry-number-not-a-number"),
    pytest.param("POST", "/api/v1/cases/{case}/dossiers", {"json": {"date_to": 5}}, 422, "Use YYYY-MM-DD.", "date_to",
                 id="dossier-date-not-a-string"),
    pytest.param("POST", "/api/v1/cases/{case}/imports",
                 {"json": {"rows": [{"url": "https://t.me/a/1"}], "mapping": {"url": "url"}, "timezone": "Nowhere/X"}},
                 422, "Unknown time zone “Nowhere/X”.", "timezone", id="import-unknown-time-zone"),
    pytest.param("POST", "/api/v1/cases/{case}/imports",
                 {"data": {"file": _file(b"a,b\n", "x.csv"), "mapping": "[1,2]"}}, 422,
                 "Give the mapping as {field: column}.", "mapping", id="import-mapping-not-an-object"),
    pytest.param("POST", "/api/v1/entries/{entry}/transitions", {"json": {"to": 5}}, 422,
                 "Give `to` (and an optional `reason`) as strings.", "to", id="transition-to-a-number"),
    pytest.param("POST", "/api/v1/entries/{entry}/annotations", {"json": {"body": "x", "kind": "weird"}}, 422,
                 "Unknown kind “weird”.", "kind", id="annotation-unknown-kind"),
    pytest.param("POST", "/api/v1/entries/{entry}/annotations", {"json": {"body": "x", "include_in_dossier": "yes"}},
                 422, "Give true or false.", "include_in_dossier", id="annotation-include-not-a-boolean"),
    pytest.param("PATCH", "/api/v1/entries/{entry}", {"json": {"tags": [1, 2]}}, 422, "Give a list of strings.", "tags",
                 id="entry-tags-not-strings"),
    pytest.param("PATCH", "/api/v1/entries/{entry}", {"json": {"captured_at": "2024-01-01"}}, 422,
                 "Give a time zone, e.g. Z for UTC.", "captured_at", id="entry-time-without-zone"),
    pytest.param("GET", "/api/v1/cases/{case}/entries?page=abc", {}, 400,
                 "page and per_page must be whole numbers.", None, id="entries-page-not-a-number"),
]


@pytest.mark.parametrize("method,path,body,status,says,field", API_CASES)
def test_odd_api_input_is_answered_with_its_reason(setup, app, make_entry, method, path, body, status, says, field):
    user, case, headers = setup
    entry = make_entry(case, user)
    before = _count(Event), _count(Import), _count(Entry)
    kw = {k: ({f: v() if callable(v) else v for f, v in value.items()} if k == "data" else value)
          for k, value in body.items()}
    resp = app.test_client().open(path.format(case=case.id, entry=entry.id), method=method, headers=headers, **kw)
    resp.close()
    assert resp.status_code == status, resp.data[:500]
    error = resp.json["error"]
    if field:  # the reason is said beside the field it is about (and may be summed up in the message)
        assert field in error["fields"] and any(says in m for m in [error["message"], *error["fields"][field]]), error
    else:
        assert says in error["message"], error
    db.session.rollback()
    assert (_count(Event), _count(Import), _count(Entry)) == before


def test_api_per_page_over_the_limit_is_the_limit_and_says_so(setup, app, make_entry):
    """per_page is capped at 200, as the OpenAPI document says, and the answer names the page size it used."""
    user, case, headers = setup
    make_entry(case, user)
    resp = app.test_client().get(f"/api/v1/cases/{case.id}/entries?per_page=100000", headers=headers)
    resp.close()
    assert resp.status_code == 200 and resp.json["per_page"] == 200 and resp.json["total"] == 1


def test_api_import_row_of_a_list_is_queued_and_counted(setup, app):
    """A JSON row whose cell is a list is accepted as one row; the run judges the cell like any other."""
    _, case, headers = setup
    resp = app.test_client().post(f"/api/v1/cases/{case.id}/imports", headers=headers,
                                  json={"rows": [{"url": ["x"]}], "mapping": {"url": "url"}})
    resp.close()
    assert resp.status_code == 202 and resp.json["total"] == 1 and resp.json["created"] == 0


# --- issue 12: each of these answered 500 or hung; each gets a 4xx with a message and saves nothing ---------

DEEP = b"[" * 100_000 + b"]" * 100_000


def _multipart(file_field: str, data: bytes, **fields) -> dict:
    """A multipart body built here: the test client spools a large one to a temp file it never closes."""
    parts = [f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f'--B\r\nContent-Disposition: form-data; name="{file_field}"; filename="x.csv"\r\n'
                 "Content-Type: text/csv\r\n\r\n".encode() + data + b"\r\n--B--\r\n")
    return {"data": b"".join(parts), "content_type": "multipart/form-data; boundary=B"}


def _upload(client, case, data: bytes):
    resp = client.post(f"/imports/new/{case.id}", **_multipart("upload-file", data, **{"upload-submit": "1"}))
    body = resp.get_data(as_text=True)
    resp.close()
    return resp, body


@pytest.fixture
def setup(app, make_user, make_case, login, client, token_for):
    user = make_user()
    case = make_case(user)
    login(client, user)
    return user, case, token_for(user)


BAD_TABLES = {
    "cell over csv's field limit": (b"url,text\nhttps://t.me/a/1," + b"x" * 131_073 + b"\n", "longer than"),
    "100,000 columns": (",".join(f"c{i}" for i in range(100_000)).encode() + b"\n" + b"1," * 99_999 + b"1\n",
                        "columns"),
    "JSON nested 100,000 deep": (DEEP, "nested"),
    "JSON row nested 100,000 deep": (b'[{"url": ' + DEEP + b"}]", "nested"),
    "JSON object with 100,000 keys": (json.dumps([{f"k{i}": 1 for i in range(100_000)}]).encode(), "columns"),
    "lone surrogate in JSON": (b'[{"url": "https://t.me/a/1", "text": "bad \\ud800 text"}]', "surrogate"),
    "lone surrogate in UTF-16": ("url,text\nhttps://t.me/a/1,".encode("utf-16") + b"\x00\xd8"
                                 + "x\n".encode("utf-16-le"), "UTF-16"),
    "column name of 100,000 characters": (b"url," + b"h" * 100_000 + b"\nhttps://t.me/a/1,x\n", "column name"),
}


@pytest.mark.parametrize("data,says", BAD_TABLES.values(), ids=BAD_TABLES.keys())
def test_bad_tables_are_refused_with_a_message(data, says):
    with pytest.raises(TableError, match=says):
        read_table(data)


@pytest.mark.parametrize("data,says", BAD_TABLES.values(), ids=BAD_TABLES.keys())
def test_bad_tables_on_the_page_and_the_api_save_nothing(setup, app, client, data, says):
    user, case, headers = setup
    resp, body = _upload(client, case, data)
    assert resp.status_code == 200 and says in body, body[-2000:]
    api = app.test_client()
    resp = api.post(f"/api/v1/cases/{case.id}/imports", headers=headers, **_multipart("file", data))
    resp.close()
    assert resp.status_code == 422 and says in resp.json["error"]["message"], resp.data[:300]
    assert _count(Import) == 0


def test_mapping_page_of_the_widest_allowed_table_is_small(setup, client):
    from reportkit.services.intake.tables import MAX_COLUMNS

    user, case, _ = setup
    header = ",".join(f"column number {i}" for i in range(MAX_COLUMNS - 1))
    resp, _ = _upload(client, case, f"url,{header}\nhttps://t.me/a/1\n".encode())
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200 and len(page.data) < 3_000_000
    page.close()


def test_api_json_nested_100000_deep_is_400(setup, app, make_entry):
    user, case, headers = setup
    entry = make_entry(case, user)
    api = app.test_client()
    for method, url in (("PATCH", f"/api/v1/entries/{entry.id}"), ("POST", f"/api/v1/cases/{case.id}/entries"),
                        ("POST", "/api/v1/cases")):
        resp = api.open(url, method=method, headers=headers, data=DEEP, content_type="application/json")
        assert resp.status_code == 400 and "nested" in resp.json["error"]["message"], (url, resp.data[:300])
    # the import route reads its JSON body itself: {"rows": <deep>}
    resp = api.post(f"/api/v1/cases/{case.id}/imports", headers=headers, data=b'{"rows": ' + DEEP + b"}",
                    content_type="application/json")
    assert resp.status_code == 400 and "nested" in resp.json["error"]["message"], resp.data[:300]
    # a file upload whose `mapping` form field is nested as deep
    resp = api.post(f"/api/v1/cases/{case.id}/imports", headers=headers,
                    data={"file": (io.BytesIO(b"url\nhttps://t.me/a/1\n"), "a.csv"), "mapping": DEEP.decode()})
    assert resp.status_code == 422 and "mapping" in resp.json["error"]["fields"], resp.data[:300]
    assert _count(Import) == 0


def test_api_lone_surrogate_is_422_and_saves_nothing(setup, app, make_entry):
    user, case, headers = setup
    entry = make_entry(case, user)
    events = _count(Event)
    api = app.test_client()
    bodies = [("PATCH", f"/api/v1/entries/{entry.id}", b'{"notes": "a\\udc00b"}', "notes"),
              ("POST", f"/api/v1/cases/{case.id}/entries",
               b'{"url": "https://t.me/leader_fa/77", "text": "\\ud83d"}', "text"),
              ("POST", "/api/v1/cases", b'{"title": "T", "subject": "S", "accounts": [{"platform": "x", '
                                        b'"handle": "\\ud800"}]}', "accounts"),
              ("PATCH", f"/api/v1/entries/{entry.id}", b'{"\\ud800": "x"}', None),
              ("POST", f"/api/v1/cases/{case.id}/imports",
               b'{"rows": [{"url": "https://t.me/leader_fa/78", "text": "\\udfff"}]}', None)]
    for method, url, body, field in bodies:
        resp = api.open(url, method=method, headers=headers, data=body, content_type="application/json")
        assert resp.status_code == 422, (url, resp.status_code, resp.data[:300])
        assert "surrogate" in resp.json["error"]["message"], resp.json
        if field:
            assert field in resp.json["error"]["fields"], resp.json
    assert _count(Event) == events
    assert _count(Entry) == 1 and _count(Import) == 0


BULK_ACCOUNTS = [  # (which account, status, what the answer says)
    pytest.param("another case's", 422, "That account does not belong to this case.", id="account-of-another-case"),
    pytest.param("99999", 422, "That account does not belong to this case.", id="no-such-account"),
    # refused by the form itself (its account field is a number); the message does not name the account (reported)
    pytest.param("abc", 302, "Select at least one entry, then an action.", id="account-not-a-number"),
]


@pytest.mark.parametrize("value,status,says", BULK_ACCOUNTS)
def test_bulk_account_of_another_case_is_refused(setup, client, make_case, make_entry, make_user, value, status,
                                                 says):
    user, case, _ = setup
    entry = make_entry(case, user)
    other = make_case(make_user("bo@example.org"), "Case B", accounts=({"platform": "x", "handle": "other"},))
    value = str(other.accounts[0].id) if value == "another case's" else value
    events = _count(Event)
    resp = client.post(f"/cases/{case.id}/bulk", data={"entry_ids": [str(entry.id)], "action": "account",
                                                       "account": value})
    body = resp.get_data(as_text=True)
    resp.close()
    assert resp.status_code == status, (value, resp.status_code)
    if status == 302:
        body = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert says in _visible(body), _visible(body)[-1500:]
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).account_id == case.accounts[0].id
    assert _count(Event) == events


def test_bulk_update_validates_before_changing_anything(setup, make_case, make_entry, make_user):
    from reportkit.services import entries as entry_ops

    user, case, _ = setup
    entry = make_entry(case, user)
    other = make_case(make_user("bo@example.org"), "Case B", accounts=({"platform": "x", "handle": "other"},))
    for action, value in (("account", other.accounts[0].id), ("account", "x"), ("tag", "a\ud800"),
                          ("tag", "t" * 61), ("nonsense", "")):
        with pytest.raises(entry_ops.EntryError):
            entry_ops.bulk_update(user, case, [entry.id], action, value)
        db.session.rollback()
    assert db.session.get(Entry, entry.id).tag_names == []


@pytest.mark.parametrize("value,expected", [("False", False), ("false", False), ("no", False), ("off", False),
                                            ("0", False), ("OFF", False), ("True", True), ("yes", True),
                                            ("on", True), ("1", True)])
def test_boolean_settings_from_the_environment(monkeypatch, tmp_path, value, expected):
    monkeypatch.setenv("REPORTKIT_REGISTRATION_OPEN", value)
    monkeypatch.setenv("REPORTKIT_SESSION_COOKIE_SECURE", value)
    app = create_app({"SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    assert app.config["REGISTRATION_OPEN"] is expected and app.config["SESSION_COOKIE_SECURE"] is expected


def test_registration_closed_by_False(monkeypatch, make_app):
    monkeypatch.setenv("REPORTKIT_REGISTRATION_OPEN", "False")
    client = make_app().test_client()
    resp = client.get("/auth/register")
    resp.close()
    assert resp.status_code == 404  # as if there were no such page
    assert b"Create an account" not in client.get("/auth/login").data


@pytest.mark.parametrize("name,value", [("REGISTRATION_OPEN", "maybe"), ("SESSION_COOKIE_SECURE", "[1]"),
                                        ("ENTRIES_PER_PAGE", "many"), ("MAX_CONTENT_LENGTH", "50MB"),
                                        ("DOSSIER_TIMEOUT", "true"), ("ENTRIES_PER_PAGE", "0"),
                                        ("TIMESTAMP_URLS", "5"), ("SIGNING_CHAIN", '{"a": 1}'),
                                        ("SESSION_COOKIE_SAMESITE", "Sometimes")])
def test_a_setting_with_an_unknown_value_stops_start_up_and_names_it(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv(f"REPORTKIT_{name}", value)
    with pytest.raises(ValueError, match=f"REPORTKIT_{name}"):
        create_app({"SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})


def test_instance_config_values_are_checked_too(tmp_path):
    (tmp_path / "config.py").write_text("REGISTRATION_OPEN = 'off'\nENTRIES_PER_PAGE = '20'\n")
    app = create_app({"SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    assert app.config["REGISTRATION_OPEN"] is False and app.config["ENTRIES_PER_PAGE"] == 20


def test_list_settings_take_a_comma_separated_string(monkeypatch, tmp_path):
    monkeypatch.setenv("REPORTKIT_TIMESTAMP_URLS", "https://a.example/tsr, https://b.example/tsr")
    app = create_app({"SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    assert app.config["TIMESTAMP_URLS"] == ["https://a.example/tsr", "https://b.example/tsr"]


def test_download_name_takes_its_extension_from_the_detected_type(setup, app, make_entry):
    from werkzeug.http import parse_options_header

    from reportkit.services.evidence import Limits, add_evidence_file
    from reportkit.services.storage import EvidenceStore

    user, case, headers = setup
    entry = make_entry(case, user)
    polyglot = png_bytes() + b"<html><script>alert(document.cookie)</script></html>"
    names = {"shot.html": "shot.png", "shot.png.html": "shot.png.png", "noext": "noext.png",
             ".htaccess": "htaccess.png", "a\"b;c.svg": "a_b_c.png", "shot.PNG": "shot.png",
             "رهبر.html": "رهبر.png"}
    for uploaded, expected in names.items():
        ev = add_evidence_file(user, entry, io.BytesIO(polyglot + uploaded.encode()), uploaded,
                               EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config))
        for client, extra in ((app.test_client(), headers), (None, {})):
            client = client or _logged_in(app, user)
            url = f"/api/v1/evidence/{ev.id}/original" if extra else f"/evidence/{ev.id}/original"
            resp = client.get(url, headers=extra)
            resp.close()
            disposition = resp.headers["Content-Disposition"]
            assert disposition.startswith("attachment"), disposition
            assert parse_options_header(disposition)[1]["filename"] == expected, (uploaded, disposition)
            assert resp.headers["Content-Type"] == "application/octet-stream"


def _logged_in(app, user):
    from tests.conftest import PASSWORD

    client = app.test_client()
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    return client


def test_case_entry_export_pages_and_api_are_not_stored_by_caches(setup, app, client, make_entry):
    user, case, headers = setup
    entry = make_entry(case, user)
    pages = [f"/cases/{case.id}", f"/entries/{entry.id}", f"/entries/{entry.id}/edit", "/cases/",
             f"/dossiers/export/{case.id}.csv", f"/imports/new/{case.id}", "/nowhere"]
    for url in pages:
        resp = client.get(url)
        resp.close()
        assert resp.headers.get("Cache-Control") == "no-store", (url, resp.status_code, resp.headers)
        assert "Strict-Transport-Security" not in resp.headers
    api = app.test_client()
    for url in (f"/api/v1/cases/{case.id}", f"/api/v1/entries/{entry.id}", f"/api/v1/cases/{case.id}/entries",
                "/api/v1/entries/99999", "/api/v1/cases"):
        resp = api.get(url, headers=headers)
        resp.close()
        assert resp.headers.get("Cache-Control") == "no-store", (url, resp.headers)
    resp = api.get("/api/v1/cases")  # no token: 401, still not stored
    assert resp.headers.get("Cache-Control") == "no-store"


def test_hsts_when_cookies_are_secure(make_app):
    client = make_app(SESSION_COOKIE_SECURE=True).test_client()
    for url in ("/auth/login", "/static/app.css"):
        resp = client.get(url)
        resp.close()
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_api_404_bodies_are_the_same_for_no_such_id_and_not_yours(app, make_user, make_case, make_entry,
                                                                  token_for):
    from reportkit.models import Dossier

    owner, outsider = make_user(), make_user("eve@example.org")
    case = make_case(owner)
    entry = make_entry(case, owner)
    job = Import(case_id=case.id, kind="csv", mapping={}, created_by_id=owner.id)
    dossier = Dossier(case_id=case.id, document_id="RK-404", status="done")
    db.session.add_all([job, dossier])
    db.session.commit()
    api, headers = app.test_client(), token_for(outsider)
    routes = [("GET", "/api/v1/cases/{}"), ("GET", "/api/v1/entries/{}"), ("PATCH", "/api/v1/entries/{}"),
              ("GET", "/api/v1/imports/{}"), ("GET", "/api/v1/dossiers/{}"), ("GET", "/api/v1/dossiers/{}/pdf"),
              ("GET", "/api/v1/evidence/{}/original")]
    ids = {"cases": case.id, "entries": entry.id, "imports": job.id, "dossiers": dossier.id, "evidence": 10**6}
    for method, route in routes:
        real = ids[route.split("/")[3]]
        answers = []
        for some_id in (real, 10**6 + 7):
            resp = api.open(route.format(some_id), method=method, headers=headers, json={})
            answers.append((resp.status_code, resp.get_data(), resp.headers.get("Content-Type")))
            resp.close()
        assert answers[0] == answers[1] and answers[0][0] == 404, (route, answers)


def test_print_copy_is_not_kept_by_the_browser_either(setup, app, client, make_entry):
    from reportkit.services.evidence import Limits, add_evidence_file
    from reportkit.services.storage import EvidenceStore

    user, case, _ = setup
    ev = add_evidence_file(user, make_entry(case, user), io.BytesIO(png_bytes()), "a.png",
                           EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config))
    resp = client.get(f"/evidence/{ev.id}/print")
    resp.close()
    assert resp.status_code == 200 and "no-store" in resp.headers["Cache-Control"]


def test_a_nul_in_any_page_form_is_a_400_and_saves_nothing(setup, client, make_entry):
    """PostgreSQL refuses NUL in text: every page form answers before the view writes anything."""
    user, case, _ = setup
    entry = make_entry(case, user)
    for url, data in ((f"/cases/{case.id}/edit", {"title": "Threats\x00", "subject": "A. Leader"}),
                      (f"/entries/{entry.id}/edit", {"text": "a\x00b"}),
                      (f"/cases/{case.id}/export-name", {"\x00name": "x"})):
        resp = client.post(url, data=data)
        assert resp.status_code == 400 and "NUL character" in resp.data.decode(), (url, resp.data[:300])
    db.session.expire_all()
    assert db.session.get(type(case), case.id).title == "Case A" and db.session.get(type(entry), entry.id).text == ""
