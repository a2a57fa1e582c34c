"""People and addresses in what leaves the tool (issue 12): export names or pseudonyms, never emails or
account names; no share-tracking parameters; new custody events name people by id only."""

import io

from pypdf import PdfReader
from sqlalchemy import select

from reportkit.extensions import db
from reportkit.models import Event
from reportkit.services import reviews
from reportkit.services.cases import CaseError, set_export_name
from reportkit.services.dossier.job import DossierOptions, build_dossier, create_dossier
from reportkit.services.entries import add_violation, create_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.exports import entries_csv, entries_json
from reportkit.services.storage import EvidenceStore
from reportkit.services.urls import without_tracking

from .conftest import png_bytes

TRACKED = "https://x.com/leader_en/status/1453347171011694596?s=20&t=Zx9Qp3LmN0&utm_source=share"


def reviewed_case(app, make_user, make_case):
    owner = make_user("owner.real@example.org", name="Roya Karimi")
    editor = make_user("editor.real@example.org", name="Dariush Editor")
    reviewer = make_user("reviewer.real@example.org", name="Sara Reviewer")
    case = make_case(owner, members=[(editor, "editor"), (reviewer, "reviewer")],
                     accounts=({"platform": "x", "handle": "leader_en", "profile_url":
                                "https://x.com/leader_en?s=09&fbclid=IwAR0abc"},))
    entry = create_entry(editor, case, TRACKED, {"text": "We will destroy them."})
    add_evidence_file(editor, entry, io.BytesIO(png_bytes()), "s.png", EvidenceStore(app.config["EVIDENCE_DIR"]),
                      Limits.from_config(app.config))
    add_violation(editor, entry, "x/violent_content/violent_threats", "A threat.")
    reviews.transition(editor, entry, "ready")
    reviews.annotate(reviewer, entry, "Seen on the platform myself.", "approval_note", include_in_dossier=True)
    reviews.transition(reviewer, entry, "approved")
    return owner, editor, reviewer, case, entry


def test_dossier_and_exports_print_export_names_and_no_tracking(app, make_user, make_case):
    owner, editor, reviewer, case, entry = reviewed_case(app, make_user, make_case)
    set_export_name(reviewer, case, next(m for m in case.memberships if m.user_id == reviewer.id), "S. (reviewer)")
    dossier = create_dossier(owner, case, DossierOptions())
    build_dossier(dossier, app.config["EVIDENCE_DIR"], 0)
    pdf = PdfReader(EvidenceStore(app.config["EVIDENCE_DIR"]).path_for(dossier.sha256))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in pdf.pages)
    csv_text = entries_csv([entry])
    json_text = str(entries_json(case, [entry]))
    for out in (text, csv_text, json_text):
        for person in (owner, editor, reviewer):
            assert person.email not in out and person.name not in out
        assert "utm_source" not in out and "Zx9Qp3LmN0" not in out and "fbclid" not in out
    assert "S. (reviewer)" in text  # the approval and the note, by the name the reviewer chose
    assert "Editor 1" in text  # the upload, by a pseudonym
    assert entry.submitted_url == TRACKED  # the database keeps what was typed


def test_each_member_chooses_only_their_own_export_name(app, make_user, make_case, client, login):
    owner, editor, reviewer, case, _ = reviewed_case(app, make_user, make_case)
    theirs = next(m for m in case.memberships if m.user_id == reviewer.id)
    try:
        set_export_name(owner, case, theirs, "Forced name")
        raise AssertionError("an owner renamed another member")
    except CaseError:
        db.session.rollback()
    login(client, reviewer)
    resp = client.post(f"/cases/{case.id}/export-name", data={"export_name": "  Sara   R. "}, follow_redirects=True)
    assert resp.status_code == 200 and "Sara R." in resp.data.decode()
    event = db.session.scalars(select(Event).where(Event.action == "member.export_name")).one()
    assert event.data == {"export_name": "Sara R."} and event.actor_id == reviewer.id


def test_new_events_name_people_by_id_only(app, make_user, make_case, client, login):
    owner, editor, reviewer, case, entry = reviewed_case(app, make_user, make_case)
    events = db.session.scalars(select(Event).where(Event.case_id == case.id)).all()
    by_people = [e for e in events if e.actor_id]
    assert len(by_people) > 5 and {e.actor_label for e in by_people} == {""}
    assert {e.actor_label for e in events if not e.actor_id} <= {"command line"}
    login(client, owner)
    page = client.get(f"/cases/{case.id}/activity").data.decode()
    assert "Sara Reviewer" in page  # the team's own page still says who


def test_without_tracking_keeps_what_identifies_the_post():
    assert without_tracking("https://www.youtube.com/watch?v=abc123&si=XyZ&feature=share") == \
        "https://www.youtube.com/watch?v=abc123"
    assert without_tracking("https://www.instagram.com/p/Cx1/?igsh=MTc4&img_index=2") == \
        "https://www.instagram.com/p/Cx1/?img_index=2"
    assert without_tracking("https://example.org/a?id=5#frag") == "https://example.org/a?id=5"
