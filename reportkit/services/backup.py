"""Backups a restore can trust: a consistent database snapshot plus the evidence store, every file hashed.

The SQLite backup API copies the database while the app runs. `restore` checks every hash before it writes
anything, and never overwrites an existing database unless asked.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import zipfile
from pathlib import Path

from sqlalchemy.engine import make_url

from ..models._common import utcnow
from .storage import file_sha256


class BackupError(ValueError):
    pass


def sqlite_path(database_uri: str) -> Path:
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError("reportkit backup handles SQLite files; for PostgreSQL use pg_dump and copy the "
                          "evidence folder (see the README).")
    return Path(url.database)


def backup(database_uri: str, evidence_dir: str, out: Path) -> dict:
    source = sqlite_path(database_uri)
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = Path(tmp) / "reportkit.db"
        src, dst = sqlite3.connect(source), sqlite3.connect(snapshot)
        with dst:
            src.backup(dst)  # consistent even while the app writes
        src.close()
        dst.close()
        manifest = {"created_at": utcnow().isoformat(), "files": {"db/reportkit.db": file_sha256(snapshot)}}
        store = Path(evidence_dir)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.write(snapshot, "db/reportkit.db")
            for path in sorted(store.rglob("*")):
                if path.is_file() and "tmp" not in path.relative_to(store).parts:
                    name = f"evidence/{path.relative_to(store).as_posix()}"
                    manifest["files"][name] = file_sha256(path)
                    zf.write(path, name)
            zf.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
    return {"files": len(manifest["files"])}


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
    target = sqlite_path(database_uri)
    if target.exists() and not force:
        raise BackupError(f"{target} exists. Restore into an empty instance, or pass --force to replace it.")
    store = Path(evidence_dir)
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.startswith("evidence/")]
        for name in names:
            dest = store / name.removeprefix("evidence/")
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                with open(dest, "wb") as fh:
                    fh.write(zf.read(name))
                os.chmod(dest, 0o444)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".restoring")
        with open(tmp, "wb") as fh:
            fh.write(zf.read("db/reportkit.db"))
            fh.flush()
            os.fsync(fh.fileno())
        shutil.move(tmp, target)
    return {"files": len(names) + 1}
