"""Backups a restore can trust: a consistent database snapshot plus the evidence store, every file hashed, the
list of hashes signed.

The database snapshot is taken while the app runs: SQLite through its backup API, PostgreSQL with `pg_dump`
(one transaction, so one consistent moment). Evidence files never change once written (their name is their
hash), so copying them after the snapshot is safe.

A list of hashes alone proves nothing: whoever edits the snapshot can edit its hash too. So `manifest.json` is
signed (Ed25519, `manifest.sig`) with a key that never travels in the backup: the instance's own
`backup_signing_key`, made on the first backup, or the operator's. `restore` reads every member, checks every
hash and the signature before it writes anything, never overwrites an existing database unless asked, and
restores PostgreSQL in a single transaction. A backup whose signature does not hold is restored only when the
operator says so, with a warning; a damaged member is never restored. Scratch files (a full copy of the
database) live in `<instance>/tmp`, owner-only, and are removed on every way out.

The evidence store may be the local folder or an S3 bucket (`storage.app_store`): stored bytes are streamed
into the ZIP and back, never read whole into memory, and restored through the store (write-once, and under
Object Lock again when the bucket uses it).
"""

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url

from ..models._common import utcnow
from .storage import CHUNK, EvidenceStore, StoredFileError, as_store, file_sha256, private_temp_dir

SNAPSHOTS = {"sqlite": "db/reportkit.db", "postgresql": "db/reportkit.pgdump"}
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
KEY_FILE = "backup_signing_key"  # in the instance folder, never in a backup
# What reading a damaged ZIP raises: a bad CRC or header (BadZipFile), a broken deflate stream (zlib.error), a
# cut-off file (EOFError), an unknown method or flag (NotImplementedError), an encrypted member (RuntimeError),
# an offset pointing nowhere (ValueError), the disk (OSError).
UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError)


class BackupError(ValueError):
    pass


@dataclass
class Checked:
    """What reading a whole backup found. `damage` can never be overridden; `untrusted` (why the signature does
    not hold) only by the operator, with a warning."""

    manifest: dict
    damage: list[str]
    untrusted: str | None


def database_kind(database_uri: str) -> str:
    url = make_url(database_uri)
    kind = url.get_backend_name()
    if kind not in SNAPSHOTS or (kind == "sqlite" and (not url.database or url.database == ":memory:")):
        raise BackupError("reportkit backup handles SQLite files and PostgreSQL databases.")
    return kind


def sqlite_path(database_uri: str) -> Path:
    return Path(make_url(database_uri).database)


def backup(database_uri: str, store, out: Path, instance_dir: Path, key_file: Path | None = None) -> dict:
    """`store`: storage.app_store() (or the local store's folder)."""
    kind = database_kind(database_uri)
    key = load_private_key(key_file) if key_file else instance_key(instance_dir)
    store = as_store(store)
    partial = out.with_name(out.name + ".partial")  # never a half-written backup under the real name
    try:
        with private_temp_dir(instance_dir / "tmp", "backup-") as tmp:
            snapshot = tmp / PurePosixPath(SNAPSHOTS[kind]).name
            if kind == "sqlite":
                _sqlite_snapshot(sqlite_path(database_uri), snapshot)
            else:
                _pg(["pg_dump", "--format=custom", "--no-owner", "--file", str(snapshot)], database_uri)
            files = {SNAPSHOTS[kind]: file_sha256(snapshot)}
            partial.unlink(missing_ok=True)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds the whole database
            with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.write(snapshot, SNAPSHOTS[kind])
                for sha in store.stored_hashes():  # hash names only: not the staging folder, nothing else
                    name = f"evidence/{store.relative_name(sha)}"
                    info = zipfile.ZipInfo(name, time.localtime()[:6])
                    info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o444 << 16
                    try:
                        with zf.open(info, "w", force_zip64=True) as member:  # streamed, never read whole
                            files[name] = store.stream_to(sha, member)  # what was read: check_backup compares
                    except StoredFileError as exc:
                        raise BackupError(f"{exc} The backup was not written.") from exc
                manifest = json.dumps({"created_at": utcnow().isoformat(), "database": kind, "files": files},
                                      indent=1, sort_keys=True).encode()
                zf.writestr(MANIFEST, manifest)
                zf.writestr(SIGNATURE, json.dumps({"algorithm": "Ed25519", "key": fingerprint(key.public_key()),
                                                   "signature": base64.b64encode(key.sign(manifest)).decode()}))
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return {"files": len(files), "database": kind, "key": fingerprint(key.public_key())}


def check_backup(path: Path, public_key: Ed25519PublicKey | None) -> Checked:
    """Read every member of the backup and write nothing: damaged members, hashes that do not match, members
    the manifest does not list, and whether the manifest's signature holds for `public_key`."""
    try:
        zf = zipfile.ZipFile(path)
    except UNREADABLE as exc:
        raise BackupError(f"{path} is not a readable backup ({exc}); nothing was restored.") from None
    with zf:
        names = zf.namelist()
        try:
            manifest_bytes = zf.read(MANIFEST)
            manifest = json.loads(manifest_bytes)
            files = manifest["files"]
        except (KeyError, TypeError, *UNREADABLE) as exc:
            raise BackupError(f"The backup has no readable manifest ({exc!r}); nothing was restored.") from None
        if not isinstance(files, dict):
            raise BackupError("The backup's manifest lists no files; nothing was restored.")
        damage = ["some members appear twice"] if len(set(names)) != len(names) else []
        damage += [f"{name}: not listed in the manifest" for name in names
                   if name not in files and name not in (MANIFEST, SIGNATURE)]
        if not any(name in files for name in SNAPSHOTS.values()):
            damage.append("the backup holds no database snapshot")
        for name, sha in files.items():
            if name not in SNAPSHOTS.values() and not _is_evidence(name):
                damage.append(f"{name}: not a name a backup holds")
            elif name not in names:
                damage.append(f"{name} is missing")
            elif (problem := _member_problem(zf, name, sha)) is not None:
                damage.append(f"{name}: {problem}")
        return Checked(manifest, damage, _signature_problem(zf, manifest_bytes, public_key))


def restore(path: Path, database_uri: str, store, instance_dir: Path, key_file: Path | None = None,
            force: bool = False, ignore_signature: bool = False) -> dict:
    kind = database_kind(database_uri)
    public_key = load_public_key(key_file) if key_file else instance_public_key(instance_dir)
    checked = check_backup(path, public_key)
    refused = checked.untrusted and not ignore_signature
    if checked.damage or refused:
        hint = ("\nIf you know where this backup comes from: --key FILE checks the signature with another key; "
                "--ignore-signature restores it anyway (every hash is still checked).") if refused else ""
        reasons = checked.damage + ([checked.untrusted] if refused else [])
        raise BackupError("The backup cannot be trusted; nothing was restored:\n  - " + "\n  - ".join(reasons) + hint)
    files = checked.manifest["files"]
    if SNAPSHOTS[kind] not in files:
        held = next(k for k, name in SNAPSHOTS.items() if name in files)
        raise BackupError(f"This backup holds a {held} database; the configured database is {kind}. "
                          "Nothing was restored.")
    if not force and _has_data(kind, database_uri):
        where = f"{sqlite_path(database_uri)} exists" if kind == "sqlite" else \
            "The configured database already holds data"
        raise BackupError(f"{where}. Restore into an empty instance, or pass --force to replace it.")
    store = as_store(store)
    evidence = {name: sha for name, sha in files.items() if name.startswith("evidence/")}
    with zipfile.ZipFile(path) as zf, private_temp_dir(instance_dir / "tmp", "restore-") as tmp:
        for name, sha in evidence.items():
            if store.exists(sha):
                continue
            if isinstance(store, EvidenceStore):
                _extract(zf, name, sha, store.path_for(sha), mode=0o444)  # write-once, as the store keeps it
            else:  # S3: a checked private copy, then stored as every upload is (hashed again, never overwriting)
                member = tmp / "member"
                _extract(zf, name, sha, member)
                stored, _ = store.put_file(member)
                member.unlink()
                if stored != sha:
                    raise BackupError(f"{name} changed while it was restored ({stored}); the restore stopped there.")
        snapshot = tmp / PurePosixPath(SNAPSHOTS[kind]).name
        _extract(zf, SNAPSHOTS[kind], files[SNAPSHOTS[kind]], snapshot)
        if kind == "sqlite":
            _install_sqlite(snapshot, sqlite_path(database_uri))
        else:
            _pg(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 "--exit-on-error", str(snapshot)], database_uri)
    return {"files": len(evidence) + 1, "database": kind, "created_at": checked.manifest.get("created_at"),
            "untrusted": checked.untrusted}


def instance_key(instance_dir: Path) -> Ed25519PrivateKey:
    """The instance's signing key, made on the first backup, readable only by its owner. The file appears whole
    (a hard link of a finished file) or not at all, so two first backups at once end up with one key."""
    path = instance_dir / KEY_FILE
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())
        fd, tmp = tempfile.mkstemp(dir=instance_dir, prefix=f".{KEY_FILE}-")  # mkstemp: 0o600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another backup made it first: use theirs
        finally:
            os.unlink(tmp)
    return load_private_key(path)


def instance_public_key(instance_dir: Path) -> Ed25519PublicKey | None:
    """None on an instance that never made a backup: a restore then needs --key, it never invents a key."""
    path = instance_dir / KEY_FILE
    return load_private_key(path).public_key() if path.exists() else None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise BackupError(f"{path} is not an unencrypted Ed25519 private key in PEM.")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An operator's key file: the public key, or the private key it belongs to."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (ValueError, UnsupportedAlgorithm):
        try:
            key = load_private_key(path).public_key()
        except BackupError:
            key = None
    if not isinstance(key, Ed25519PublicKey):
        raise BackupError(f"{path} is not an Ed25519 key in PEM (a public key, or an unencrypted private key).")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _is_evidence(name: str) -> bool:
    """True for `evidence/` plus the store's own layout of a hash name (EvidenceStore.path_for): a restore
    writes nothing else, so no name in a backup reaches outside the store."""
    sha = PurePosixPath(name).name
    try:
        return name == f"evidence/{EvidenceStore('.').path_for(sha).as_posix()}"
    except ValueError:
        return False


def _read_member(zf: zipfile.ZipFile, name: str, out: BinaryIO | None = None) -> str:
    """Stream one member, hashing it (and copying it to `out`); zipfile checks its CRC at the end."""
    if zf.getinfo(name).compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise NotImplementedError("compressed with a method reportkit backups never use")
    digest = hashlib.sha256()
    with zf.open(name) as member:
        while chunk := member.read(CHUNK):
            digest.update(chunk)
            if out is not None:
                out.write(chunk)
    return digest.hexdigest()


def _member_problem(zf: zipfile.ZipFile, name: str, sha: str) -> str | None:
    try:
        digest = _read_member(zf, name)
    except UNREADABLE as exc:
        return f"damaged, it cannot be read ({type(exc).__name__}: {exc})"
    if digest != sha or (name.startswith("evidence/") and PurePosixPath(name).name != digest):
        return "its SHA-256 does not match"
    return None


def _signature_problem(zf: zipfile.ZipFile, manifest: bytes, public_key: Ed25519PublicKey | None) -> str | None:
    if SIGNATURE not in zf.namelist():
        return "the backup is not signed"
    try:
        signed = json.loads(zf.read(SIGNATURE))
        signature, signer = base64.b64decode(signed["signature"], validate=True), signed["key"]
    except (KeyError, TypeError, *UNREADABLE):
        return "its signature file is unreadable"
    if public_key is None:
        return (f"this instance has no {KEY_FILE} to check its signature with (it was signed by key {signer}); "
                "pass --key with that key or its public key")
    if signer != fingerprint(public_key):
        return f"it was signed by another key ({signer}), not by {fingerprint(public_key)}"
    try:
        public_key.verify(signature, manifest)
    except InvalidSignature:
        return "its manifest was altered after it was signed: the signature does not match"
    return None


def _extract(zf: zipfile.ZipFile, name: str, sha: str, dest: Path, mode: int = 0o600) -> None:
    """Write one member to `dest` through a partial file, hashing it again on the way: what lands is what was
    checked, even if the backup file changed since."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    try:
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            try:
                digest = _read_member(zf, name, out)
            except UNREADABLE as exc:
                digest = f"unreadable ({exc})"
        if digest != sha:
            raise BackupError(f"{name} changed while it was restored ({digest}); the restore stopped there.")
        os.chmod(partial, mode)
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)


def _install_sqlite(snapshot: Path, target: Path) -> None:
    """Put the checked snapshot in place in one rename; a copy cut short (a full disk) leaves no half file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".restoring")
    try:
        shutil.copyfile(snapshot, partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_snapshot(source: Path, snapshot: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(snapshot)
    with dst:
        src.backup(dst)  # consistent even while the app writes
    src.close()
    dst.close()


def _has_data(kind: str, database_uri: str) -> bool:
    if kind == "sqlite":
        return sqlite_path(database_uri).exists()
    engine = create_engine(database_uri)
    try:
        return inspect(engine).has_table("alembic_version")
    finally:
        engine.dispose()


def _pg(command: list[str], database_uri: str) -> None:
    """Run a PostgreSQL client tool against the configured database; the password goes in the environment,
    not on the command line where `ps` would show it."""
    url: URL = make_url(database_uri)
    libpq = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    try:
        done = subprocess.run([*command, f"--dbname={libpq}"], env=env, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed (Debian: apt install postgresql-client).") from exc
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[:2000]}")
