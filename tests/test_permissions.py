"""Every page and API route x every role + an outsider. Outsiders get 404: a case's existence is not revealed."""

import hashlib
import io

import pytest

from reportkit.extensions import db
from reportkit.models import Capture, Dossier
from reportkit.services.cases import invite_member
from reportkit.services.entries import add_violation
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.filings import add_filing_file, record_appeal, record_filing
from reportkit.services.intake import paste_urls
from reportkit.services.reviews import add_region, annotate
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes

ROLES = ("owner", "editor", "editor-reviewer", "reviewer", "viewer", "outsider")
ALLOWED = {  # permission -> roles that have it
    "read": {"owner", "editor", "editor-reviewer", "reviewer", "viewer"},
    "edit": {"owner", "editor", "editor-reviewer"},
    "annotate": {"owner", "editor", "editor-reviewer", "reviewer"},
    "review": {"owner", "editor-reviewer", "reviewer"},
    "manage": {"owner"},
}

ROUTES = [  # (method, path, permission, body builder)
    ("GET", "/cases/{case}", "read", None),
    ("GET", "/cases/{case}/members", "read", None),
    ("GET", "/cases/{case}/edit", "manage", None),
    ("POST", "/cases/{case}/edit", "manage", lambda w: {"title": "T2", "subject": "S2"}),
    ("POST", "/cases/{case}/accounts", "manage", lambda w: {"platform": "telegram", "handle": "leader_fa"}),
    ("POST", "/cases/{case}/members", "manage", lambda w: {"email": "new@example.org", "role": "viewer"}),
    ("POST", "/cases/{case}/members/{viewer_membership}", "manage", lambda w: {"role": "viewer"}),
    ("POST", "/cases/{case}/invitations/{invitation}/withdraw", "manage", lambda w: {}),
    ("GET", "/entries/new/{case}", "edit", None),
    ("POST", "/entries/new/{case}", "edit", lambda w: {"url": "https://t.me/leader_fa/77", "account_id": "0"}),
    ("GET", "/entries/{entry}", "read", None),
    ("GET", "/entries/{entry}/edit", "edit", None),
    ("POST", "/entries/{entry}/edit", "edit", lambda w: {"text": "changed", "account_id": "0"}),
    ("POST", "/entries/{entry}/capture", "edit", lambda w: {}),  # the tests' dead proxy: said at once
    ("POST", "/entries/{entry}/violations", "edit",
     lambda w: {"clause": "x/hateful_conduct/dehumanization", "rationale": "Calls them vermin."}),
    ("POST", "/entries/{entry}/violations/{violation}/delete", "edit", lambda w: {}),
    ("POST", "/evidence/upload/{entry}", "edit", lambda w: {"files": (io.BytesIO(png_bytes()), "s.png")}),
    ("POST", "/evidence/link/{entry}", "edit", lambda w: {"url": "https://web.archive.org/web/2024/https://x.com/a"}),
    ("GET", "/evidence/{evidence}/original", "read", None),
    ("GET", "/evidence/{evidence}/print", "read", None),
    ("GET", "/api/v1/cases/{case}", "read", None),
    ("GET", "/api/v1/cases/{case}/entries", "read", None),
    ("POST", "/api/v1/cases/{case}/entries", "edit", lambda w: {"url": "https://youtu.be/dQw4w9WgXcQ"}),
    ("GET", "/api/v1/entries/{entry}", "read", None),
    ("PATCH", "/api/v1/entries/{entry}", "edit", lambda w: {"notes": "api note"}),
    ("POST", "/api/v1/entries/{entry}/evidence", "edit", lambda w: {"file": (io.BytesIO(png_bytes()), "s.png")}),
    ("GET", "/api/v1/evidence/{evidence}/original", "read", None),
    ("POST", "/cases/{case}/bulk", "edit", lambda w: {"action": "tag", "value": "x", "entry_ids": ["1"]}),
    ("POST", "/reviews/entries/{entry}/transition", "edit", lambda w: {"to": "ready"}),
    ("POST", "/reviews/entries/{entry}/annotations", "annotate", lambda w: {"body": "a note", "kind": "comment"}),
    ("POST", "/reviews/annotations/{note}/include", "review", lambda w: {}),
    ("POST", "/reviews/evidence/{evidence}/regions", "annotate",
     lambda w: {"kind": "highlight", "label": "t", "x": "10", "y": "10", "w": "20", "h": "20"}),
    ("POST", "/reviews/regions/{region}/delete", "annotate", lambda w: {}),
    ("POST", "/api/v1/entries/{entry}/annotations", "annotate", lambda w: {"body": "a note"}),
    ("POST", "/api/v1/entries/{entry}/transitions", "edit", lambda w: {"to": "ready"}),
    ("GET", "/imports/new/{case}", "edit", None),
    ("POST", "/imports/new/{case}", "edit", lambda w: {"paste-text": "https://t.me/leader_fa/3", "paste-submit": "1"}),
    ("GET", "/imports/{import}", "read", None),
    ("GET", "/imports/{import}/status.json", "read", None),
    ("GET", "/imports/{import}/results.csv", "read", None),
    ("POST", "/api/v1/cases/{case}/imports", "edit", lambda w: {"urls": ["https://t.me/leader_fa/4"]}),
    ("GET", "/api/v1/imports/{import}", "read", None),
    ("GET", "/dossiers/new/{case}", "read", None),
    # a DSA notice without its elements is refused after the permission check: 200 with the list of problems
    ("POST", "/dossiers/new/{case}", "annotate", lambda w: {"mode": "dsa", "paper": "A4", "account": "0"}),
    ("GET", "/dossiers/export/{case}.csv", "read", None),
    ("GET", "/dossiers/export/{case}.json", "read", None),
    ("GET", "/dossiers/{dossier}", "read", None),
    ("GET", "/dossiers/{dossier}/status.json", "read", None),
    ("GET", "/dossiers/{dossier}/pdf", "read", None),
    ("GET", "/dossiers/{dossier}/package", "read", None),
    ("POST", "/api/v1/cases/{case}/dossiers", "annotate", lambda w: {"mode": "dsa"}),  # 422: incomplete
    ("GET", "/api/v1/dossiers/{dossier}", "read", None),
    ("GET", "/api/v1/dossiers/{dossier}/pdf", "read", None),
    ("GET", "/api/v1/dossiers/{dossier}/package", "read", None),
    ("GET", "/api/v1/cases/{case}/members", "read", None),
    ("POST", "/api/v1/cases/{case}/invitations", "manage", lambda w: {"email": "new2@example.org", "role": "viewer"}),
    ("DELETE", "/api/v1/cases/{case}/invitations/{invitation}", "manage", None),
    ("PATCH", "/api/v1/cases/{case}/members/{viewer_membership}", "manage", lambda w: {"role": "editor"}),
    ("DELETE", "/api/v1/cases/{case}/members/{viewer_membership}", "manage", None),
    ("GET", "/api/v1/cases/{case}/accounts", "read", None),
    ("POST", "/api/v1/cases/{case}/accounts", "manage", lambda w: {"platform": "telegram", "handle": "leader_tg"}),
    ("PATCH", "/api/v1/cases/{case}/accounts/{account}", "manage", lambda w: {"display_name": "A. L."}),
    ("GET", "/api/v1/entries/{entry}/violations", "read", None),
    ("POST", "/api/v1/entries/{entry}/violations", "edit",
     lambda w: {"clause": "x/hateful_conduct/dehumanization", "rationale": "Calls them vermin."}),
    ("PATCH", "/api/v1/entries/{entry}/violations/{violation}", "edit", lambda w: {"rationale_en": "Kill threat."}),
    ("DELETE", "/api/v1/entries/{entry}/violations/{violation}", "edit", None),
    ("GET", "/api/v1/entries/{entry}/evidence", "read", None),
    ("GET", "/api/v1/cases/{case}/lookup", "read", lambda w: {"url": "https://x.com/leader_en/status/1790000000000000001"}),
    ("POST", "/api/v1/entries/{entry}/evidence", "edit",
     lambda w: {"file": (io.BytesIO(png_bytes(color=(1, 2, 3))), "shot.png"),
                "sha256": hashlib.sha256(png_bytes(color=(1, 2, 3))).hexdigest()}),
    ("POST", "/api/v1/evidence/{evidence}/withdraw", "edit", lambda w: {"reason": "Not the post."}),
    ("GET", "/api/v1/evidence/{evidence}/regions", "read", None),
    ("POST", "/api/v1/evidence/{evidence}/regions", "annotate",
     lambda w: {"kind": "highlight", "x": 10, "y": 10, "w": 20, "h": 20}),
    ("DELETE", "/api/v1/regions/{region}", "annotate", None),
    ("GET", "/api/v1/cases/{case}/events", "read", None),
    ("GET", "/api/v1/cases/{case}/exports.csv", "read", None),
    ("GET", "/api/v1/cases/{case}/exports.json", "read", None),
    ("POST", "/api/v1/cases/{case}/verification", "manage", None),
    ("GET", "/api/v1/cases/{case}/verification", "read", None),
    ("GET", "/api/v1/cases/{case}/filings", "read", None),
    ("POST", "/api/v1/cases/{case}/filings", "edit",
     lambda w: {"platform": "x", "channel": "in_app", "entry_ids": [w[1]["entry"]]}),
    ("GET", "/api/v1/filings/{filing}", "read", None),
    ("PATCH", "/api/v1/filings/{filing}", "edit", lambda w: {"reference": "T-1"}),
    ("POST", "/api/v1/filings/{filing}/decisions", "edit", lambda w: {"no_answer": True}),
    ("POST", "/api/v1/filings/{filing}/appeals", "edit", lambda w: {"kind": "appeal"}),
    ("PATCH", "/api/v1/appeals/{appeal}", "edit", lambda w: {"outcome": "upheld"}),
    ("GET", "/api/v1/entries/{entry}/observations", "read", None),
    ("POST", "/api/v1/entries/{entry}/recheck", "edit", None),
    ("POST", "/api/v1/entries/{entry}/captures", "edit", lambda w: {}),  # the tests' dead proxy: said at once
    ("GET", "/api/v1/captures/{capture}", "read", None),
    ("GET", "/api/v1/cases/{case}/outcomes", "read", None),
    ("POST", "/filings/{filing}/files", "edit",
     lambda w: {"file": (io.BytesIO(png_bytes()), "form.png"), "kind": "confirmation"}),
    ("GET", "/filings/files/{filing_file}", "read", None),
    ("GET", "/cases/{case}/filings/assistant", "edit", None),
    ("POST", "/entries/{entry}/recheck", "edit", lambda w: {}),
    ("GET", "/cases/{case}/outcomes", "read", None),
    ("GET", "/cases/{case}/filings", "read", None),
    ("GET", "/filings/{filing}", "read", None),
    ("POST", "/filings/{filing}/edit", "edit", lambda w: {"reference": "T-2", "notes": "", "confirmed_at": ""}),
]


@pytest.fixture
def world(app, make_user, make_case, make_entry):
    users = {role: make_user(f"{role}@example.org") for role in ROLES}
    make_user("new@example.org")
    case = make_case(users["owner"],
                     members=[(users[r], r) for r in ("editor", "editor-reviewer", "reviewer", "viewer")])
    entry = make_entry(case, users["owner"])
    violation = add_violation(users["owner"], entry, "x/violent_content/violent_threats", "Threatens to kill.")
    store = EvidenceStore(app.config["EVIDENCE_DIR"])
    evidence = add_evidence_file(users["owner"], entry, io.BytesIO(png_bytes()), "a.png", store,
                                 Limits.from_config(app.config))
    viewer_membership = next(m for m in case.memberships if m.user_id == users["viewer"].id)
    note = annotate(users["owner"], entry, "owner's note")
    intake = paste_urls(users["owner"], case, "https://t.me/leader_fa/2")
    region = add_region(users["owner"], entry, evidence, "highlight", 0.1, 0.1, 0.2, 0.2, "x")
    pdf_sha, _ = store.put_bytes(b"%PDF-1.7\n%stand-in for a rendered dossier\n%%EOF\n")
    zip_sha, _ = store.put_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty ZIP stands in for a package
    invitation = invite_member(users["owner"], case, "invitee@example.org", "editor")
    dossier = Dossier(case_id=case.id, document_id="RK-TEST", status="done", sha256=pdf_sha, pages=1,
                      with_package=True, package_sha256=zip_sha, package_size=22)
    db.session.add(dossier)
    db.session.commit()
    filing = record_filing(users["owner"], case.id, "x", "in_app", [entry.id], reference="X-1")
    appeal = record_appeal(users["owner"], filing, {"kind": "appeal"})
    filing_file = add_filing_file(users["owner"], filing, io.BytesIO(png_bytes()), "confirmation.png",
                                  "confirmation", store, None)
    capture = Capture(entry_id=entry.id, requested_by_id=users["owner"].id, status="done", outcome="not_found",
                      url=entry.canonical_url, evidence_ids=[])
    db.session.add(capture)
    db.session.commit()
    ids = {"filing": filing.id, "filing_file": filing_file.id, "appeal": appeal.id, "capture": capture.id,
           "case": case.id, "entry": entry.id, "violation": violation.id, "evidence": evidence.id,
           "viewer_membership": viewer_membership.id, "dossier": dossier.id,
           "note": note.id, "region": region.id, "import": intake.id, "invitation": invitation.id,
           "account": case.accounts[0].id}
    return users, ids


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "permission", "body"), ROUTES,
                         ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_route_by_role(client, login, token_for, world, role, method, path, permission, body):
    users, ids = world
    url = path.format(**ids)
    kwargs = {}
    if path.startswith("/api/"):
        kwargs["headers"] = token_for(users[role])
        if body and method != "GET":
            data = body(world)
            if any(isinstance(v, tuple) for v in data.values()):
                kwargs["data"], kwargs["content_type"] = data, "multipart/form-data"
            else:
                kwargs["json"] = data
        elif body:  # a GET's parameters
            kwargs["query_string"] = body(world)
    else:
        login(client, users[role])
        if body:
            kwargs["data"] = body(world)
    db.session.remove()
    resp = client.open(url, method=method, **kwargs)
    resp.close()
    if role == "outsider":
        assert resp.status_code == 404, resp.data[:300]
    elif role in ALLOWED[permission]:
        assert resp.status_code in (200, 201, 202, 302, 422 if "dossiers" in path else 0), (
            resp.status_code, resp.data[:500])
    else:
        assert resp.status_code == 403, (resp.status_code, resp.data[:300])


@pytest.mark.parametrize("role", ROLES)
def test_only_the_invitee_answers_an_invitation(client, login, world, make_user, role):
    """Every member and an outsider: someone else's invitation is a 404, like a missing one; the invitee gets in."""
    users, ids = world
    login(client, users[role])
    db.session.remove()
    for answer in ("accept", "decline"):
        assert client.post(f"/cases/invitations/{ids['invitation']}", data={answer: "1"}).status_code == 404
        assert client.post("/cases/invitations/9999", data={answer: "1"}).status_code == 404
    assert client.get("/cases/").status_code == 200  # any logged-in user has the index, with their invitations
    login(client, make_user("invitee@example.org"))
    db.session.remove()
    assert client.post(f"/cases/invitations/{ids['invitation']}", data={"accept": "1"}).status_code == 302


def test_missing_ids_are_404_like_foreign_ones(client, login, world):
    users, _ = world
    login(client, users["owner"])
    for url in ("/cases/9999", "/entries/9999", "/evidence/9999/original", "/entries/9999/edit"):
        assert client.get(url).status_code == 404


def test_pages_need_login(client, world):
    _, ids = world
    resp = client.get(f"/cases/{ids['case']}")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]


def test_api_needs_token(client, world):
    _, ids = world
    resp = client.get(f"/api/v1/cases/{ids['case']}")
    assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthorized"
    resp = client.get(f"/api/v1/cases/{ids['case']}", headers={"Authorization": "Bearer rk_wrong"})
    assert resp.status_code == 401
