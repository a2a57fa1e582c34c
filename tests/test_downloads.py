"""Every download re-hashes the stored file first. The adversary: someone with write access to the evidence
store who overwrites or deletes a stored PDF, package, original or print copy, while the pages and the API
still show the original hash. The download must say so plainly and send nothing of the altered bytes."""

import hashlib
import io
import os

import pytest
from sqlalchemy import func, select

from reportkit.extensions import db
from reportkit.models import Dossier, Event
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore, StoredFileChanged, StoredFileMissing

from .conftest import png_bytes

FORGED = b"FORGED BYTES: not what was stored"

ROUTES = [  # (url, which stored file it sends)
    ("/dossiers/{dossier}/pdf", "pdf"),
    ("/dossiers/{dossier}/package", "package"),
    ("/evidence/{evidence}/original", "original"),
    ("/evidence/{evidence}/print", "print"),
    ("/api/v1/dossiers/{dossier}/pdf", "pdf"),
    ("/api/v1/dossiers/{dossier}/package", "package"),
    ("/api/v1/evidence/{evidence}/original", "original"),
]


@pytest.fixture
def stored(app, make_user, make_case, make_entry, login, token_for):
    """A case with one original (and its print copy) and a finished export with a package; a logged-in
    client and an API token. Stand-in bytes for the PDF and the ZIP: rendering is not what is tested here."""
    user = make_user()
    case = make_case(user)
    store = EvidenceStore(app.config["EVIDENCE_DIR"])
    evidence = add_evidence_file(user, make_entry(case, user), io.BytesIO(png_bytes()), "post.png", store,
                                 Limits.from_config(app.config))
    pdf_sha, _ = store.put_bytes(b"%PDF-1.7\n%stand-in for a rendered dossier\n%%EOF\n")
    zip_sha, _ = store.put_bytes(b"PK\x05\x06" + b"\x00" * 18)
    dossier = Dossier(case_id=case.id, document_id="RK-TEST", status="done", sha256=pdf_sha, pages=1,
                      with_package=True, package_sha256=zip_sha, package_size=22)
    db.session.add(dossier)
    db.session.commit()
    shas = {"pdf": pdf_sha, "package": zip_sha, "original": evidence.sha256, "print": evidence.print_copy.sha256}
    ids = {"dossier": dossier.id, "evidence": evidence.id}
    return {"store": store, "shas": shas, "ids": ids, "client": login(app.test_client(), user),
            "headers": token_for(user)}


def get(stored, url, **kwargs):
    url = url.format(**stored["ids"])
    headers = {**(stored["headers"] if url.startswith("/api/") else {}), **kwargs.pop("headers", {})}
    resp = stored["client"].get(url, headers=headers, **kwargs)
    body = resp.get_data()
    resp.close()
    return resp, body


def overwrite(path, data: bytes) -> None:
    """What an intruder with write access does: the store keeps files read-only (0o444), which stops no one."""
    os.chmod(path, 0o644)
    path.write_bytes(data)
    os.chmod(path, 0o444)


def downloads(session) -> int:
    return session.scalar(select(func.count()).select_from(Event).where(Event.action == "evidence.downloaded"))


@pytest.mark.parametrize(("url", "which"), ROUTES)
def test_a_download_sends_the_bytes_it_checked(stored, url, which):
    sha = stored["shas"][which]
    resp, body = get(stored, url)
    assert resp.status_code == 200
    assert hashlib.sha256(body).hexdigest() == sha
    assert resp.headers["ETag"] == f'"{sha}"' and resp.content_length == len(body)
    partial, part = get(stored, url, headers={"Range": "bytes=2-9"})  # a broken download resumes
    assert partial.status_code == 206 and part == body[2:10]
    assert partial.headers["Content-Range"] == f"bytes 2-9/{len(body)}"


@pytest.mark.parametrize(("url", "which"), ROUTES)
def test_a_changed_file_is_refused_not_sent(app, stored, url, which):
    overwrite(stored["store"].path_for(stored["shas"][which]), FORGED)
    before = downloads(db.session)
    resp, body = get(stored, url)
    assert resp.status_code == 409
    assert FORGED not in body
    text = body.decode()
    assert "no longer matches its recorded hash" in text and "It was not sent" in text
    assert "reportkit verify" in text
    if url.startswith("/api/"):
        assert resp.json["error"]["code"] == "stored_file_changed"
    else:
        assert resp.headers["Content-Type"].startswith("text/html") and "File changed" in text
    assert downloads(db.session) == before  # a refused download is not recorded as a copy taken
    again, _ = get(stored, url, headers={"Range": "bytes=0-3"})  # nor is any slice of it sent
    assert again.status_code == 409


@pytest.mark.parametrize(("url", "which"), ROUTES)
def test_a_missing_file_is_gone(app, stored, url, which):
    path = stored["store"].path_for(stored["shas"][which])
    os.chmod(path, 0o644)
    path.unlink()
    resp, body = get(stored, url)
    assert resp.status_code == 410
    text = body.decode()
    assert "The stored file is missing" in text and "It was not sent" in text
    if url.startswith("/api/"):
        assert resp.json["error"]["code"] == "stored_file_missing"
    else:
        assert "File missing" in text


def test_a_file_renamed_over_the_stored_one_after_the_check_is_not_what_is_read(stored):
    """open_verified hands back the very handle it hashed: replacing the name afterwards changes nothing."""
    store, sha = stored["store"], stored["shas"]["original"]
    path = store.path_for(sha)
    original = path.read_bytes()
    with store.open_verified(sha) as fh:
        forged = path.with_name("forged")
        forged.write_bytes(FORGED)
        os.replace(forged, path)
        assert fh.read() == original
    with pytest.raises(StoredFileChanged) as changed:
        store.open_verified(sha).close()
    assert changed.value.actual == hashlib.sha256(FORGED).hexdigest()
    with pytest.raises(StoredFileMissing):
        store.open_verified("0" * 64)
