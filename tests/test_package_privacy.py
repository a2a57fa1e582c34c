"""What an evidence package lets out (issue 12). The adversary is whoever ends up holding the ZIP: a platform's
contractor, a leak, a state. By default it must carry no bystander a reviewer hid, no location or device
metadata, no member's email or name, no share-tracking parameter, and nothing of the case beyond the selection
(other and withdrawn entries, internal comments, old values of edits), while its custody chain still verifies.
Only the owner can add the unredacted originals, after a warning, and the export records it."""

import io
import json
import subprocess
import sys
import time
import zipfile

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from reportkit.extensions import db
from reportkit.models import Dossier, Event
from reportkit.services import reviews
from reportkit.services.dossier.options import DossierOptions
from reportkit.services.entries import add_violation, create_entry, update_entry
from reportkit.services.evidence import Limits, add_evidence_file, record_download, refresh_marked_copy
from reportkit.services.package import OriginalsRefused, verify_package, write_package
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes

TRACKED = "https://x.com/leader_en/status/1453347171011694596?s=20&t=Zx9Qp3LmN0&utm_source=share"
MAKE, MODEL = "SecretPhoneMaker", "ModelX9Secret"
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="35,41.37N" '
       b'exif:GPSLongitude="51,23.17E"/></rdf:RDF></x:xmpmeta>')
SECRETS = ["Zx9Qp3LmN0", "utm_source", "OLD-TEXT-BEFORE-EDIT", "INTERNAL-COMMENT-ABOUT-SOURCE",
           "UNSELECTED-ENTRY-TEXT", "WITHDRAWN-ENTRY-TEXT", "WITHDRAWN-BECAUSE-UNSAFE", MAKE, MODEL, "35,41.37N"]


def phone_photo() -> bytes:
    """A JPEG as a phone writes it: the street it was taken in (GPS, in EXIF and XMP) and the phone (make, model)."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = MAKE, MODEL
    exif.get_ifd(0x8825).update({1: "N", 2: (35.0, 41.0, 22.0), 3: "E", 4: (51.0, 23.0, 10.0)})
    buf = io.BytesIO()
    Image.new("RGB", (160, 120), (10, 120, 200)).save(buf, "JPEG", exif=exif, xmp=XMP)
    return buf.getvalue()


@pytest.fixture
def world(app, make_user, make_case):
    owner = make_user("owner.real@example.org", name="Roya Karimi")
    editor = make_user("editor.real@example.org", name="Dariush Editor")
    reviewer = make_user("reviewer.real@example.org", name="Sara Reviewer")
    case = make_case(owner, members=[(editor, "editor"), (reviewer, "reviewer")])
    store, limits = EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config)
    chosen = create_entry(editor, case, TRACKED, {"text": "OLD-TEXT-BEFORE-EDIT"})
    shot = add_evidence_file(editor, chosen, io.BytesIO(png_bytes(300, 200)), "shot.png", store, limits)
    photo = add_evidence_file(editor, chosen, io.BytesIO(phone_photo()), "photo.jpg", store, limits)
    reviews.add_region(reviewer, chosen, shot, "redact", 0.1, 0.1, 0.4, 0.4, "a bystander's face")
    refresh_marked_copy(shot.entry.created_by, shot, store, app.config["PRINT_MAX_WIDTH"])
    update_entry(editor, chosen, {"text": "We will destroy them."})
    reviews.annotate(reviewer, chosen, "INTERNAL-COMMENT-ABOUT-SOURCE")
    record_download(reviewer, photo)
    add_violation(editor, chosen, "x/violent_content/violent_threats", "A threat.")
    reviews.transition(editor, chosen, "ready")
    reviews.transition(reviewer, chosen, "approved")
    other = create_entry(editor, case, "https://x.com/leader_en/status/2", {"text": "UNSELECTED-ENTRY-TEXT"})
    add_evidence_file(editor, other, io.BytesIO(png_bytes(90, 90)), "other.png", store, limits)
    gone = create_entry(editor, case, "https://x.com/leader_en/status/3", {"text": "WITHDRAWN-ENTRY-TEXT"})
    reviews.withdraw_entry(owner, gone, "WITHDRAWN-BECAUSE-UNSAFE")
    return {"owner": owner, "editor": editor, "reviewer": reviewer, "case": case, "chosen": chosen, "shot": shot,
            "photo": photo, "other": other, "store": store}


def everything_in(zf: zipfile.ZipFile) -> dict[str, bytes]:
    """Every member's bytes, and the dossier's text (its streams are compressed: grep would not see into them)."""
    members = {name: zf.read(name) for name in zf.namelist()}
    pdf = PdfReader(io.BytesIO(members["dossier.pdf"]))
    members["dossier.pdf (text)"] = " ".join(p.extract_text() or "" for p in pdf.pages).encode()
    return members


def test_default_package_lets_out_only_the_selection_without_people_or_metadata(app, world, runner, tmp_path):
    store, shot, photo = world["store"], world["shot"], world["photo"]
    out = tmp_path / "package.zip"
    write_package(world["owner"], world["case"], out, app.config["EVIDENCE_DIR"], workers=0,
                  options=DossierOptions(approved_only=True))
    with zipfile.ZipFile(out) as zf:
        members = everything_in(zf)
    originals = {ev.sha256: store.path_for(ev.sha256).read_bytes() for ev in (shot, photo)}
    files = {name.removeprefix("files/") for name in members if name.startswith("files/")}
    # redaction: the marked copy of the screenshot, never its original or its unredacted print copy
    assert files == {shot.marked_copy.sha256, photo.print_copy.sha256}
    assert shot.print_copy.sha256 not in files and not files & set(originals)
    for name, data in members.items():
        for original in (*originals.values(), store.path_for(shot.print_copy.sha256).read_bytes()):
            assert original not in data, name
        # people, tracking parameters, other entries, comments, old values, metadata: nowhere
        for person in (world["owner"], world["editor"], world["reviewer"]):
            assert person.email.encode() not in data and person.name.encode() not in data, (name, person.email)
        assert b"@example.org" not in data, name
        for secret in SECRETS:
            assert secret.encode() not in data, (name, secret)
    for name in files:  # no image that leaves carries EXIF at all
        with Image.open(io.BytesIO(members[f"files/{name}"])) as img:
            assert not img.getexif() and not {"exif", "xmp"} & set(img.info), name
    # the originals, by hash only
    manifest = json.loads(members["manifest.json"])
    assert {o["sha256"] for o in manifest["originals"]} == set(originals)
    assert manifest["disclosure"]["originals_included"] is False
    entry = json.loads(members[f"entries/{world['chosen'].number}/entry.json"])
    assert {e["sha256"] for e in entry["evidence"]} == set(originals)
    assert [e["included"] for e in entry["evidence"]] == [[shot.marked_copy.sha256], [photo.print_copy.sha256]]
    assert sorted(n for n in members if n.endswith("entry.json")) == [f"entries/{world['chosen'].number}/entry.json"]
    # selection and history: every event's hash, the content only of what the chosen entry needs
    events = json.loads(members["events.json"])
    chain = list(db.session.scalars(select(Event).where(Event.case_id == world["case"].id).order_by(Event.id)))
    assert [e["hash"] for e in events] == [e.hash for e in chain[:-2]]  # all but this export's PDF and package
    assert [e.action for e in chain[-2:]] == ["dossier.exported", "package.exported"]
    shown = [e for e in events if not e.get("withheld")]
    assert {e["entry_id"] for e in shown} == {world["chosen"].id}
    assert {e["action"] for e in shown} == {"evidence.uploaded", "clause.mapped", "status.changed", "entry.approved"}
    withheld = [e for e in events if e.get("withheld")]
    assert all(set(e) == {"id", "case_id", "hash", "prev_hash", "withheld"} for e in withheld)
    assert manifest["disclosure"]["events_withheld"] == len(withheld) > 10
    people = json.loads(members["people.json"])
    assert people == {str(world["editor"].id): "Editor 1", str(world["reviewer"].id): "Reviewer 1"}
    # and it still verifies: ours, the recipient's stdlib checker, the command line
    assert verify_package(out) == []
    run = subprocess.run([sys.executable, "-I", "-c", members["verify.py"].decode(), str(out)], capture_output=True,
                         text=True)
    assert run.returncode == 0 and f"{len(withheld)} are withheld" in run.stdout, run.stdout + run.stderr
    cli = runner.invoke(args=["verify-package", str(out)])
    assert cli.exit_code == 0 and f"{len(shown)} are disclosed" in cli.output, cli.output
    # the anchors still read the package's head
    anchored = runner.invoke(args=["verify", str(world["case"].id), "--anchor", str(out)])
    assert anchored.exit_code == 0, anchored.output


def test_a_disclosed_event_changed_or_hidden_content_is_caught(app, world, tmp_path):
    out = tmp_path / "package.zip"
    write_package(world["owner"], world["case"], out, app.config["EVIDENCE_DIR"], workers=0,
                  options=DossierOptions(approved_only=True))
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(folder)
    events = json.loads((folder / "events.json").read_text())
    shown = next(e for e in events if e.get("action") == "clause.mapped")
    shown["data"]["rationale"] = "Something else."
    hidden = next(e for e in events if e.get("withheld"))
    hidden["action"] = "entry.created"  # content slipped into a withheld event is checked as content
    (folder / "events.json").write_text(json.dumps(events))
    run = subprocess.run([sys.executable, "-I", "verify.py", "."], cwd=folder, capture_output=True, text=True)
    assert run.returncode == 1
    assert f"PROBLEM: event {shown['id']}: its content does not match its hash" in run.stdout
    assert f"PROBLEM: event {hidden['id']}: its content does not match its hash" in run.stdout


def wait_done(client, headers, dossier_id, timeout=90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/v1/dossiers/{dossier_id}", headers=headers).json
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    raise AssertionError("the package job did not finish")


def test_only_the_owner_includes_originals_and_it_is_recorded(app, world, token_for, tmp_path):
    client, case = app.test_client(), world["case"]
    ask = {"with_package": True, "include_originals": True, "approved_only": True}
    for member in ("reviewer", "editor"):
        refused = client.post(f"/api/v1/cases/{case.id}/dossiers", headers=token_for(world[member]), json=ask)
        assert refused.status_code == 403 and "owner" in refused.json["error"]["message"]
    with pytest.raises(OriginalsRefused):  # the service refuses too, whoever calls it
        write_package(world["reviewer"], case, tmp_path / "x.zip", app.config["EVIDENCE_DIR"], workers=0,
                      options=DossierOptions(approved_only=True, include_originals=True))
    assert not (tmp_path / "x.zip").exists()
    bad = client.post(f"/api/v1/cases/{case.id}/dossiers", headers=token_for(world["owner"]),
                      json={"include_originals": True})
    assert bad.status_code == 422 and "include_originals" in bad.json["error"]["fields"]
    assert db.session.scalar(select(db.func.count(Dossier.id))) == 0

    headers = token_for(world["owner"])
    made = client.post(f"/api/v1/cases/{case.id}/dossiers", headers=headers, json=ask)
    assert made.status_code == 202
    assert made.json["originals_warning"].startswith("The unredacted originals of 2 file(s)")
    assert "hidden on 1 of them" in made.json["originals_warning"]
    assert "1 carry a location (GPS) and 1 name the camera" in made.json["originals_warning"]
    state = wait_done(client, headers, made.json["id"])
    assert state["status"] == "done", state
    download = client.get(state["package_url"], headers=headers)
    out = tmp_path / "with-originals.zip"
    out.write_bytes(download.data)
    download.close()
    assert verify_package(out) == []
    originals = {ev.sha256 for ev in (world["shot"], world["photo"])}
    with zipfile.ZipFile(out) as zf:
        files = {n.removeprefix("files/") for n in zf.namelist() if n.startswith("files/")}
        manifest = json.loads(zf.read("manifest.json"))
    assert originals <= files and manifest["disclosure"]["originals_included"] is True
    exported = db.session.scalars(select(Event).where(Event.case_id == case.id,
                                                      Event.action == "package.exported")).one()
    assert exported.actor_id == world["owner"].id
    assert exported.data["originals_included"] is True and set(exported.data["originals"]) == originals


def test_export_page_says_what_leaves_before_the_export(app, world, login):
    case = world["case"]
    form = {"mode": "rules", "paper": "A4", "account": "0", "include_unapproved": "y", "with_package": "y",
            "include_originals": "y"}
    # (one signed-in client at a time: the test's app context keeps Flask-Login's user between requests)
    reviewer = login(app.test_client(), world["reviewer"])
    page = reviewer.get(f"/dossiers/new/{case.id}").data.decode()
    assert "What the evidence package will contain" in page and "include_originals" not in page
    assert reviewer.post(f"/dossiers/new/{case.id}", data={**form, "confirm_originals": "y"}).status_code == 403
    assert db.session.scalar(select(db.func.count(Dossier.id))) == 0

    owner = login(app.test_client(), world["owner"])
    page = owner.get(f"/dossiers/new/{case.id}").data.decode()
    assert "What the evidence package will contain" in page and "no location or device metadata" in page
    assert "include_originals" in page
    warned = owner.post(f"/dossiers/new/{case.id}", data=form)
    text = warned.data.decode()
    assert warned.status_code == 200 and "The unredacted originals will leave the tool" in text
    assert "1 carry a location (GPS)" in text and "photo.jpg" in text and "confirm_originals" in text
    assert db.session.scalar(select(db.func.count(Dossier.id))) == 0  # nothing made before the confirmation
    confirmed = owner.post(f"/dossiers/new/{case.id}", data={**form, "confirm_originals": "y"})
    assert confirmed.status_code == 302
    dossier = db.session.scalars(select(Dossier)).one()
    assert dossier.with_package and dossier.options["include_originals"] is True
    db.session.rollback()  # the test's own read must not hold SQLite's lock while the job writes
    deadline = time.monotonic() + 90
    while owner.get(f"/dossiers/{dossier.id}/status.json").json["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, "the package job did not finish"
        time.sleep(0.2)
        db.session.rollback()  # requests share the test's session here: see the job's commits, not a snapshot
    page = owner.get(f"/dossiers/{dossier.id}").data.decode()
    assert "the unredacted originals (with their metadata)" in page


def test_command_line_warns_before_it_includes_originals(app, world, runner, tmp_path):
    """The operator (who holds the server anyway) may add originals from the command line: warned, recorded."""
    case, out = world["case"], tmp_path / "cli.zip"
    made = runner.invoke(args=["export-package", str(case.id), "-o", str(out), "--approved-only",
                               "--include-originals"])
    assert made.exit_code == 0, made.output
    assert "Warning: The unredacted originals of 2 file(s)" in made.stderr and "1 carry a location" in made.stderr
    assert verify_package(out) == []
    with zipfile.ZipFile(out) as zf:
        assert {f"files/{ev.sha256}" for ev in (world["shot"], world["photo"])} <= set(zf.namelist())
    exported = db.session.scalars(select(Event).where(Event.case_id == case.id,
                                                      Event.action == "package.exported")).one()
    assert exported.actor_id is None and exported.data["originals_included"] is True
