"""The evidence store in an S3-compatible bucket (AWS S3, MinIO, Garage, Ceph RGW): `EVIDENCE_URL=s3://bucket/prefix`.

Same guarantees as the local store (services/storage.py):
- bytes are received into a private staging file under `<instance>/tmp` and hashed there, before anything is
  written to the bucket; the object's key is its hash (`prefix/ab/cd/abcd…`, the local store's layout);
- write-once: an existing key is never written again (a HEAD first, and every PutObject and
  CompleteMultipartUpload carries `If-None-Match: *`, so a server that supports conditional writes refuses an
  overwrite even from a racing writer; a refusal means the same bytes are there already);
- never read whole into memory: uploads go through boto3's managed transfer (multipart above
  `S3_MULTIPART_THRESHOLD`), reads stream in chunks into a private temp file while being hashed, and only a
  file whose bytes hash to its name is handed out (`open_verified`);
- optional Object Lock retention (`S3_OBJECT_LOCK_DAYS`, compliance mode): every object is stored locked for N
  days, so nobody, not even the bucket's owner with this server's keys, can delete or overwrite it before then.
  A purge or gc meeting a locked object leaves it and says until when (`StoredBytesLocked`).

The store object holds settings only (it is pickled to dossier render processes); boto3 clients are made once
per process and settings.
"""

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from .storage import (
    CHUNK,
    Garbage,
    StorageFull,
    StoredBytesLocked,
    StoredFileChanged,
    StoredFileMissing,
    _entries,
    _full_is_storage_full,
    _remove_tree,
    flock_folder,
    hash_name,
    stage_into,
)

_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()
NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


class S3Store:
    """An evidence store in `bucket` under `prefix`. `temp_dir` (the instance's tmp folder) holds staging and
    scratch files; `lock_dir` is the folder whose flock orders writers and removers on this machine."""

    kind = "s3"

    def __init__(self, bucket: str, prefix: str, temp_dir: Path, lock_dir: Path, endpoint_url: str | None = None,
                 region: str | None = None, access_key: str | None = None, secret_key: str | None = None,
                 lock_days: int | None = None, multipart_threshold: int = 8 * 1024 * 1024,
                 conditional_writes: bool = True):
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.temp_dir, self.lock_dir = Path(temp_dir), Path(lock_dir)
        self.endpoint_url, self.region = endpoint_url or None, region or None
        self.access_key, self.secret_key = access_key or None, secret_key or None
        self.lock_days, self.multipart_threshold = lock_days or None, multipart_threshold
        self.conditional_writes = conditional_writes

    def __repr__(self) -> str:
        return f"S3Store({self.url!r}, endpoint={self.endpoint_url!r})"

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    # -- the client -------------------------------------------------------------------------------------------
    @property
    def client(self):
        key = (os.getpid(), self.endpoint_url, self.region, self.access_key, self.secret_key, self.conditional_writes)
        with _clients_lock:
            if key not in _clients:
                _clients[key] = self._make_client()
            return _clients[key]

    def _make_client(self):
        import boto3
        from botocore.config import Config

        # path-style addresses for a server of our own (MinIO, Garage, an IP address); AWS picks its own
        config = Config(s3={"addressing_style": "path"} if self.endpoint_url else {},
                        retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60,
                        request_checksum_calculation="when_required", response_checksum_validation="when_required")
        client = boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, config=config)  # None: boto3's usual env/config/role chain
        if self.conditional_writes:
            for name in ("PutObject", "CompleteMultipartUpload"):
                client.meta.events.register(f"before-parameter-build.s3.{name}", _write_once)
        return client

    def key_for(self, sha256: str) -> str:
        name = hash_name(sha256)  # refuses anything but a SHA-256
        return f"{self.prefix}/{name}" if self.prefix else name

    def relative_name(self, sha256: str) -> str:
        return hash_name(sha256)

    # -- writing ----------------------------------------------------------------------------------------------
    def exists(self, sha256: str) -> bool:
        return self._head(sha256) is not None

    def _head(self, sha256: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key_for(sha256))
        except ClientError as exc:
            if _code(exc) in NOT_FOUND:
                return None
            raise

    def stage(self, stream: BinaryIO, max_size: int | None = None):
        with _full_is_storage_full():
            self.temp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the instance's tmp: owner-only
            return stage_into(self.temp_dir, stream, max_size)

    def commit(self, staged, added: list[str] | None = None) -> str:
        """Upload the staged file under its hash unless an object is there already (never overwritten); `added`
        collects the hashes this call stored. Returns the object's key."""
        key = self.key_for(staged.sha256)
        with self.writing():
            try:
                if self.exists(staged.sha256):
                    return key
                if self._upload(staged.tmp_path, key):
                    if added is not None:
                        added.append(staged.sha256)
            finally:
                self.discard(staged)
        return key

    def _upload(self, path: Path, key: str) -> bool:
        """Multipart above the threshold (boto3's managed transfer, a part at a time from the file). False when
        the server refused because the key exists (a concurrent writer stored the same bytes first)."""
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import ClientError

        extra = {"ContentType": "application/octet-stream"}
        if self.lock_days:
            extra |= {"ObjectLockMode": "COMPLIANCE", "ChecksumAlgorithm": "SHA256",  # a checksum is required
                      "ObjectLockRetainUntilDate": datetime.now(UTC) + timedelta(days=self.lock_days)}
        config = TransferConfig(multipart_threshold=self.multipart_threshold,
                                multipart_chunksize=max(self.multipart_threshold, 5 * 1024 * 1024), use_threads=False)
        try:
            self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra, Config=config)
        except ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise
        except Exception as exc:  # s3transfer wraps the client's error
            cause = exc.__cause__ or exc.__context__
            if cause is not None and _code(cause) in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise
        return True

    def discard(self, staged) -> None:
        staged.tmp_path.unlink(missing_ok=True)

    def put_bytes(self, data: bytes, added: list[str] | None = None) -> tuple[str, str]:
        import io

        staged = self.stage(io.BytesIO(data))
        return staged.sha256, self.commit(staged, added)

    def put_file(self, path: Path, added: list[str] | None = None) -> tuple[str, str]:
        with open(path, "rb") as fh:
            staged = self.stage(fh)
        return staged.sha256, self.commit(staged, added)

    def size(self, sha256: str) -> int:
        head = self._head(sha256)
        if head is None:
            raise StoredFileMissing(sha256)
        return int(head["ContentLength"])

    # -- removing ---------------------------------------------------------------------------------------------
    def locked_until(self, sha256: str) -> datetime | None:
        """The end of the object's retention when it is still in the future (Object Lock), else None."""
        head = self._head(sha256)
        until = head.get("ObjectLockRetainUntilDate") if head else None
        return until if until is not None and until > datetime.now(UTC) else None

    def remove(self, sha256: str) -> None:
        """Remove every version of the object (a versioned bucket would otherwise only hide it). Raises
        StoredBytesLocked, removing nothing, while its retention lasts."""
        if (until := self.locked_until(sha256)) is not None:
            raise StoredBytesLocked(sha256, until)
        key = self.key_for(sha256)
        versions = []
        for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=key):
            versions += [v["VersionId"] for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                         if v["Key"] == key]
        for version in versions:  # "null" on a bucket without versioning: the one object
            self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version)
        if not versions:
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def writing(self):
        return flock_folder(self.lock_dir, shared=True)

    def removing(self):
        return flock_folder(self.lock_dir, shared=False)

    def stored_objects(self) -> Iterator[tuple[str, int, float]]:
        """(sha256, size, last-modified timestamp) of every object laid out as a hash name under the prefix."""
        paginator = self.client.get_paginator("list_objects_v2")
        start = f"{self.prefix}/" if self.prefix else ""
        for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", []):
                sha = item["Key"].rsplit("/", 1)[-1]
                try:
                    if self.key_for(sha) != item["Key"]:
                        continue
                except ValueError:
                    continue
                yield sha, int(item["Size"]), item["LastModified"].timestamp()

    def stored_hashes(self) -> Iterator[str]:
        for sha, _, _ in sorted(self.stored_objects()):
            yield sha

    def collect_garbage(self, in_use: Callable[[set[str]], set[str]], grace_seconds: float,
                        temp_dir: Path | None = None, dry_run: bool = False) -> list[Garbage]:
        """As the local store's: scratch and staging files in `temp_dir`, and objects no row uses, once older
        than the grace period. An object under retention is left and reported as "locked" (until when)."""
        cutoff = datetime.now(UTC).timestamp() - grace_seconds
        old = {sha: size for sha, size, modified in self.stored_objects() if modified < cutoff}
        unused = sorted(set(old) - in_use(set(old)))
        found = [Garbage(Path(self.key_for(sha)), old[sha], "unreferenced") for sha in unused]
        if temp_dir is not None:
            found += [Garbage(p, size, "temp") for p, size, mtime in _entries(temp_dir, "*") if mtime < cutoff]
        if dry_run:
            return found
        removed = [g for g in found if g.kind == "temp" and _remove_tree(g.path)]
        if unused:
            with self.removing():
                really = set(unused) - in_use(set(unused))
                for sha in sorted(really):
                    head = self._head(sha)
                    if head is None or head["LastModified"].timestamp() >= cutoff:
                        continue
                    try:
                        self.remove(sha)
                    except StoredBytesLocked as exc:
                        removed.append(Garbage(Path(self.key_for(sha)), old[sha], "locked", exc.until))
                        continue
                    removed.append(Garbage(Path(self.key_for(sha)), old[sha], "unreferenced"))
        return removed

    # -- reading ----------------------------------------------------------------------------------------------
    def stream_to(self, sha256: str, out: BinaryIO) -> str:
        """Copy the object's bytes to `out` in chunks; returns the SHA-256 of what was read."""
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key_for(sha256))["Body"]
        except ClientError as exc:
            if _code(exc) in NOT_FOUND:
                raise StoredFileMissing(sha256) from None
            raise
        digest = hashlib.sha256()
        with _full_is_storage_full():
            try:
                for chunk in body.iter_chunks(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            finally:
                body.close()
        return digest.hexdigest()

    def open_verified(self, sha256: str) -> BinaryIO:
        """The object's bytes, streamed into an unnamed private temp file under the instance's tmp while they are
        hashed; handed out (at its start) only when they hash to their name. Raises StoredFileMissing or
        StoredFileChanged; the altered bytes are never returned."""
        with _full_is_storage_full():
            self.temp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fh = tempfile.TemporaryFile(dir=self.temp_dir)  # O_TMPFILE where it exists: nothing left by a kill
        try:
            actual = self.stream_to(sha256, fh)
            if actual != sha256:
                raise StoredFileChanged(sha256, actual)
            fh.flush()
            fh.seek(0)
        except BaseException:
            fh.close()
            raise
        return fh

    open = open_verified

    def check(self, sha256: str) -> str | None:
        """None when the object is there and its bytes hash to its name, else "missing" or "changed"."""
        try:
            with open(os.devnull, "wb") as sink:
                actual = self.stream_to(sha256, sink)
        except StoredFileMissing:
            return "missing"
        return None if actual == sha256 else "changed"

    def read_bytes(self, sha256: str) -> bytes:
        """Small stored files the app reads whole anyway (an image for the PDF renderer, an import table);
        checked against the hash like every read."""
        with self.open_verified(sha256) as fh:
            return fh.read()

    @contextmanager
    def as_file(self, sha256: str) -> Iterator[Path]:
        """A checked local copy of the object (for image libraries that want a file), removed afterwards."""
        with _full_is_storage_full():
            self.temp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.temp_dir, prefix="s3-")
        try:
            with os.fdopen(fd, "wb") as out:
                actual = self.stream_to(sha256, out)
            if actual != sha256:
                raise StoredFileChanged(sha256, actual)
            yield Path(name)
        finally:
            os.unlink(name)

    # -- operations -------------------------------------------------------------------------------------------
    def probe(self) -> str:
        """/readyz and `reportkit doctor`: the bucket answers with these keys (and has Object Lock when asked)."""
        from botocore.exceptions import ClientError

        self.client.head_bucket(Bucket=self.bucket)
        if self.lock_days:
            try:
                found = self.client.get_object_lock_configuration(Bucket=self.bucket)
            except ClientError as exc:
                raise OSError(f"S3_OBJECT_LOCK_DAYS is set but bucket {self.bucket} has no Object Lock "
                              f"({_code(exc)}); create the bucket with Object Lock enabled") from None
            if found.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
                raise OSError(f"S3_OBJECT_LOCK_DAYS is set but bucket {self.bucket} has no Object Lock")
        return f"{self.url} at {self.endpoint_url or 'AWS'}" + \
            (f", Object Lock {self.lock_days} days (compliance)" if self.lock_days else "")


def _write_once(params, **_) -> None:
    """Every write of this client is conditional on the key not existing (`If-None-Match: *`)."""
    params.setdefault("IfNoneMatch", "*")


__all__ = ["S3Store", "StorageFull"]
