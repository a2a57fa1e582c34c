"""Content-addressed evidence store: files are named by the SHA-256 of their bytes and never rewritten.

Bytes are hashed as they are received, before anything else looks at them. A file is staged in a
temporary file, flushed to disk, then renamed into place, so a crash never leaves half a file under a
hash name; storing the same bytes twice keeps one copy.

Bytes go in first, then the rows that point at them: a crash in between leaves bytes no row uses, which
`collect_garbage` (`reportkit gc`) finds after a grace period, like the staging files of an upload that was
killed. Writers hold `writing()` from storing until their rows are committed; whoever removes bytes (a purge,
gc, an upload undoing itself) holds `removing()` and checks the rows inside it, so bytes a concurrent request
is about to use are never removed under it. A full disk is `StorageFull`.
"""

import errno
import fcntl
import hashlib
import io
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class TooLarge(ValueError):
    """The stream was longer than the limit; nothing was kept."""


FULL_MESSAGE = "The server's storage is full; nothing was saved."
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"
_PG_DISK_FULL = "53100"  # PostgreSQL's disk_full


class StorageFull(OSError):
    """No space left (disk or quota) for the store, the database or a scratch file. Raised only once what the
    operation had written is gone again, so the message can say that nothing was saved."""

    def __init__(self, message: str = FULL_MESSAGE):
        super().__init__(errno.ENOSPC, message)

    def __str__(self) -> str:
        return self.strerror


def storage_full(exc: BaseException | None) -> bool:
    """Whether an error, or one that caused it, is a full disk: ENOSPC or EDQUOT from the file system,
    SQLite's SQLITE_FULL or PostgreSQL's disk_full (through SQLAlchemy's wrapper too)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, StorageFull) or (isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS):
            return True
        for error in (exc, getattr(exc, "orig", None)):
            if getattr(error, "sqlite_errorcode", None) == _SQLITE_FULL or \
                    (getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)) == _PG_DISK_FULL:
                return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextmanager
def _full_is_storage_full() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno in _FULL_ERRNOS and not isinstance(exc, StorageFull):
            raise StorageFull() from exc
        raise


class StoredFileError(Exception):
    """Stored bytes that are not what their hash says: they are never handed out as if they were."""

    def __init__(self, sha256: str, message: str):
        super().__init__(message)
        self.sha256 = sha256


class StoredFileMissing(StoredFileError):
    def __init__(self, sha256: str):
        super().__init__(sha256, f"The stored file is missing: no bytes with SHA-256 {sha256[:16]}… are in the "
                                 "evidence store.")


class StoredBytesLocked(Exception):
    """Bytes under Object Lock retention (an S3 store with S3_OBJECT_LOCK_DAYS): nobody can remove them before
    `until`; a purge or gc leaves them and says so."""

    def __init__(self, sha256: str, until: datetime):
        super().__init__(f"The stored bytes {sha256[:16]}… are under Object Lock retention until "
                         f"{until:%Y-%m-%d %H:%M} UTC: they stay in the store until then.")
        self.sha256, self.until = sha256, until


class StoredFileChanged(StoredFileError):
    def __init__(self, sha256: str, actual: str):
        super().__init__(sha256, f"The stored file no longer matches its recorded hash (SHA-256 {sha256[:16]}…; "
                                 f"its bytes now hash to {actual[:16]}…).")
        self.actual = actual


@dataclass
class Staged:
    """Bytes received and hashed, waiting in a temporary file for `commit` or `discard`."""

    tmp_path: Path
    sha256: str
    size: int
    head: bytes  # the first bytes, for sniffing the type


def hash_name(sha256: str) -> str:
    """Where bytes live inside a store: `ab/cd/abcd…` (a folder of the local store, a key under an S3 prefix)."""
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise ValueError("not a SHA-256 hex digest")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def stage_into(tmp_dir: Path, stream: BinaryIO, max_size: int | None) -> Staged:
    """Receive and hash into a new owner-only `tmp_dir/in-*` file, flushed to disk (removed on any failure)."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="in-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise TooLarge(f"larger than {max_size} bytes")
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        os.unlink(name)
        raise
    return Staged(Path(name), digest.hexdigest(), size, head)


@contextmanager
def flock_folder(folder: Path, shared: bool) -> Iterator[None]:
    """A lock on a folder itself (no lock file): shared for writers, exclusive for removers."""
    with _full_is_storage_full():
        folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:  # flock: between processes, and between threads too (each open() is its own lock holder)
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class EvidenceStore:
    """The local store (`EVIDENCE_URL=file:///…`, the default `<instance>/evidence`). services/s3.py:S3Store
    has the same methods for a bucket."""

    kind = "file"

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"EvidenceStore({str(self.root)!r})"

    @property
    def url(self) -> str:
        return self.root.absolute().as_uri()

    def path_for(self, sha256: str) -> Path:
        return self.root / hash_name(sha256)

    def relative_name(self, sha256: str) -> str:
        return hash_name(sha256)

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def stage(self, stream: BinaryIO, max_size: int | None = None) -> Staged:
        """Receive and hash into `tmp/in-*` (removed on any failure; after a kill, by gc)."""
        with _full_is_storage_full():
            return self._stage(stream, max_size)

    def _stage(self, stream: BinaryIO, max_size: int | None) -> Staged:
        return stage_into(self.root / "tmp", stream, max_size)

    def commit(self, staged: Staged, added: list[str] | None = None) -> Path:
        """Move the staged file under its hash name; an identical file already there is kept as it is (and
        touched, so gc's grace period starts again). `added` collects the hashes that were not stored before:
        the ones to remove again if the rows that were to use them are not committed."""
        target = self.path_for(staged.sha256)
        with self.writing(), _full_is_storage_full():  # gc removes nothing between the check and the rename
            try:
                os.utime(target)
            except FileNotFoundError:
                pass
            except PermissionError:  # stored by another user (a restore as root, say): it is there all the same
                self.discard(staged)
                return target
            else:
                self.discard(staged)
                return target
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(staged.tmp_path, 0o444)  # write-once: nothing in the app opens it for writing again
            os.replace(staged.tmp_path, target)
            _fsync_dir(target.parent)
        if added is not None:
            added.append(staged.sha256)
        return target

    def discard(self, staged: Staged) -> None:
        staged.tmp_path.unlink(missing_ok=True)

    def put_bytes(self, data: bytes, added: list[str] | None = None) -> tuple[str, Path]:
        """Store bytes made by the app itself (derivatives)."""
        staged = self.stage(io.BytesIO(data))
        return staged.sha256, self.commit(staged, added)

    def put_file(self, path: Path, added: list[str] | None = None) -> tuple[str, Path]:
        """Store a file the app made (a dossier PDF, a package ZIP), copied in chunks, never read whole."""
        with open(path, "rb") as fh:
            staged = self.stage(fh)
        return staged.sha256, self.commit(staged, added)

    def remove(self, sha256: str) -> None:
        """Remove stored bytes; only inside `removing()`, once no row uses them (a purge, gc, an undone upload)."""
        path = self.path_for(sha256)
        if path.exists():
            os.chmod(path, 0o644)
            path.unlink()

    def writing(self):
        """A shared lock, held from storing bytes until the rows that use them are committed."""
        return self._lock(fcntl.LOCK_SH)

    def removing(self):
        """The exclusive lock, held while checking that no row uses bytes and removing them. Never inside
        `writing()` in the same thread (it would wait for itself), and with no database transaction of one's
        own open (a writer holding `writing()` may be waiting for the database)."""
        return self._lock(fcntl.LOCK_EX)

    def _lock(self, kind: int):
        return flock_folder(self.root, shared=kind == fcntl.LOCK_SH)  # the store's folder itself is the lock

    def locked_until(self, sha256: str) -> datetime | None:
        """A local file has no retention lock (S3Store's may)."""
        return None

    def collect_garbage(self, in_use: Callable[[set[str]], set[str]], grace_seconds: float,
                        temp_dir: Path | None = None, dry_run: bool = False) -> list["Garbage"]:
        """Remove what failures and kills left behind, once older than the grace period (by mtime): staging
        files `tmp/in-*`, stored files whose hash `in_use` does not return, and folders or files in `temp_dir`.
        A stored file is checked again inside `removing()` just before it goes. Returns what was (or, with
        `dry_run`, would be) removed."""
        cutoff = time.time() - grace_seconds
        found = [Garbage(p, size, "staging") for p, size, mtime in _entries(self.root / "tmp", "in-*")
                 if mtime < cutoff]
        old = {path.name: (path, size) for path, size, mtime in self._stored_files() if mtime < cutoff}
        unused = sorted(set(old) - in_use(set(old)))
        found += [Garbage(old[sha][0], old[sha][1], "unreferenced") for sha in unused]
        if temp_dir is not None:
            found += [Garbage(p, size, "temp") for p, size, mtime in _entries(temp_dir, "*") if mtime < cutoff]
        if dry_run:
            return found
        removed = [g for g in found if g.kind != "unreferenced" and _remove_tree(g.path)]
        if unused:
            with self.removing():
                really = set(unused) - in_use(set(unused))
                for sha in sorted(really):
                    path = self.path_for(sha)
                    try:
                        if path.stat().st_mtime >= cutoff:  # stored again meanwhile
                            continue
                    except FileNotFoundError:
                        continue
                    self.remove(sha)
                    for folder in (path.parent, path.parent.parent):
                        try:
                            folder.rmdir()  # only when empty
                        except OSError:
                            break
                    removed.append(Garbage(path, old[sha][1], "unreferenced"))
        return removed

    def _stored_files(self) -> Iterator[tuple[Path, int, float]]:
        """(path, size, mtime) of every file laid out as `ab/cd/abcd…` (not the staging folder)."""
        if not self.root.is_dir():
            return
        for first in self.root.iterdir():
            if not (len(first.name) == 2 and first.is_dir()):
                continue
            for second in first.iterdir():
                if not (len(second.name) == 2 and second.is_dir()):
                    continue
                for path in second.iterdir():
                    if _SHA256.match(path.name) and path.name.startswith(first.name + second.name):
                        try:
                            st = path.lstat()
                        except FileNotFoundError:
                            continue
                        yield path, st.st_size, st.st_mtime

    def open(self, sha256: str) -> BinaryIO:
        return self.path_for(sha256).open("rb")

    def open_verified(self, sha256: str) -> BinaryIO:
        """The stored file, open at its start once its bytes were hashed through this same handle, so a file
        renamed over it meanwhile is not what gets read. Raises StoredFileMissing or StoredFileChanged."""
        try:
            fh = self.path_for(sha256).open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise StoredFileMissing(sha256) from None
        try:
            digest = hashlib.sha256()
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
            if digest.hexdigest() != sha256:
                raise StoredFileChanged(sha256, digest.hexdigest())
            fh.seek(0)
        except BaseException:
            fh.close()
            raise
        return fh

    def stream_to(self, sha256: str, out: BinaryIO) -> str:
        """Copy the stored bytes to `out` in chunks; returns the SHA-256 of what was read (backups)."""
        digest = hashlib.sha256()
        try:
            fh = self.path_for(sha256).open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise StoredFileMissing(sha256) from None
        with fh, _full_is_storage_full():
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        return digest.hexdigest()

    def check(self, sha256: str) -> str | None:
        """None when the file is there and its bytes hash to its name, else "missing" or "changed" (verify)."""
        path = self.path_for(sha256)
        if not path.is_file():
            return "missing"
        return None if file_sha256(path) == sha256 else "changed"

    def read_bytes(self, sha256: str) -> bytes:
        """Small stored files the app reads whole anyway (an image for the PDF renderer, an import table)."""
        return self.path_for(sha256).read_bytes()

    @contextmanager
    def as_file(self, sha256: str) -> Iterator[Path]:
        """The stored bytes as a local file, for libraries that want one (S3Store: a checked temporary copy)."""
        yield self.path_for(sha256)

    def size(self, sha256: str) -> int:
        try:
            return self.path_for(sha256).stat().st_size
        except FileNotFoundError:
            raise StoredFileMissing(sha256) from None

    def stored_hashes(self) -> Iterator[str]:
        """Every stored hash, sorted (backups)."""
        for path, _, _ in sorted(self._stored_files()):
            yield path.name

    def probe(self) -> str:
        """/readyz and `reportkit doctor`: the folder exists (or can be made) and is writable."""
        path = self.root
        if not (path.is_dir() or path.parent.is_dir()) or not os.access(path if path.is_dir() else path.parent,
                                                                         os.W_OK):
            raise OSError("the evidence store is not a writable folder")
        return str(path)


def as_store(store_or_folder):
    """A store as it is, or the local store in a folder (callers that still pass `EVIDENCE_DIR`)."""
    return EvidenceStore(store_or_folder) if isinstance(store_or_folder, str | Path) else store_or_folder


def app_store(app=None):
    """The evidence store the app is configured with (`EVIDENCE_URL`: the local folder, `EVIDENCE_DIR`, or an
    S3 bucket): the one place views, the API, the CLI and tasks get it. Returns an EvidenceStore or an S3Store."""
    from flask import current_app

    app = app or current_app
    url = app.config.get("EVIDENCE_URL") or ""
    if url.startswith("s3://"):
        from .s3 import S3Store

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        config = app.config
        return S3Store(bucket, prefix, temp_root(app), Path(app.instance_path) / "evidence-lock",
                       endpoint_url=config.get("S3_ENDPOINT_URL"), region=config.get("S3_REGION"),
                       access_key=config.get("S3_ACCESS_KEY_ID"), secret_key=config.get("S3_SECRET_ACCESS_KEY"),
                       lock_days=config.get("S3_OBJECT_LOCK_DAYS"),
                       multipart_threshold=config.get("S3_MULTIPART_THRESHOLD") or 8 * 1024 * 1024,
                       conditional_writes=config.get("S3_CONDITIONAL_WRITES", True))
    return EvidenceStore(app.config["EVIDENCE_DIR"])


@dataclass
class Garbage:
    path: Path
    size: int  # bytes (a folder: everything in it)
    kind: str  # "staging" (an upload that never finished), "unreferenced" (stored, no row uses it), "temp",
    # "locked" (unreferenced, but under Object Lock retention until `until`: left in the store)
    until: datetime | None = None


def temp_root(app) -> Path:
    """Where the app's scratch files go (a dossier being rendered, a package being zipped, a backup's copy of
    the database): `<instance>/tmp`, never the shared /tmp. gc sweeps what a kill leaves there."""
    return Path(app.instance_path) / "tmp"


@contextmanager
def private_temp_dir(root: Path, prefix: str) -> Iterator[Path]:
    """A new folder in `root`, owner-only (0o700, and `root` too), removed however the block ends."""
    with _full_is_storage_full():
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(root, 0o700)  # mkdir's mode is masked by the umask and ignored for a folder that exists
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))  # mkdtemp: 0o700
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _entries(folder: Path, pattern: str) -> Iterator[tuple[Path, int, float]]:
    """(path, size, newest mtime) of what is directly in `folder`; a folder counts with everything in it."""
    if not folder.is_dir():
        return
    for path in folder.glob(pattern):
        size, newest = 0, 0.0
        try:
            for item in [path, *(path.rglob("*") if path.is_dir() and not path.is_symlink() else [])]:
                st = item.lstat()
                size += st.st_size if not item.is_dir() else 0
                newest = max(newest, st.st_mtime)
        except FileNotFoundError:
            continue
        yield path, size, newest


def _remove_tree(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    return True


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks (verification, backups)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
