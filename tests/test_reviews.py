"""The review workflow's rules, enforced on the server for pages and API alike."""

import io

import pytest
from PIL import Image

from reportkit.extensions import db
from reportkit.services import reviews
from reportkit.services.dossier.data import snapshot
from reportkit.services.dossier.options import DossierOptions
from reportkit.services.entries import add_violation
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes

TELEGRAM_RULE = "telegram/terms_of_service/promote_violence_public"  # a clause fits the post's own platform


@pytest.fixture
def team(app, make_user, make_case, make_entry):
    editor, reviewer, second, viewer = (make_user(f"{n}@example.org", name=n.capitalize())
                                        for n in ("editor", "reviewer", "second", "viewer"))
    owner = make_user("owner@example.org")
    case = make_case(owner, members=[(editor, "editor"), (reviewer, "reviewer"), (second, "reviewer"),
                                     (viewer, "viewer")])
    entry = make_entry(case, editor)
    add_violation(editor, entry, "x/violent_content/violent_threats", "Threatens to kill.")
    store = EvidenceStore(app.config["EVIDENCE_DIR"])
    evidence = add_evidence_file(editor, entry, io.BytesIO(png_bytes(400, 200, (250, 250, 250))), "s.png", store,
                                 Limits.from_config(app.config))
    return {"owner": owner, "editor": editor, "reviewer": reviewer, "second": second, "viewer": viewer,
            "case": case, "entry": entry, "evidence": evidence, "store": store,
            "limits": Limits.from_config(app.config)}


def add_file(team, entry, actor, color=(10, 120, 10)):
    """An entry goes to review with a mapped clause and an evidence file (the fixture's entry has both)."""
    return add_evidence_file(actor, entry, io.BytesIO(png_bytes(color=color)), "shot.png", team["store"],
                             team["limits"])


def test_submit_approve_seals_with_hashes(team):
    entry = team["entry"]
    reviews.transition(team["editor"], entry, "ready")
    assert entry.status == "ready" and entry.submitted_at is not None
    reviews.transition(team["reviewer"], entry, "approved", "Clear threat.")
    assert entry.status == "approved" and entry.sealed and entry.approved_at
    approval = entry.current_approvals[0]
    assert approval.user_id == team["reviewer"].id and approval.evidence_sha256 == [team["evidence"].sha256]
    assert [n.kind for n in entry.annotations] == ["approval_note"]
    assert [(t.from_status, t.to_status) for t in entry.transitions] == [("draft", "ready"), ("ready", "approved")]


@pytest.mark.parametrize(("who", "to", "setup", "status", "message"), [
    ("editor", "approved", "ready", 403, "cannot move"),  # editors do not approve
    ("owner", "approved", "draft", 409, "cannot move"),  # not submitted yet
    ("viewer", "ready", "draft", 403, "cannot move"),
    ("reviewer", "ready", "draft", 403, "cannot move"),  # reviewers do not submit
    ("editor", "rejected", "ready", 403, "cannot move"),
    ("reviewer", "changes_requested", "ready", 422, "Give a reason"),
    ("reviewer", "rejected", "ready", 422, "Give a reason"),
    ("reviewer", "flying", "ready", 422, "Unknown status"),
    ("editor", "reopen", "approved", 422, "Say why"),
    ("viewer", "reopen", "approved", 403, "cannot reopen"),
    ("reviewer", "reopen", "ready", 409, "Only an approved entry"),
])
def test_forbidden_moves(team, who, to, setup, status, message):
    entry = team["entry"]
    if setup in ("ready", "approved"):
        reviews.transition(team["editor"], entry, "ready")
    if setup == "approved":
        reviews.transition(team["reviewer"], entry, "approved")
    with pytest.raises(reviews.ReviewError, match=message) as err:
        reviews.transition(team[who], entry, to)
    assert err.value.status == status
    assert entry.status == setup


def test_four_eyes_author_cannot_approve(team, make_entry):
    entry = make_entry(team["case"], team["owner"], url="https://t.me/leader_fa/9")
    add_violation(team["owner"], entry, TELEGRAM_RULE, "r")
    add_file(team, entry, team["owner"])
    reviews.transition(team["owner"], entry, "ready")
    with pytest.raises(reviews.ReviewError, match="Four eyes") as err:
        reviews.transition(team["owner"], entry, "approved")
    assert err.value.status == 403 and entry.status == "ready"
    assert "approved" not in reviews.allowed_moves(team["owner"], entry)


def test_two_approvals_and_no_double_approval(team):
    team["case"].required_approvals = 2
    entry = team["entry"]
    reviews.transition(team["editor"], entry, "ready")
    reviews.transition(team["reviewer"], entry, "approved")
    assert entry.status == "ready" and len(entry.current_approvals) == 1
    with pytest.raises(reviews.ReviewError, match="already approved"):
        reviews.transition(team["reviewer"], entry, "approved")
    reviews.transition(team["second"], entry, "approved")
    assert entry.status == "approved" and len(entry.current_approvals) == 2


def test_changes_requested_then_fixed_and_reopen(team):
    entry = team["entry"]
    reviews.transition(team["editor"], entry, "ready")
    reviews.transition(team["reviewer"], entry, "changes_requested", "Add the translation.")
    request = entry.annotations[-1]
    assert entry.status == "changes_requested" and request.open_request and request.body == "Add the translation."
    reviews.resolve(team["editor"], entry, request)
    assert not request.open_request and request.resolved_by_id == team["editor"].id
    reviews.transition(team["editor"], entry, "ready")
    reviews.transition(team["reviewer"], entry, "approved")
    round_before = entry.review_round
    reviews.transition(team["editor"], entry, "reopen", "The post was edited; new capture.")
    assert entry.status == "ready" and entry.review_round == round_before + 1 and entry.current_approvals == []
    assert entry.transitions[-1].reason == "The post was edited; new capture."


def test_sealed_entry_refuses_changes_on_pages_and_api(team, client, login, token_for):
    entry = team["entry"]
    reviews.transition(team["editor"], entry, "ready")
    reviews.transition(team["reviewer"], entry, "approved")
    login(client, team["editor"])
    resp = client.post(f"/entries/{entry.id}/edit", data={"text": "sneaky", "account_id": "0"})
    assert resp.status_code == 409 and b"sealed" in resp.data
    resp = client.post(f"/evidence/upload/{entry.id}", data={"files": (io.BytesIO(png_bytes()), "x.png")})
    assert resp.status_code == 409
    resp = client.post(f"/entries/{entry.id}/violations", data={"clause": "x/hateful_conduct/dehumanization",
                                                                "rationale": "r"})
    assert resp.status_code == 409
    api = client.application.test_client()
    headers = token_for(team["editor"])
    resp = api.patch(f"/api/v1/entries/{entry.id}", headers=headers, json={"notes": "x"})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "workflow"
    db.session.refresh(entry)
    assert entry.text != "sneaky" and entry.notes != "x" and len(entry.violations) == 1


def test_annotation_rules(team):
    entry = team["entry"]
    with pytest.raises(reviews.ReviewError, match="cannot annotate") as err:
        reviews.annotate(team["viewer"], entry, "hi")
    assert err.value.status == 403
    with pytest.raises(reviews.ReviewError, match="Only reviewers"):
        reviews.annotate(team["editor"], entry, "do it", "change_request")
    with pytest.raises(reviews.ReviewError, match="Only reviewers"):
        reviews.annotate(team["editor"], entry, "print me", include_in_dossier=True)
    with pytest.raises(reviews.ReviewError, match="Write something"):
        reviews.annotate(team["reviewer"], entry, "   ")
    note = reviews.annotate(team["reviewer"], entry, "**Key** post <script>alert(1)</script>", "comment", True)
    assert note.include_in_dossier and note.kind == "comment"


def test_review_queue_oldest_first_not_own(team, make_entry, make_user):
    first, second = team["entry"], make_entry(team["case"], team["owner"], url="https://t.me/leader_fa/2")
    add_violation(team["owner"], second, TELEGRAM_RULE, "r")
    add_file(team, second, team["owner"])
    reviews.transition(team["editor"], first, "ready")
    reviews.transition(team["owner"], second, "ready")
    assert [e.id for e in reviews.review_queue(team["reviewer"])] == [first.id, second.id]
    assert [e.id for e in reviews.review_queue(team["owner"])] == [first.id]  # not the owner's own entry
    assert reviews.review_queue(team["editor"]) == []  # editors do not review
    reviews.transition(team["reviewer"], first, "approved")
    assert [e.id for e in reviews.review_queue(team["reviewer"])] == [second.id]


def test_regions_make_a_marked_copy_and_leave_the_original(team, app):
    from reportkit.services.evidence import refresh_marked_copy

    entry, ev, store = team["entry"], team["evidence"], team["store"]
    original = store.path_for(ev.sha256).read_bytes()
    reviews.add_region(team["reviewer"], entry, ev, "redact", 0.1, 0.1, 0.3, 0.4, "bystander")
    reviews.add_region(team["reviewer"], entry, ev, "highlight", 0.5, 0.5, 0.4, 0.4, "threat")
    refresh_marked_copy(ev.entry.created_by, ev, store, app.config["PRINT_MAX_WIDTH"])
    marked = ev.marked_copy
    assert marked.parent_sha256 == ev.sha256 and "redact" in marked.operations
    with Image.open(store.path_for(marked.sha256)) as img:
        assert img.getpixel((int(0.2 * img.width), int(0.3 * img.height)))[0] < 20  # filled black
        assert img.getpixel((int(0.7 * img.width), int(0.7 * img.height)))[0] > 200  # inside a highlight: untouched
    assert store.path_for(ev.sha256).read_bytes() == original
    data = snapshot(entry.case, [entry], DossierOptions(), "RK-T", entry.created_at, app.config["EVIDENCE_DIR"])
    assert data["entries"][0]["images"][0]["src"] == f"evidence:{marked.sha256}"
    with pytest.raises(reviews.ReviewError, match="cannot mark"):
        reviews.add_region(team["viewer"], entry, ev, "highlight", 0.1, 0.1, 0.2, 0.2)
    with pytest.raises(reviews.ReviewError, match="larger"):
        reviews.add_region(team["reviewer"], entry, ev, "highlight", 0.1, 0.1, 0.001, 0.2)


def test_api_transitions_annotations_and_queue(team, token_for, app):
    client = app.test_client()
    entry = team["entry"]
    editor, reviewer, viewer = (token_for(team[n]) for n in ("editor", "reviewer", "viewer"))
    resp = client.post(f"/api/v1/entries/{entry.id}/transitions", headers=editor, json={"to": "ready"})
    assert resp.status_code == 200 and resp.json["status"] == "ready"
    resp = client.post(f"/api/v1/entries/{entry.id}/transitions", headers=editor, json={"to": "approved"})
    assert resp.status_code == 403 and resp.json["error"]["code"] == "workflow"
    queue = client.get("/api/v1/review-queue", headers=reviewer).json["entries"]
    assert [e["id"] for e in queue] == [entry.id]
    resp = client.post(f"/api/v1/entries/{entry.id}/annotations", headers=viewer, json={"body": "x"})
    assert resp.status_code == 403
    resp = client.post(f"/api/v1/entries/{entry.id}/annotations", headers=reviewer,
                       json={"body": "Looks right", "kind": "approval_note"})
    assert resp.status_code == 201 and resp.json["kind"] == "approval_note"
    resp = client.post(f"/api/v1/entries/{entry.id}/transitions", headers=reviewer, json={"to": "approved"})
    assert resp.json["status"] == "approved" and resp.json["sealed"] is True
    assert resp.json["approvals"][0]["evidence_sha256"] == [team["evidence"].sha256]
    resp = client.post(f"/api/v1/entries/{entry.id}/transitions", headers=reviewer, json={"to": "reopen"})
    assert resp.status_code == 422 and "reason" in resp.json["error"]["fields"]


def test_pages_workflow_buttons_and_notes(team, client, login):
    entry = team["entry"]
    login(client, team["editor"])
    page = client.get(f"/entries/{entry.id}").data.decode()
    assert "Submit for review" in page and "Approve" not in page
    client.post(f"/reviews/entries/{entry.id}/transition", data={"to": "ready"})
    other = client.application.test_client()
    login(other, team["reviewer"])
    page = other.get(f"/entries/{entry.id}").data.decode()
    assert "Approve" in page and "Request changes" in page
    assert f"/entries/{entry.id}" in other.get("/reviews/").data.decode()
    other.post(f"/reviews/entries/{entry.id}/annotations", data={"body": "<script>x</script>**why?**",
                                                                "kind": "comment"})
    resp = other.post(f"/reviews/entries/{entry.id}/transition", data={"to": "changes_requested", "reason": ""},
                      follow_redirects=True)
    assert b"Give a reason" in resp.data
    page = other.get(f"/entries/{entry.id}").data.decode()
    assert "<strong>why?</strong>" in page and "<script>x" not in page


def test_bulk_actions(team, client, login, make_entry):
    case = team["case"]
    more = [make_entry(case, team["editor"], url=f"https://t.me/leader_fa/{n}") for n in (5, 6)]
    for n, entry in enumerate(more):
        add_violation(team["editor"], entry, TELEGRAM_RULE, "Threatens to kill.")
        add_file(team, entry, team["editor"], color=(n, 90, 200))
    reviews.transition(team["editor"], team["entry"], "ready")
    reviews.transition(team["reviewer"], team["entry"], "approved")
    login(client, team["editor"])
    ids = [str(e.id) for e in (team["entry"], *more)]
    resp = client.post(f"/cases/{case.id}/bulk", data={"action": "tag", "value": "wave-1", "entry_ids": ids},
                       follow_redirects=True)
    assert b"2 entries changed, 1 skipped" in resp.data
    resp = client.post(f"/cases/{case.id}/bulk", data={"action": "submit", "entry_ids": ids}, follow_redirects=True)
    assert b"2 entries changed, 1 skipped" in resp.data
    db.session.expire_all()
    assert [e.status for e in more] == ["ready", "ready"] and more[0].tag_names == ["wave-1"]
    assert "wave-1" not in team["entry"].tag_names


def test_dossier_prints_approvals_and_chosen_notes(team, app):
    from pypdf import PdfReader

    from reportkit.services.dossier.job import build_dossier, create_dossier

    entry = team["entry"]
    reviews.annotate(team["reviewer"], entry, "Named target is a journalist.", include_in_dossier=True)
    reviews.annotate(team["reviewer"], entry, "internal chatter")
    reviews.transition(team["editor"], entry, "ready")
    reviews.transition(team["reviewer"], entry, "approved")
    dossier = build_dossier(create_dossier(team["owner"], team["case"], DossierOptions(approved_only=True)),
                            app.config["EVIDENCE_DIR"], workers=0)
    text = "\n".join(p.extract_text() for p in PdfReader(str(team["store"].path_for(dossier.sha256))).pages)
    assert "Approved by Reviewer" in text and "Named target is a journalist." in text
    assert "internal chatter" not in text
