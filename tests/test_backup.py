"""Backup and restore: a round trip loses nothing; a damaged, forged or unsigned backup restores nothing.

The adversaries: someone who edits the database snapshot in a backup and updates its hash in the manifest, or
re-signs it with their own key; a flipped byte on the backup disk; a full disk half way through.
"""

import base64
import errno
import hashlib
import io
import json
import sqlite3
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from reportkit import create_app
from reportkit.extensions import db
from reportkit.models import Entry, Event, Evidence
from reportkit.services import backup as backup_service
from reportkit.services.custody import verify_case
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes

SNAPSHOT = "db/reportkit.db"


@pytest.fixture
def make_app(make_app, tmp_path):
    """Every app here keeps its instance folder (signing key, scratch files) under tmp_path, never in the
    project's own instance/."""
    def build(**extra):
        app = make_app(**extra)
        app.instance_path = str(tmp_path / "instance")
        return app
    return build


@pytest.fixture
def backed_up(app, runner, make_user, make_case, make_entry, tmp_path) -> Path:
    user = make_user()
    entry = make_entry(make_case(user), user, text="متن")
    add_evidence_file(user, entry, io.BytesIO(png_bytes()), "s.png", EvidenceStore(app.config["EVIDENCE_DIR"]),
                      Limits.from_config(app.config))
    out = tmp_path / "backup.zip"
    result = runner.invoke(args=["backup", str(out)])
    assert result.exit_code == 0, result.output
    return out


def fresh_app(tmp_path: Path, instance: str = "instance"):
    """An empty install to restore into; by default on the same machine (the same instance folder and key)."""
    return create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'restored.db'}",
                       "EVIDENCE_DIR": str(tmp_path / "restored-evidence"), "INSTANCE_PATH": str(tmp_path / instance)})


def restore_into(app, *args):
    with app.app_context():  # the CLI uses the innermost app
        result = app.test_cli_runner().invoke(args=["restore", *map(str, args)])
        db.engine.dispose()
    return result


def assert_refused(result, *words) -> None:
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output  # no traceback
    for word in words:
        assert word in result.output


def assert_nothing_restored(tmp_path: Path) -> None:
    assert not (tmp_path / "restored.db").exists() and not (tmp_path / "restored-evidence").exists()
    assert list((tmp_path / "instance" / "tmp").iterdir()) == []  # no scratch copy left behind


def rewrite(src: Path, dest: Path, change=lambda name, data: data, drop=(), add=None) -> Path:
    """The forger's tool: copy a backup member by member, changing, dropping or adding some."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            if name not in drop:
                zout.writestr(name, change(name, zin.read(name)))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dest


def with_manifest(files_change):
    def change(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        files_change(manifest["files"])
        return json.dumps(manifest, indent=1, sort_keys=True).encode()
    return change


def counts() -> tuple:
    return tuple(db.session.scalar(select(func.count(m.id))) for m in (Entry, Evidence, Event))


def public_pem(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def private_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_round_trip(app, runner, make_user, make_case, make_entry, tmp_path):
    user = make_user()
    case = make_case(user)
    entry = make_entry(case, user, text="متن")
    add_evidence_file(user, entry, io.BytesIO(png_bytes()), "s.png", EvidenceStore(app.config["EVIDENCE_DIR"]),
                      Limits.from_config(app.config))
    before, case_id = counts(), case.id
    out = tmp_path / "backup.zip"
    result = runner.invoke(args=["backup", str(out)])
    assert result.exit_code == 0, result.output
    key = tmp_path / "instance" / "backup_signing_key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "manifest.sig" in zipfile.ZipFile(out).namelist()
    again = runner.invoke(args=["backup", str(tmp_path / "again.zip")])
    assert again.output.split("signed by key ")[1] == result.output.split("signed by key ")[1]  # one key

    other = fresh_app(tmp_path)
    with other.app_context():
        result = other.test_cli_runner().invoke(args=["restore", str(out)])
        assert result.exit_code == 0, result.output
        assert "WARNING" not in result.output
        assert counts() == before
        assert db.session.scalar(select(Entry.text)) == "متن"
        report = verify_case(case_id, EvidenceStore(other.config["EVIDENCE_DIR"]))
        assert report.ok and report.files_checked == 2
        again = other.test_cli_runner().invoke(args=["restore", str(out)])
        assert again.exit_code != 0 and "exists" in again.output
        db.engine.dispose()
    assert list((tmp_path / "instance" / "tmp").iterdir()) == []


def test_damaged_backup_restores_nothing(backed_up, tmp_path):
    bad = rewrite(backed_up, tmp_path / "bad.zip",
                  lambda name, data: data + b"x" if name.startswith("evidence/") else data)
    assert_refused(restore_into(fresh_app(tmp_path), bad), "does not match")
    assert_nothing_restored(tmp_path)


def test_an_edited_snapshot_with_its_hash_updated_is_refused(backed_up, tmp_path):
    forged_db = tmp_path / "forged.db"

    def forge(name, data):
        if name != SNAPSHOT:
            return data
        forged_db.write_bytes(data)
        conn = sqlite3.connect(forged_db)
        with conn:
            conn.execute("UPDATE entry SET text = 'never posted'")
        conn.close()
        return forged_db.read_bytes()

    step = rewrite(backed_up, tmp_path / "step.zip", forge)
    sha = hashlib.sha256(zipfile.ZipFile(step).read(SNAPSHOT)).hexdigest()
    forged = rewrite(step, tmp_path / "forged.zip", with_manifest(lambda files: files.update({SNAPSHOT: sha})))
    assert_refused(restore_into(fresh_app(tmp_path), forged), "altered", "nothing was restored")
    assert_nothing_restored(tmp_path)


def test_an_unsigned_backup_is_refused_unless_the_signature_is_ignored(backed_up, tmp_path):
    unsigned = rewrite(backed_up, tmp_path / "unsigned.zip", drop=("manifest.sig",))
    other = fresh_app(tmp_path)
    assert_refused(restore_into(other, unsigned), "not signed", "--ignore-signature")
    assert_refused(restore_into(other, unsigned, "--force"), "not signed")  # replacing a database is not trusting
    assert_nothing_restored(tmp_path)
    done = restore_into(other, unsigned, "--ignore-signature")
    assert done.exit_code == 0, done.output
    assert "WARNING" in done.output and "NOT verified" in done.output and "not signed" in done.output
    assert (tmp_path / "restored.db").exists()


def test_a_backup_signed_by_another_key_is_refused(backed_up, tmp_path):
    theirs = Ed25519PrivateKey.generate()
    ours = backup_service.instance_public_key(tmp_path / "instance")

    def resign(fingerprint):
        def change(name, data):
            if name != "manifest.sig":
                return data
            manifest = zipfile.ZipFile(backed_up).read("manifest.json")
            return json.dumps({"algorithm": "Ed25519", "key": fingerprint,
                               "signature": base64.b64encode(theirs.sign(manifest)).decode()}).encode()
        return change

    other = fresh_app(tmp_path)
    their_fingerprint = backup_service.fingerprint(theirs.public_key())
    assert_refused(restore_into(other, rewrite(backed_up, tmp_path / "a.zip", resign(their_fingerprint))),
                   "another key")
    claims_ours = rewrite(backed_up, tmp_path / "b.zip", resign(backup_service.fingerprint(ours)))
    assert_refused(restore_into(other, claims_ours), "altered")
    assert_nothing_restored(tmp_path)


def test_the_operators_key_signs_and_checks_on_a_new_machine(app, backed_up, runner, tmp_path):
    operator = Ed25519PrivateKey.generate()
    (tmp_path / "operator.pem").write_bytes(private_pem(operator))
    (tmp_path / "operator.pub").write_bytes(public_pem(operator))
    out = tmp_path / "operator-backup.zip"
    made = runner.invoke(args=["backup", str(out), "--key", str(tmp_path / "operator.pem")])
    assert made.exit_code == 0 and backup_service.fingerprint(operator.public_key()) in made.output, made.output

    assert_refused(restore_into(fresh_app(tmp_path), out), "another key")  # the instance's own key is not it
    new_machine = fresh_app(tmp_path, instance="new-instance")
    assert_refused(restore_into(new_machine, backed_up), "no backup_signing_key", "--key")
    assert not (tmp_path / "new-instance" / "backup_signing_key").exists()  # a restore never invents a key
    done = restore_into(new_machine, out, "--key", tmp_path / "operator.pub")
    assert done.exit_code == 0 and "WARNING" not in done.output, done.output


@pytest.mark.parametrize("member", [SNAPSHOT, "evidence/"])
def test_a_flipped_byte_inside_a_compressed_member_restores_nothing(backed_up, tmp_path, member):
    with zipfile.ZipFile(backed_up) as zf:
        info = next(i for i in zf.infolist() if i.filename.startswith(member))
    data = bytearray(backed_up.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    data[info.header_offset + 30 + name_len + extra_len + info.compress_size // 2] ^= 0xFF
    backed_up.write_bytes(bytes(data))
    result = restore_into(fresh_app(tmp_path), backed_up)
    assert_refused(result, info.filename, "damaged", "nothing was restored")
    assert_nothing_restored(tmp_path)


def test_a_member_the_manifest_does_not_list_or_outside_the_store_is_refused(backed_up, tmp_path):
    extra = rewrite(backed_up, tmp_path / "extra.zip", add={"evidence/aa/bb/notes.txt": b"planted"})
    assert_refused(restore_into(fresh_app(tmp_path), extra, "--ignore-signature"), "not listed in the manifest")
    escape = "evidence/../../escaped.txt"
    listed = rewrite(backed_up, tmp_path / "escape.zip", add={escape: b"planted"}, drop=("manifest.sig",),
                     change=with_manifest(lambda files: files.update(
                         {escape: hashlib.sha256(b"planted").hexdigest()})))
    assert_refused(restore_into(fresh_app(tmp_path), listed, "--ignore-signature"), "not a name a backup holds")
    assert not (tmp_path.parent / "escaped.txt").exists()
    assert_nothing_restored(tmp_path)


def test_backup_scratch_is_private_in_the_instance_and_removed_on_a_full_disk(app, runner, tmp_path, monkeypatch):
    seen = []

    def full_disk(source, snapshot):
        seen.append((snapshot.parent, stat.S_IMODE(snapshot.parent.stat().st_mode),
                     stat.S_IMODE(snapshot.parent.parent.stat().st_mode)))
        snapshot.write_bytes(b"half a copy of the database")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backup_service, "_sqlite_snapshot", full_disk)
    out = tmp_path / "b.zip"
    assert_refused(runner.invoke(args=["backup", str(out)]), "No space left")
    (scratch, mode, parent_mode), = seen
    assert scratch.parent == tmp_path / "instance" / "tmp" and mode == parent_mode == 0o700
    assert not scratch.exists() and list(scratch.parent.iterdir()) == []
    assert not out.exists() and not out.with_name("b.zip.partial").exists()


def test_restore_scratch_is_in_the_instance_and_removed_on_a_full_disk(backed_up, tmp_path, monkeypatch):
    seen = []

    def full_disk(snapshot, target):
        seen.append(snapshot)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backup_service, "_install_sqlite", full_disk)
    assert_refused(restore_into(fresh_app(tmp_path), backed_up), "No space left")
    snapshot, = seen
    assert snapshot.parent.parent == tmp_path / "instance" / "tmp" and not snapshot.parent.exists()
    assert not (tmp_path / "restored.db").exists()
