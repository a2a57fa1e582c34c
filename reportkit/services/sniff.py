"""Decide what a file is from its bytes; the extension and the browser's claimed type are not trusted."""

import gzip
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import filetype

# mime -> evidence kind: the allow-list.
ALLOWED = {
    "image/png": "screenshot",
    "image/jpeg": "screenshot",
    "image/webp": "screenshot",
    "image/gif": "screenshot",
    "application/pdf": "pdf",
    "text/html": "page",
    "multipart/related": "page",  # MHTML
    "application/warc": "web_archive",
    "application/wacz": "web_archive",
    "video/mp4": "video",
    "video/webm": "video",
}
ALLOWED_LABEL = "PNG, JPEG, WebP, GIF, PDF, HTML, MHTML, WARC, WACZ, MP4 or WebM"


@dataclass(frozen=True)
class Sniffed:
    mime: str
    kind: str


class UnsupportedType(ValueError):
    pass


def sniff(head: bytes, path: Path) -> Sniffed:
    """Raise UnsupportedType with a reason a user understands, or say what the file is."""
    if not head:
        raise UnsupportedType("The file is empty.")
    mime = _binary_type(head, path) or _text_type(head)
    if mime not in ALLOWED:
        shown = f" (it looks like {mime})" if mime else ""
        raise UnsupportedType(f"This type of file is not accepted{shown}. Accepted: {ALLOWED_LABEL}.")
    return Sniffed(mime, ALLOWED[mime])


def _binary_type(head: bytes, path: Path) -> str | None:
    if head.startswith(b"WARC/"):
        return "application/warc"
    if head.startswith(b"\x1f\x8b"):
        try:
            with gzip.open(path) as fh:
                return "application/warc" if fh.read(5) == b"WARC/" else "application/gzip"
        except (OSError, EOFError):
            return "application/gzip"
    kind = filetype.guess(head)
    if kind is None:
        return None
    if kind.mime == "application/zip":
        return _zip_type(path)
    if kind.mime in ("video/quicktime", "video/x-m4v"):
        return "video/mp4" if b"ftypmp4" in head[:16] or b"ftypisom" in head[:16] else kind.mime
    return kind.mime


def _zip_type(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return "application/zip"
    return "application/wacz" if "datapackage.json" in names else "application/zip"


def _text_type(head: bytes) -> str | None:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "text/html"
    if text.startswith((b"from:", b"mime-version:", b"date:", b"subject:", b"snapshot-content-location:")) \
            and b"multipart/related" in text:
        return "multipart/related"
    try:
        io.TextIOWrapper(io.BytesIO(head), encoding="utf-8").read()
        return "text/plain"
    except UnicodeDecodeError:
        return None
