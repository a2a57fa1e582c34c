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
