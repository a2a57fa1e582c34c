"""A full disk and a failed database write keep nothing of an upload; a purge in one case never removes bytes
another row uses, and tells the purging team nothing about other teams' files."""

import hashlib
import html
import io
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select, text

from reportkit.extensions import db
from reportkit.models import Derivative, Dossier, Event, Evidence, Import
from reportkit.services.byte_uses import hashes_in_use
from reportkit.services.custody import record, verify_case
from reportkit.services.dossier.job import DossierOptions, build_dossier, create_dossier
from reportkit.services.entries import add_violation
from reportkit.services.evidence import Limits, add_evidence_file, purge_evidence
from reportkit.services.storage import FULL_MESSAGE, EvidenceStore

from .conftest import png_bytes

FULL = "The server's storage is full; nothing was saved."


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


def noise_png(side: int = 400) -> bytes:
    """A PNG that does not compress (about 480 KB), whose print copy is about 100 KB."""
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buf, "PNG")
    return buf.getvalue()


def pdf_bytes() -> bytes:
    return b"%PDF-1.7\n" + os.urandom(2048).hex().encode() + b"\n%%EOF\n"


@pytest.fixture
def small_disk(tmp_path):
    """A real file system of a given size (tmpfs; mounting needs root, else the test is skipped)."""
    mounted = []

    def mount(size: int) -> Path:
        path = tmp_path / f"disk{len(mounted)}"
        path.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                              capture_output=True, text=True, check=False)
        if done.returncode:
            pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _world(app):
    from reportkit.models import User
    from reportkit.services.cases import create_case
    from reportkit.services.entries import create_entry

    from .conftest import _password_hash

    user = User(email="ana@example.org", name="Ana")
    user.password_hash = _password_hash()
    db.session.add(user)
    db.session.commit()
    case = create_case(user, "Case A", "A. Leader", "Summary", [{"platform": "x", "handle": "leader_en"}])
    entry = create_entry(user, case, "https://x.com/leader_en/status/1453347171011694596", {})
    return user, case, entry


def test_a_full_disk_while_the_print_copy_is_stored_is_a_507_and_keeps_nothing(make_app, small_disk, login,
                                                                               token_for):
    original = noise_png()
    disk = small_disk(-(-len(original) // 4096) * 4096 + 32 * 1024)  # the original fits, its print copy not
    root = disk / "evidence"
    app = make_app(EVIDENCE_DIR=str(root))
    with app.app_context():
        user, _, entry = _world(app)
        client = login(app.test_client(), user)

        resp = client.post(f"/evidence/upload/{entry.id}", data={"files": [(io.BytesIO(original), "big.png")]},
                           content_type="multipart/form-data")
        assert resp.status_code == 507 and FULL in html.unescape(resp.data.decode())
        assert "half-saved" not in resp.data.decode()
        assert stored_files(root) == []  # the original it had stored is gone again: the message is true
        assert db.session.scalars(select(Evidence)).all() == []

        resp = app.test_client().post(f"/api/v1/entries/{entry.id}/evidence", headers=token_for(user),
                                      data={"file": (io.BytesIO(original), "big.png")})
        assert resp.status_code == 507
        assert resp.json["error"]["code"] == "insufficient_storage" and resp.json["error"]["message"] == FULL
        assert stored_files(root) == [] and db.session.scalars(select(Evidence)).all() == []

        # Room for a small file: it is kept; the big one after it is not, and the page says which.
        small = png_bytes()
        resp = client.post(f"/evidence/upload/{entry.id}", data={"files": [(io.BytesIO(small), "small.png"),
                                                                           (io.BytesIO(original), "big.png")]},
                           content_type="multipart/form-data", follow_redirects=True)
        page = html.unescape(resp.data.decode())
        assert resp.status_code == 200 and "Stored small.png" in page
        assert "big.png: The server's storage is full: this file and the ones after it were not saved" in page
        [kept] = db.session.scalars(select(Evidence)).all()
        assert kept.sha256 == hashlib.sha256(small).hexdigest()
        assert {p.name for p in stored_files(root)} == {kept.sha256, kept.print_copy.sha256}
        db.session.remove()
        db.engine.dispose()


def test_a_full_database_disk_is_a_507_and_the_stored_bytes_go_too(make_app, small_disk, login, migrated_db,
                                                                   tmp_path):
    disk = small_disk(4 * 1024 * 1024)
    db_path = disk / "reportkit.db"
    db_path.write_bytes(migrated_db.read_bytes())
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}")
    root = Path(app.config["EVIDENCE_DIR"])
    with app.app_context():
        user, _, entry = _world(app)
        client = login(app.test_client(), user)
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as fh:  # fill the database's disk to the last byte
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        try:
            resp = client.post(f"/evidence/upload/{entry.id}", data={"files": [(io.BytesIO(png_bytes()), "s.png")]},
                               content_type="multipart/form-data")
            assert resp.status_code == 507 and FULL in html.unescape(resp.data.decode())
            assert stored_files(root) == []  # the bytes went into the store before the row failed: removed again
        finally:
            filler.unlink()
        assert db.session.scalars(select(Evidence)).all() == []
        db.session.remove()
        db.engine.dispose()


def test_a_database_error_after_storing_removes_only_the_bytes_this_upload_added(app, make_user, make_case,
                                                                                 make_entry):
    user = make_user()
    case = make_case(user)
    store, limits = EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config)
    kept = add_evidence_file(user, make_entry(case, user), io.BytesIO(png_bytes()), "a.png", store, limits)
    before = stored_files(store.root)
    db.session.execute(text("CREATE TRIGGER no_more_evidence BEFORE INSERT ON evidence "
                            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"))
    db.session.commit()
    other = make_entry(case, user, url="https://t.me/leader_fa/77")
    with pytest.raises(Exception, match="refused by the test"):
        add_evidence_file(user, other, io.BytesIO(png_bytes(color=(1, 2, 3))), "new.png", store, limits)
    assert stored_files(store.root) == before  # the new original and print copy are gone
    with pytest.raises(Exception, match="refused by the test"):  # the same bytes as a stored file
        add_evidence_file(user, other, io.BytesIO(store.path_for(kept.sha256).read_bytes()), "b.png", store, limits)
    assert stored_files(store.root) == before  # they were there before: they stay, for the row that uses them
    assert verify_case(case.id, store).ok


# --- Purge and shared bytes -------------------------------------------------------------------------------

@pytest.fixture
def two_teams(app, make_user, make_case, make_entry, login):
    ana, bo = make_user("ana@example.org"), make_user("bo@example.org")
    theirs = make_case(ana, title="Their case")
    mine = make_case(bo, title="Outsider's case")
    client = login(app.test_client(), bo)
    store, limits = EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config)

    def upload_and_purge(data: bytes, url: str) -> tuple[str, Event]:
        """The outsider uploads bytes in their own case and purges them: what are they told and recorded?"""
        ev = add_evidence_file(bo, make_entry(mine, bo, url=url), io.BytesIO(data), "x.pdf", store, limits)
        page = client.post(f"/evidence/{ev.id}/purge", data={"reason": "Private data."},
                           follow_redirects=True).data.decode()
        event = db.session.scalar(select(Event).where(Event.action == "evidence.purged").order_by(Event.id.desc()))
        return _flashes(page), event

    return {"ana": ana, "bo": bo, "theirs": theirs, "mine": mine, "store": store, "limits": limits,
            "upload_and_purge": upload_and_purge}


def _flashes(page: str) -> list[str]:
    import re

    return [html.unescape(m) for m in re.findall(r'<p class="flash [^"]*">(.*?)</p>', page, re.S)]


def test_an_outsider_who_purges_a_copy_of_another_teams_dossier_destroys_nothing(two_teams, app, make_entry,
                                                                                 login):
    t = two_teams
    entry = make_entry(t["theirs"], t["ana"])  # an X post
    add_violation(t["ana"], entry, "x/violent_content/violent_threats", "Threatens a named person.")
    dossier = create_dossier(t["ana"], t["theirs"], DossierOptions(approved_only=False))
    build_dossier(dossier, app.config["EVIDENCE_DIR"], workers=0)
    pdf = t["store"].path_for(dossier.sha256).read_bytes()

    told_alone, event_alone = t["upload_and_purge"](pdf_bytes(), "https://t.me/mine/1")  # bytes no one else has
    told, event = t["upload_and_purge"](pdf, "https://t.me/mine/2")  # a copy of their dossier

    assert told == told_alone == ["The file was purged from this case; its hash and your reason stay in the history."]
    assert set(event.data) == set(event_alone.data) == {"sha256", "name", "derivatives"}  # no oracle in the log
    assert t["store"].exists(dossier.sha256)
    owner = login(app.test_client(), t["ana"])
    resp = owner.get(f"/dossiers/{dossier.id}/pdf")
    assert resp.status_code == 200 and resp.data == pdf
    resp.close()
    assert verify_case(t["theirs"].id, t["store"]).ok


@pytest.mark.parametrize("kind", ["dossier", "package", "import", "timestamp", "marked_copy"])
def test_every_row_that_points_at_bytes_keeps_them_through_another_teams_purge(two_teams, make_entry, kind):
    t = two_teams
    data = pdf_bytes()
    sha, _ = t["store"].put_bytes(data)
    case_id = t["theirs"].id
    if kind == "dossier":
        db.session.add(Dossier(case_id=case_id, document_id="RK-T-1", status="done", sha256=sha))
    elif kind == "package":
        db.session.add(Dossier(case_id=case_id, document_id="RK-T-2", status="done", package_sha256=sha))
    elif kind == "import":
        db.session.add(Import(case_id=case_id, kind="csv", filename="list.csv", file_sha256=sha))
    elif kind == "timestamp":
        record(t["ana"], case_id, "package.exported", f"case:{case_id}", {"timestamps": [{"sha256": sha}]})
    else:
        ev = add_evidence_file(t["ana"], make_entry(t["theirs"], t["ana"]), io.BytesIO(png_bytes()), "s.png",
                               t["store"], t["limits"])
        ev.derivatives.append(Derivative(purpose="marked", sha256=sha, parent_sha256=ev.sha256, mime="image/jpeg",
                                         size=len(data), width=1, height=1))
    db.session.commit()
    assert hashes_in_use({sha}) == {sha}

    told, _ = t["upload_and_purge"](data, "https://t.me/mine/3")
    assert told == ["The file was purged from this case; its hash and your reason stay in the history."]
    assert t["store"].path_for(sha).read_bytes() == data


def test_purged_evidence_is_not_a_user_of_its_bytes(two_teams):
    t = two_teams
    data = pdf_bytes()
    told, _ = t["upload_and_purge"](data, "https://t.me/mine/4")
    sha = hashlib.sha256(data).hexdigest()
    assert told == ["The file was purged from this case; its hash and your reason stay in the history."]
    assert hashes_in_use({sha}) == set() and not t["store"].exists(sha)  # the last user gone: the bytes go
    assert db.session.scalar(select(Evidence).where(Evidence.sha256 == sha)).purged_at is not None


def test_purge_names_entries_of_the_same_case_only(two_teams, make_entry, login, app):
    t = two_teams
    data = pdf_bytes()
    ana, theirs = t["ana"], t["theirs"]
    first = add_evidence_file(ana, make_entry(theirs, ana), io.BytesIO(data), "a.pdf", t["store"], t["limits"])
    twin_entry = make_entry(theirs, ana, url="https://t.me/leader_fa/9")
    add_evidence_file(ana, twin_entry, io.BytesIO(data), "b.pdf", t["store"], t["limits"])
    done = purge_evidence(ana, first, "Private data.", t["store"])
    assert done.same_case_entries == [twin_entry.number] and not done.complete
    assert t["store"].exists(first.sha256)
    assert FULL_MESSAGE == FULL
