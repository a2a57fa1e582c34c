"""The evidence store in an S3 bucket (`EVIDENCE_URL=s3://…`), against a real S3-protocol server over HTTP
(moto's standalone server, tests/s3.py). The same guarantees as the local store: hashed before anything is
written, write-once, streamed (multipart) both ways, altered bytes never handed out, and with Object Lock
nobody can delete evidence, not even an administrator with the server's keys.

The adversaries: an intruder with the bucket's keys who rewrites or deletes an object; two writers storing
the same bytes at once; an owner (or a compromised server) purging evidence under retention."""

import hashlib
import io
import os
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from reportkit import create_app
from reportkit.config import ConfigError
from reportkit.extensions import db
from reportkit.models import Dossier, Evidence
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.s3 import S3Store
from reportkit.services.storage import StoredBytesLocked, StoredFileChanged, app_store, hash_name

from .conftest import png_bytes
from .s3 import s3_server  # noqa: F401 - the session's S3 server (a fixture)

X_URL = "https://x.com/leader_en/status/1453347171011694596"
FORGED = b"FORGED BYTES: not what was stored"


@pytest.fixture
def s3_app(make_app, s3_server, tmp_path):  # noqa: F811 - the fixture imported above
    """An app whose evidence store is a new bucket of the session's server; its local folder must stay empty."""
    def build(lock_days=None, **extra):
        bucket = s3_server.create_bucket(object_lock=bool(lock_days))
        app = make_app(**s3_server.settings(bucket, prefix="ev", lock_days=lock_days), **extra)
        app.bucket = bucket
        return app
    return build


@pytest.fixture
def app(s3_app):
    app = s3_app()
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def objects(server, bucket: str) -> dict[str, dict]:
    client = server.client()
    found = {o["Key"]: o for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])}
    client.close()
    return found


def raw_put(server, bucket: str, key: str, data: bytes) -> None:
    """What an intruder with the bucket's keys does: a plain PUT over the object."""
    client = server.client()
    client.put_object(Bucket=bucket, Key=key, Body=data)
    client.close()


def local_files(app) -> list[Path]:
    root = Path(app.config["EVIDENCE_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def scratch(app) -> list[Path]:
    tmp = Path(app.instance_path) / "tmp"
    return [p for p in tmp.rglob("*") if p.is_file()] if tmp.exists() else []


def test_uploads_through_pages_and_api_land_in_the_bucket_and_download_checked(
        app, s3_server, make_user, make_case, make_entry, login, token_for):  # noqa: F811 - the fixture above
    user = make_user()
    case = make_case(user)
    entry = make_entry(case, user)
    client = login(app.test_client(), user)
    shot, api_shot = png_bytes(color=(10, 200, 10)), png_bytes(color=(10, 10, 200))
    page = client.post(f"/evidence/upload/{entry.id}", data={"files": [(io.BytesIO(shot), "shot.png")]},
                       follow_redirects=True)
    assert page.status_code == 200 and "Stored shot.png" in page.data.decode()
    api = app.test_client().post(f"/api/v1/entries/{entry.id}/evidence", headers=token_for(user),
                                 data={"file": (io.BytesIO(api_shot), "api.png"), "kind": "screenshot"})
    assert api.status_code == 201, api.json
    stored = objects(s3_server, app.bucket)
    for data in (shot, api_shot):
        sha = hashlib.sha256(data).hexdigest()
        assert f"ev/{hash_name(sha)}" in stored  # under its hash, in the store's layout
    rows = db.session.scalars(select(Evidence).order_by(Evidence.id)).all()
    assert {f"ev/{hash_name(r.print_copy.sha256)}" for r in rows} <= set(stored)  # print copies too
    assert local_files(app) == [] and scratch(app) == []  # nothing kept on the web server's disk
    for ev, data in zip(rows, (shot, api_shot), strict=True):
        page_dl = client.get(f"/evidence/{ev.id}/original")
        api_dl = app.test_client().get(f"/api/v1/evidence/{ev.id}/original", headers=token_for(user))
        assert page_dl.status_code == api_dl.status_code == 200
        assert page_dl.data == api_dl.data == data and page_dl.headers["ETag"] == f'"{ev.sha256}"'
        part = client.get(f"/evidence/{ev.id}/original", headers={"Range": "bytes=2-9"})
        assert part.status_code == 206 and part.data == data[2:10]
        for resp in (page_dl, api_dl, part):
            resp.close()
        printed = client.get(f"/evidence/{ev.id}/print")
        assert printed.status_code == 200 and hashlib.sha256(printed.data).hexdigest() == ev.print_copy.sha256
        printed.close()
    assert scratch(app) == []  # the checked copies a download reads from leave nothing behind


def test_a_large_file_goes_up_in_parts_and_neither_way_is_read_whole(app, s3_server, tmp_path):  # noqa: F811 - the fixture imported above
    store = app_store()
    big = tmp_path / "big.bin"
    with open(big, "wb") as fh:
        for _ in range(20):
            fh.write(os.urandom(1024 * 1024))  # 20 MiB; parts of 8 MiB
    tracemalloc.start()
    try:
        sha, key = store.put_file(big)
        _, up_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with store.open_verified(sha) as fh:
            _, down_peak = tracemalloc.get_traced_memory()
            assert hashlib.sha256(fh.read()).hexdigest() == sha
    finally:
        tracemalloc.stop()
    assert sha == hashlib.sha256(big.read_bytes()).hexdigest() and key == f"ev/{hash_name(sha)}"
    etag = objects(s3_server, app.bucket)[key]["ETag"].strip('"')
    assert etag.endswith("-3")  # a multipart upload of three parts (8 + 8 + 4 MiB)
    assert up_peak < 12 * 1024 * 1024 and down_peak < 4 * 1024 * 1024, (up_peak, down_peak)


def test_a_large_video_uploaded_through_the_api_is_stored_in_parts(app, s3_server, make_user, make_case,  # noqa: F811
                                                                   make_entry, token_for, tmp_path):
    user = make_user()
    entry = make_entry(make_case(user), user)
    video = tmp_path / "clip.webm"
    with open(video, "wb") as fh:  # a WebM header and 18 MiB of data: two 8 MiB parts and a last one
        fh.write(bytes.fromhex("1a45dfa3") + b"\x42\x82\x84webm" + os.urandom(18 * 1024 * 1024))
    with open(video, "rb") as fh:  # encoded here: the test client's own spooled body file is never closed
        boundary, body = encode_multipart({"file": FileStorage(fh, "clip.webm"), "kind": "video"})
    resp = app.test_client().post(f"/api/v1/entries/{entry.id}/evidence", headers=token_for(user), data=body,
                                  content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 201, resp.json
    sha = resp.json["sha256"]
    found = objects(s3_server, app.bucket)[f"ev/{hash_name(sha)}"]
    assert found["ETag"].strip('"').endswith("-3") and found["Size"] == video.stat().st_size
    download = app.test_client().get(f"/api/v1/evidence/{resp.json['id']}/original", headers=token_for(user))
    assert hashlib.sha256(download.data).hexdigest() == sha
    download.close()
    assert scratch(app) == []


def test_an_altered_or_deleted_object_is_refused_not_sent(app, s3_server, make_user, make_case, make_entry,  # noqa: F811 - the fixture imported above
                                                          login, token_for, runner):
    user = make_user()
    case = make_case(user)
    ev = add_evidence_file(user, make_entry(case, user), io.BytesIO(png_bytes()), "post.png", app_store(),
                           Limits.from_config(app.config))
    key = f"ev/{hash_name(ev.sha256)}"
    raw_put(s3_server, app.bucket, key, FORGED)
    client = login(app.test_client(), user)
    page = client.get(f"/evidence/{ev.id}/original")
    api = app.test_client().get(f"/api/v1/evidence/{ev.id}/original", headers=token_for(user))
    assert page.status_code == api.status_code == 409
    assert FORGED not in page.data and FORGED not in api.data
    assert "no longer matches its recorded hash" in page.data.decode()
    assert api.json["error"]["code"] == "stored_file_changed"
    with pytest.raises(StoredFileChanged):
        app_store().open_verified(ev.sha256)
    result = runner.invoke(args=["verify", str(case.id)])
    assert result.exit_code == 1 and f"the stored file {ev.sha256[:16]}… has changed" in result.output
    client_s3 = s3_server.client()
    client_s3.delete_object(Bucket=app.bucket, Key=key)
    client_s3.close()
    gone = client.get(f"/evidence/{ev.id}/original")
    assert gone.status_code == 410 and "The stored file is missing" in gone.data.decode()
    result = runner.invoke(args=["verify", str(case.id)])
    assert result.exit_code == 1 and "is missing" in result.output
    assert scratch(app) == []


def test_write_once_an_object_is_never_overwritten(app, s3_server, tmp_path):  # noqa: F811 - the fixture imported above
    store = app_store()
    added: list[str] = []
    sha, key = store.put_bytes(b"first evidence", added)
    again: list[str] = []
    assert store.put_bytes(b"first evidence", again) == (sha, key)
    assert added == [sha] and again == []  # stored once; the second writer adds nothing to undo
    # A racing writer that missed the HEAD check: the server itself refuses the overwrite (If-None-Match: *)
    other = tmp_path / "other"
    other.write_bytes(b"something else under the same name")
    assert store._upload(other, key) is False
    client = s3_server.client()
    body = client.get_object(Bucket=app.bucket, Key=key)["Body"].read()
    client.close()
    assert body == b"first evidence"


def test_object_lock_keeps_purged_evidence_and_says_until_when(s3_app, s3_server, make_user, make_case,  # noqa: F811 - the fixture imported above
                                                               make_entry, login, runner):
    app = s3_app(lock_days=2)
    with app.app_context():
        user = make_user()
        case = make_case(user)
        entry = make_entry(case, user)
        ev = add_evidence_file(user, entry, io.BytesIO(png_bytes()), "victim.png", app_store(),
                               Limits.from_config(app.config))
        key = f"ev/{hash_name(ev.sha256)}"
        client_s3 = s3_server.client()
        head = client_s3.head_object(Bucket=app.bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        until = head["ObjectLockRetainUntilDate"]
        # even with the bucket's keys (an administrator, or whoever took the server), the bytes cannot go
        with pytest.raises(ClientError) as refused:
            client_s3.delete_object(Bucket=app.bucket, Key=key, VersionId=head["VersionId"])
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        with pytest.raises(StoredBytesLocked) as locked:
            app_store().remove(ev.sha256)
        assert f"until {until:%Y-%m-%d}" in str(locked.value)
        page = login(app.test_client(), user).post(f"/evidence/{ev.id}/purge", data={"reason": "Private data."},
                                                   follow_redirects=True).data.decode()
        assert "purged from this case" in page  # the purge itself is done, not half-way
        assert f"under Object Lock until {until:%Y-%m-%d}" in page and "not even an administrator" in page
        db.session.expire_all()
        assert db.session.get(Evidence, ev.id).purged_at is not None
        assert client_s3.head_object(Bucket=app.bucket, Key=key)["ContentLength"] == ev.size  # still there
        time.sleep(1.1)  # older than a grace period of 0
        result = runner.invoke(args=["gc", "--grace", "0"])
        assert result.exit_code == 0, result.output
        assert f"under Object Lock retention until {until:%Y-%m-%d}" in result.output
        assert client_s3.head_object(Bucket=app.bucket, Key=key)["ContentLength"] == ev.size
        client_s3.close()
        result = runner.invoke(args=["doctor"])
        assert f"s3://{app.bucket}/ev" in result.output and "Object Lock 2 days" in result.output


def test_gc_removes_unused_objects_of_an_unlocked_bucket(app, s3_server, runner):  # noqa: F811 - the fixture imported above
    sha, key = app_store().put_bytes(b"bytes no row uses (a crash between bytes and rows)")
    time.sleep(1.1)
    result = runner.invoke(args=["gc", "--grace", "0"])
    assert result.exit_code == 0 and f"removed unreferenced: {key}" in result.output
    assert key not in objects(s3_server, app.bucket)


def test_backup_restore_and_verify_with_s3(s3_app, s3_server, make_user, make_case, make_entry, tmp_path):  # noqa: F811 - the fixture imported above
    app = s3_app()
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        user = make_user()
        case = make_case(user)
        ev = add_evidence_file(user, make_entry(case, user), io.BytesIO(png_bytes()), "s.png", app_store(),
                               Limits.from_config(app.config))
        shas = {ev.sha256, ev.print_copy.sha256}
        case_id = case.id
        out = tmp_path / "backup.zip"
        result = app.test_cli_runner().invoke(args=["backup", str(out)])
        assert result.exit_code == 0, result.output
        db.session.remove()
        db.engine.dispose()
    with zipfile.ZipFile(out) as zf:
        assert {f"evidence/{hash_name(sha)}" for sha in shas} <= set(zf.namelist())
    bucket = s3_server.create_bucket()
    other = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'restored.db'}",
                        "INSTANCE_PATH": str(tmp_path / "instance"), **s3_server.settings(bucket, "restored")})
    with other.app_context():
        result = other.test_cli_runner().invoke(args=["restore", str(out)])
        assert result.exit_code == 0, result.output
        db.engine.dispose()
        assert {f"restored/{hash_name(sha)}" for sha in shas} <= set(objects(s3_server, bucket))
        result = other.test_cli_runner().invoke(args=["verify", str(case_id)])
        assert result.exit_code == 0 and "OK" in result.output, result.output
        db.session.remove()
        db.engine.dispose()


def test_a_dossier_and_its_package_are_made_from_s3_evidence(app, s3_server, make_user, make_case, make_entry,  # noqa: F811 - the fixture imported above
                                                             token_for, tmp_path):
    from reportkit.services.entries import add_violation

    user = make_user(name="Rana")
    case = make_case(user)
    colours = [(250, 20, 20), (20, 20, 250)]
    for n, colour in enumerate(colours):
        entry = make_entry(case, user, url=f"https://x.com/leader_en/status/{1453347171011694596 + n * 10**15}",
                           text="We will find you.")
        add_violation(user, entry, "x/violent_content/violent_threats", "A threat of harm.")
        add_evidence_file(user, entry, io.BytesIO(png_bytes(300, 200, colour)), f"s{n}.png", app_store(),
                          Limits.from_config(app.config))
    db.session.commit()
    client, headers = app.test_client(), token_for(user)
    resp = client.post(f"/api/v1/cases/{case.id}/dossiers", headers=headers,
                       json={"approved_only": False, "with_package": True})
    assert resp.status_code == 202, resp.json
    deadline = time.monotonic() + 90
    while (state := client.get(f"/api/v1/dossiers/{resp.json['id']}", headers=headers).json)["status"] not in (
            "done", "failed"):
        assert time.monotonic() < deadline, state
        db.session.rollback()
        time.sleep(0.3)
    assert state["status"] == "done", state
    dossier = db.session.get(Dossier, resp.json["id"])
    stored = objects(s3_server, app.bucket)
    assert f"ev/{hash_name(dossier.sha256)}" in stored and f"ev/{hash_name(dossier.package_sha256)}" in stored
    pdf = client.get(state["pdf_url"], headers=headers)
    assert pdf.status_code == 200 and hashlib.sha256(pdf.data).hexdigest() == dossier.sha256
    (tmp_path / "d.pdf").write_bytes(pdf.data)
    pdf.close()
    images = [img for page in PdfReader(str(tmp_path / "d.pdf")).pages for img in page.images]
    assert len(images) >= len(colours)  # the screenshots were fetched from the bucket into the PDF
    package = client.get(f"/api/v1/dossiers/{dossier.id}/package", headers=headers)
    assert package.status_code == 200
    with zipfile.ZipFile(io.BytesIO(package.data)) as zf:
        files = [n for n in zf.namelist() if n.startswith("files/")]
        assert len(files) == len(colours)
        for name in files:  # each copy streamed from the bucket is the bytes its name says
            assert hashlib.sha256(zf.read(name)).hexdigest() == name.removeprefix("files/")
        assert hashlib.sha256(zf.read("dossier.pdf")).hexdigest() == dossier.sha256
    package.close()
    assert local_files(app) == []


def test_readyz_and_doctor_check_the_bucket(s3_app, s3_server):  # noqa: F811 - the fixture imported above
    app = s3_app()
    assert app.test_client().get("/readyz").status_code == 200
    missing = s3_app()
    missing.config["EVIDENCE_URL"] = "s3://no-such-bucket/ev"
    resp = missing.test_client().get("/readyz")
    assert resp.status_code == 503 and resp.json["store"] == "failed"
    locked = s3_app()
    locked.config["S3_OBJECT_LOCK_DAYS"] = 3  # asked for, but the bucket has no Object Lock: not ready
    assert locked.test_client().get("/readyz").status_code == 503
    with missing.app_context():
        result = missing.test_cli_runner().invoke(args=["doctor"])
    assert result.exit_code == 1 and "s3://no-such-bucket/ev" in result.output and "NOT reachable" in result.output


@pytest.mark.parametrize("url", ["s3://", "ftp://host/x", "file://relative", "/srv/evidence"])
def test_a_meaningless_evidence_url_stops_start_up(tmp_path, url):
    with pytest.raises(ConfigError, match="EVIDENCE_URL"):
        create_app({"SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "EVIDENCE_URL": url})


def test_a_file_url_is_the_local_store(make_app, tmp_path):
    app = make_app(EVIDENCE_URL=f"file://{tmp_path / 'elsewhere'}")
    with app.app_context():
        store = app_store()
        assert store.kind == "file" and store.root == tmp_path / "elsewhere"
        assert isinstance(s3_like := app_store(make_app(EVIDENCE_URL="s3://bucket/a/b")), S3Store)
        assert (s3_like.bucket, s3_like.prefix, s3_like.url) == ("bucket", "a/b", "s3://bucket/a/b")
