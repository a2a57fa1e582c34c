"""The evidence store and the upload pipeline: hashing, atomic write-once storage, sniffing, bad files."""

import hashlib
import io
import os
import zipfile

import pytest
from PIL import Image

from reportkit.services.evidence import EvidenceError, Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore, StoredFileMissing, TooLarge, as_store, hash_name

from .conftest import png_bytes

LIMITS = Limits(max_size=5 * 1024 * 1024, max_pixels=20_000_000, print_width=1600)


@pytest.fixture
def store(tmp_path):
    return EvidenceStore(tmp_path / "store")


@pytest.fixture
def entry(app, make_user, make_case, make_entry):
    user = make_user()
    return make_entry(make_case(user), user), user


def test_stage_hashes_bytes_as_received_and_commit_is_write_once(store):
    data = b"evidence bytes" * 1000
    staged = store.stage(io.BytesIO(data))
    assert staged.sha256 == hashlib.sha256(data).hexdigest() and staged.size == len(data)
    path = store.commit(staged)
    assert path.read_bytes() == data and path.name == staged.sha256
    assert not os.access(path, os.W_OK) or os.geteuid() == 0  # root ignores modes
    assert oct(path.stat().st_mode & 0o777) == "0o444"
    assert list((store.root / "tmp").iterdir()) == []


def test_same_bytes_twice_keep_one_copy(store):
    first = store.commit(store.stage(io.BytesIO(b"same")))
    second = store.commit(store.stage(io.BytesIO(b"same")))
    assert first == second
    assert len([p for p in store.root.rglob("*") if p.is_file()]) == 1


def test_put_file_copies_an_app_made_file_in_by_its_hash(store, tmp_path):
    made = tmp_path / "dossier.pdf"
    made.write_bytes(b"%PDF-1.7 " + os.urandom(3 * 1024 * 1024))  # bigger than one read chunk
    sha, path = store.put_file(made)
    assert sha == hashlib.sha256(made.read_bytes()).hexdigest() and path.read_bytes() == made.read_bytes()
    assert made.exists() and not list((store.root / "tmp").iterdir())  # the source stays; no staging left


def test_over_limit_leaves_no_file(store):
    with pytest.raises(TooLarge):
        store.stage(io.BytesIO(b"x" * 2048), max_size=1024)
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_interrupted_stream_leaves_no_file(store):
    class Broken(io.BytesIO):
        def read(self, n=-1):
            if self.tell() > 0:
                raise ConnectionResetError("client went away")
            return super().read(10)

    with pytest.raises(ConnectionResetError):
        store.stage(Broken(b"0123456789abcdef"))
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_path_for_refuses_non_hash(store):
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")


def test_the_store_interface_both_stores_share_reads_checks_and_lists(store, tmp_path):
    """What backups, verify, packages and the PDF renderer call (services/s3.py has the same methods)."""
    sha, _ = store.put_bytes(b"evidence bytes")
    other, _ = store.put_bytes(b"more evidence")
    assert store.check(sha) is None and store.read_bytes(sha) == b"evidence bytes" and store.size(sha) == 14
    out = io.BytesIO()
    assert store.stream_to(sha, out) == sha and out.getvalue() == b"evidence bytes"
    assert list(store.stored_hashes()) == sorted([sha, other])  # the staging folder is not listed
    with store.as_file(sha) as path:
        assert path.read_bytes() == b"evidence bytes"
    assert store.locked_until(sha) is None
    assert store.relative_name(sha) == hash_name(sha) == f"{sha[:2]}/{sha[2:4]}/{sha}"
    path = store.path_for(sha)
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    assert store.check(sha) == "changed"
    altered = io.BytesIO()
    assert store.stream_to(sha, altered) == hashlib.sha256(b"tampered").hexdigest()  # what was read, said as such
    path.unlink()
    assert store.check(sha) == "missing"
    with pytest.raises(StoredFileMissing):
        store.stream_to(sha, io.BytesIO())
    assert as_store(str(tmp_path / "store")).root == store.root and as_store(store) is store
    assert store.probe() == str(store.root)
    with pytest.raises(ValueError):
        hash_name("../../etc/passwd")


def test_png_upload_stores_original_and_print_copy(entry, store):
    ent, user = entry
    data = png_bytes(2400, 1200)
    ev = add_evidence_file(user, ent, io.BytesIO(data), "shot.png", store, LIMITS)
    assert (ev.kind, ev.mime, ev.sha256, ev.size) == ("screenshot", "image/png", hashlib.sha256(data).hexdigest(),
                                                      len(data))
    assert store.path_for(ev.sha256).read_bytes() == data  # original untouched
    copy = ev.print_copy
    assert copy.parent_sha256 == ev.sha256 and copy.width == 1600 and copy.height == 800
    with Image.open(store.path_for(copy.sha256)) as img:
        assert img.format == "JPEG" and img.width == 1600


def test_print_copy_applies_orientation_and_strips_gps(entry, store):
    ent, user = entry
    img = Image.new("RGB", (300, 100), "blue")
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° on display
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}  # GPS IFD
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    ev = add_evidence_file(user, ent, io.BytesIO(buf.getvalue()), "photo.jpg", store, LIMITS)
    with Image.open(store.path_for(ev.print_copy.sha256)) as out:
        assert out.size == (100, 300)
        assert not out.getexif() and "exif" not in out.info
    with Image.open(store.path_for(ev.sha256)) as original:
        assert original.getexif().get(0x0112) == 6  # the original keeps its metadata


@pytest.mark.parametrize(("name", "data", "status", "message"), [
    ("empty.png", b"", 415, "empty"),
    ("lies.png", b"MZ\x90\x00" + b"\x00" * 200, 415, "not accepted"),
    ("script.png", b"#!/bin/sh\nrm -rf /\n", 415, "not accepted"),
    ("truncated.png", png_bytes(400, 400)[:300], 422, "damaged or truncated"),
    ("archive.zip", None, 415, "not accepted"),
])
def test_bad_files_are_refused_and_nothing_is_kept(entry, store, name, data, status, message):
    ent, user = entry
    if data is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("a.txt", "hello")
        data = buf.getvalue()
    with pytest.raises(EvidenceError, match=message) as err:
        add_evidence_file(user, ent, io.BytesIO(data), name, store, LIMITS)
    assert err.value.status == status
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_decompression_bomb_is_refused(entry, store):
    ent, user = entry
    bomb = png_bytes(6000, 6000, color=(0, 0, 0), optimize=True)  # 36 Mpx, a few hundred KB
    with pytest.raises(EvidenceError, match="more than the") as err:
        add_evidence_file(user, ent, io.BytesIO(bomb), "bomb.png", store, Limits(10**8, 20_000_000, 1600))
    assert err.value.status == 422


@pytest.mark.parametrize(("name", "data", "kind", "mime"), [
    ("page.html", b"<!DOCTYPE html><html><body>post</body></html>", "page", "text/html"),
    ("page.mhtml", b"From: <Saved by Blink>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related;\r\n", "page",
     "multipart/related"),
    ("a.warc", b"WARC/1.1\r\nWARC-Type: warcinfo\r\n", "web_archive", "application/warc"),
    ("doc.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "pdf", "application/pdf"),
    ("clip.webm", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + b"\x00" * 64, "video",
     "video/webm"),
])
def test_accepted_types_are_sniffed_from_content(entry, store, name, data, kind, mime):
    ent, user = entry
    ev = add_evidence_file(user, ent, io.BytesIO(data), "renamed.bin", store, LIMITS)
    assert (ev.kind, ev.mime) == (kind, mime)
    assert ev.print_copy is None


def test_wacz_is_recognised(entry, store):
    ent, user = entry
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("datapackage.json", "{}")
        zf.writestr("archive/data.warc.gz", b"")
    ev = add_evidence_file(user, ent, io.BytesIO(buf.getvalue()), "x.wacz", store, LIMITS)
    assert (ev.kind, ev.mime) == ("web_archive", "application/wacz")


def test_claimed_kind_must_match_content(entry, store):
    ent, user = entry
    with pytest.raises(EvidenceError, match="not a video") as err:
        add_evidence_file(user, ent, io.BytesIO(png_bytes()), "x.png", store, LIMITS, kind="video")
    assert err.value.status == 415


def test_file_names_are_cleaned(entry, store):
    ent, user = entry
    ev = add_evidence_file(user, ent, io.BytesIO(png_bytes()), "..\\..\\evil\x07.png", store, LIMITS)
    assert ev.original_name == "evil.png"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF"])
def test_truncated_images_are_refused_even_after_weasyprint_is_imported(entry, store, fmt):
    import weasyprint  # noqa: F401  (it sets Pillow's LOAD_TRUNCATED_IMAGES globally)

    ent, user = entry
    data = png_bytes(300, 200, fmt=fmt)
    with pytest.raises(EvidenceError, match="damaged or truncated") as err:
        add_evidence_file(user, ent, io.BytesIO(data[: len(data) * 2 // 3]), f"cut.{fmt.lower()}", store, LIMITS)
    assert err.value.status == 422
