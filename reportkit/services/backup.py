"""Backups a restore can trust: a consistent database snapshot plus the evidence store, every file hashed.

The database snapshot is taken while the app runs: SQLite through its backup API, PostgreSQL with `pg_dump`
(one transaction, so one consistent moment). Evidence files never change once written (their name is their
hash), so copying them after the snapshot is safe. `restore` checks every hash before it writes anything,
never overwrites an existing database unless asked, and restores PostgreSQL in a single transaction.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url

from ..models._common import utcnow
from .storage import file_sha256

SNAPSHOTS = {"sqlite": "db/reportkit.db", "postgresql": "db/reportkit.pgdump"}


class BackupError(ValueError):
    pass


def database_kind(database_uri: str) -> str:
    url = make_url(database_uri)
    kind = url.get_backend_name()
    if kind not in SNAPSHOTS or (kind == "sqlite" and (not url.database or url.database == ":memory:")):
        raise BackupError("reportkit backup handles SQLite files and PostgreSQL databases.")
    return kind


def sqlite_path(database_uri: str) -> Path:
    return Path(make_url(database_uri).database)


def backup(database_uri: str, evidence_dir: str, out: Path) -> dict:
    kind = database_kind(database_uri)
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = Path(tmp) / Path(SNAPSHOTS[kind]).name
        if kind == "sqlite":
            _sqlite_snapshot(sqlite_path(database_uri), snapshot)
        else:
            _pg(["pg_dump", "--format=custom", "--no-owner", "--file", str(snapshot)], database_uri)
        manifest = {"created_at": utcnow().isoformat(), "database": kind,
                    "files": {SNAPSHOTS[kind]: file_sha256(snapshot)}}
        store = Path(evidence_dir)
        partial = out.with_name(out.name + ".partial")  # never a half-written backup under the real name
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.write(snapshot, SNAPSHOTS[kind])
            for path in sorted(store.rglob("*")):
                if path.is_file() and "tmp" not in path.relative_to(store).parts:
                    name = f"evidence/{path.relative_to(store).as_posix()}"
                    manifest["files"][name] = file_sha256(path)
                    zf.write(path, name)
            zf.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
        partial.replace(out)
    return {"files": len(manifest["files"]), "database": kind}


def check_backup(path: Path) -> list[str]:
    problems = []
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"not a readable backup: {exc}"]
    with zf:
        try:
            files = json.loads(zf.read("manifest.json"))["files"]
        except (KeyError, ValueError) as exc:
            return [f"the backup has no readable manifest: {exc}"]
        if not any(name in files for name in SNAPSHOTS.values()):
            problems.append("the backup holds no database snapshot")
        for name, sha in files.items():
            if name not in zf.namelist():
                problems.append(f"{name} is missing")
                continue
            digest = hashlib.sha256(zf.read(name)).hexdigest()
            if digest != sha or (name.startswith("evidence/") and "/" in name and
                                 Path(name).name != digest and Path(name).parent.name != "tmp"):
                problems.append(f"{name}: its SHA-256 does not match")
    return problems


def restore(path: Path, database_uri: str, evidence_dir: str, force: bool = False) -> dict:
    problems = check_backup(path)
    if problems:
        raise BackupError("The backup is damaged; nothing was restored:\n  - " + "\n  - ".join(problems))
    kind = database_kind(database_uri)
    with zipfile.ZipFile(path) as zf:
        if SNAPSHOTS[kind] not in zf.namelist():
            held = next(k for k, name in SNAPSHOTS.items() if name in zf.namelist())
            raise BackupError(f"This backup holds a {held} database; the configured database is {kind}. "
                              "Nothing was restored.")
        if not force and _has_data(kind, database_uri):
            where = f"{sqlite_path(database_uri)} exists" if kind == "sqlite" else \
                "The configured database already holds data"
            raise BackupError(f"{where}. Restore into an empty instance, or pass --force to replace it.")
        store = Path(evidence_dir)
        names = [n for n in zf.namelist() if n.startswith("evidence/")]
        for name in names:
            dest = store / name.removeprefix("evidence/")
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                partial = dest.with_name(dest.name + ".partial")
                partial.write_bytes(zf.read(name))
                os.chmod(partial, 0o444)
                partial.replace(dest)
        with tempfile.TemporaryDirectory() as tmp:
            snapshot = Path(zf.extract(SNAPSHOTS[kind], tmp))
            if kind == "sqlite":
                target = sqlite_path(database_uri)
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_suffix(".restoring")
                shutil.copyfile(snapshot, partial)
                partial.replace(target)
            else:
                _pg(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                     "--exit-on-error", str(snapshot)], database_uri)
    return {"files": len(names) + 1, "database": kind}


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
