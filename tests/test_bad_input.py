"""Odd input on the newer forms and API routes: a clear 4xx answer, never a 500."""

import io

from tests.conftest import png_bytes


def test_odd_input_never_gives_500(app, make_user, make_case, make_entry, login, client, token_for):
    u = make_user(); case = make_case(u); e = make_entry(case, u); login(client, u); h = token_for(u)
    api = app.test_client()
    reqs = [
        ("GET", f"/dossiers/export/{case.id}.csv?date_from=zz&account=abc&clause=%00", {}),
        ("GET", f"/cases/{case.id}?page=-5&sort=zz&account=zz&status=zz", {}),
        ("POST", f"/imports/new/{case.id}", {"data": {"upload-file": (io.BytesIO(b"\x00\xff\xfe\x00garbage\x89PNG"), "x.csv"), "upload-submit": "1"}}),
        ("POST", f"/imports/new/{case.id}", {"data": {"upload-file": (io.BytesIO(b'[{"url": {"a": 1}}]'), "x.json"), "upload-submit": "1"}}),
        ("POST", "/reviews/evidence/999/regions", {"data": {"x": "a"}}),
        ("POST", f"/reviews/entries/{e.id}/transition", {"data": {"to": "x" * 500}}),
        ("POST", f"/evidence/upload/{e.id}", {"data": {"files": (io.BytesIO(png_bytes()), "a.png"), "kind": "nonsense"}}),
        ("POST", f"/dossiers/new/{case.id}", {"data": {"mode": "zzz", "paper": "A0", "account": "x", "date_from": "bad"}}),
    ]
    for m, url, kw in reqs:
        r = client.open(url, method=m, **kw); r.close()
        assert r.status_code < 500, (url, r.status_code)
    apireqs = [
        ("POST", f"/api/v1/cases/{case.id}/dossiers", {"json": {"account_id": 99999, "entry_numbers": [1, "x"]}}),
        ("POST", f"/api/v1/cases/{case.id}/dossiers", {"json": {"date_to": 5}}),
        ("POST", f"/api/v1/cases/{case.id}/imports", {"json": {"rows": [{"url": ["x"]}], "mapping": {"url": "url"}, "timezone": "Nowhere/X"}}),
        ("POST", f"/api/v1/cases/{case.id}/imports", {"data": {"file": (io.BytesIO(b"a,b\n"), "x.csv"), "mapping": "[1,2]"}}),
        ("POST", f"/api/v1/entries/{e.id}/transitions", {"json": {"to": 5}}),
        ("POST", f"/api/v1/entries/{e.id}/annotations", {"json": {"body": "x", "kind": "weird"}}),
        ("POST", f"/api/v1/entries/{e.id}/annotations", {"json": {"body": "x", "include_in_dossier": "yes"}}),
        ("PATCH", f"/api/v1/entries/{e.id}", {"json": {"tags": [1, 2]}}),
        ("PATCH", f"/api/v1/entries/{e.id}", {"json": {"captured_at": "2024-01-01"}}),
        ("GET", f"/api/v1/cases/{case.id}/entries?per_page=100000&sort=x", {}),
    ]
    for m, url, kw in apireqs:
        r = api.open(url, method=m, headers=h, **kw); r.close()
        assert r.status_code < 500, (url, r.status_code, r.data[:300])


# --- issue 12: each of these answered 500 or hung; each gets a 4xx with a message and saves nothing ---------

import json

import pytest
from sqlalchemy import func, select

from reportkit import create_app
from reportkit.extensions import db
from reportkit.models import Entry, Event, Import
from reportkit.services.intake import TableError, read_table

DEEP = b"[" * 100_000 + b"]" * 100_000


def _imports() -> int:
    return db.session.scalar(select(func.count()).select_from(Import))


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
    "lone surrogate in UTF-16": ("url,text\nhttps://t.me/a/1,".encode("utf-16") + b"\x00\xd8" + "x\n".encode("utf-16-le"),
                                 "UTF-16"),
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
    assert _imports() == 0


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
    assert _imports() == 0


def test_api_lone_surrogate_is_422_and_saves_nothing(setup, app, make_entry):
    user, case, headers = setup
    entry = make_entry(case, user)
    events = db.session.scalar(select(func.count()).select_from(Event))
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
    assert db.session.scalar(select(func.count()).select_from(Event)) == events
    assert db.session.scalar(select(func.count()).select_from(Entry)) == 1 and _imports() == 0


def test_bulk_account_of_another_case_is_refused(setup, client, make_case, make_entry, make_user):
    user, case, _ = setup
    entry = make_entry(case, user)
    other = make_case(make_user("bo@example.org"), "Case B", accounts=({"platform": "x", "handle": "other"},))
    events = db.session.scalar(select(func.count()).select_from(Event))
    for value in (str(other.accounts[0].id), "abc", "99999"):
        resp = client.post(f"/cases/{case.id}/bulk", data={"entry_ids": [str(entry.id)], "action": "account",
                                                           "account": value})
        body = resp.get_data(as_text=True)
        resp.close()
        assert 400 <= resp.status_code < 500 or resp.status_code == 302, (value, resp.status_code)
        if resp.status_code == 302:
            body = client.get(resp.headers["Location"]).get_data(as_text=True)
        # "abc" is refused by the form itself (its account field is a number)
        assert "does not belong to this case" in body or (value == "abc" and "Select at least one" in body)
    db.session.expire_all()
    assert db.session.get(Entry, entry.id).account_id == case.accounts[0].id
    assert db.session.scalar(select(func.count()).select_from(Event)) == events


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
    assert resp.status_code in (403, 404) or resp.status_code == 302
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
