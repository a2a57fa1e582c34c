"""Content-addressed evidence store: files are named by the SHA-256 of their bytes and never rewritten.

Bytes are hashed as they are received, before anything else looks at them. A file is staged in a
temporary file, flushed to disk, then renamed into place, so a crash never leaves half a file under a
hash name; storing the same bytes twice keeps one copy.
"""

import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class TooLarge(ValueError):
    """The stream was longer than the limit; nothing was kept."""


@dataclass
class Staged:
    """Bytes received and hashed, waiting in a temporary file for `commit` or `discard`."""

    tmp_path: Path
    sha256: str
    size: int
    head: bytes  # the first bytes, for sniffing the type


class EvidenceStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def stage(self, stream: BinaryIO, max_size: int | None = None) -> Staged:
        tmp_dir = self.root / "tmp"
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

    def commit(self, staged: Staged) -> Path:
        """Move the staged file under its hash name; an identical file already there is kept as it is."""
        target = self.path_for(staged.sha256)
        if target.exists():
            self.discard(staged)
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(staged.tmp_path, 0o444)  # write-once: nothing in the app opens it for writing again
        os.replace(staged.tmp_path, target)
        _fsync_dir(target.parent)
        return target

    def discard(self, staged: Staged) -> None:
        staged.tmp_path.unlink(missing_ok=True)

    def put_bytes(self, data: bytes) -> tuple[str, Path]:
        """Store bytes made by the app itself (derivatives)."""
        staged = self.stage(io.BytesIO(data))
        return staged.sha256, self.commit(staged)

    def put_file(self, path: Path) -> tuple[str, Path]:
        """Store a file the app made (a dossier PDF, a package ZIP), copied in chunks, never read whole."""
        with open(path, "rb") as fh:
            staged = self.stage(fh)
        return staged.sha256, self.commit(staged)

    def remove(self, sha256: str) -> None:
        """Only for a purge decided by an owner; normal use never deletes stored bytes."""
        path = self.path_for(sha256)
        if path.exists():
            os.chmod(path, 0o644)
            path.unlink()

    def open(self, sha256: str) -> BinaryIO:
        return self.path_for(sha256).open("rb")


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
