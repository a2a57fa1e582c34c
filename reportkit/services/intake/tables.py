"""Read an uploaded CSV or JSON file whatever its encoding, and map its columns to entry fields."""

import codecs
import csv
import io
import json
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as dateparser

TARGETS = {
    "url": "Post URL", "text": "Original text", "language": "Language", "translation": "Translation",
    "translation_method": "Translation method", "posted_at": "Posted at", "notes": "Notes", "tags": "Tags",
    "clause": "Clause key(s)", "rationale": "Rationale", "account": "Account handle",
    "archive_url": "Archive location", "screenshot_url": "Screenshot location", "hash": "Archiver's hash",
    "archive_status": "Archiver's status",
}
ALIASES = {  # lower-cased header -> target; includes the columns Bellingcat's auto-archiver writes
    "url": "url", "link": "url", "post url": "url", "post_url": "url", "address": "url", "permalink": "url",
    "text": "text", "content": "text", "original text": "text", "post text": "text", "body": "text",
    "language": "language", "lang": "language", "translation": "translation", "translated text": "translation",
    "translation method": "translation_method", "translation_method": "translation_method",
    "posted_at": "posted_at", "posted at": "posted_at", "date": "posted_at", "timestamp": "posted_at",
    "post date": "posted_at", "created_at": "posted_at", "upload_date": "posted_at", "notes": "notes",
    "note": "notes", "context": "notes", "title": "notes", "tags": "tags", "tag": "tags", "clause": "clause",
    "clauses": "clause", "clause key": "clause", "policy": "clause", "rationale": "rationale", "reason": "rationale",
    "account": "account", "handle": "account", "author": "account", "account handle": "account",
    "archive": "archive_url", "archive location": "archive_url", "archive_location": "archive_url",
    "archive url": "archive_url", "wacz": "archive_url", "screenshot": "screenshot_url",
    "screenshot location": "screenshot_url", "hash": "hash", "sha256": "hash", "status": "archive_status",
    "archive status": "archive_status", "archive_status": "archive_status",
}


class TableError(ValueError):
    pass


def read_table(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a CSV (UTF-8 with or without BOM, UTF-16 from Excel, any common delimiter) or
    of a JSON list of objects."""
    if not data.strip():
        raise TableError("The file is empty.")
    text = _decode(data)
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return _json_table(stripped)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise TableError("The file has no rows.")
    headers = [h.strip() or f"column {i + 1}" for i, h in enumerate(rows[0])]
    return headers, [r + [""] * (len(headers) - len(r)) for r in rows[1:]]


def _decode(data: bytes) -> str:
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding)
    if len(data) > 1 and data[1:2] == b"\x00" and data[0:1] != b"\x00":
        return data.decode("utf-16-le")  # UTF-16 without a BOM
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _json_table(text: str) -> tuple[list[str], list[list[str]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TableError(f"The JSON cannot be read: {exc.msg} (line {exc.lineno}).") from exc
    if isinstance(data, dict):
        data = data.get("rows") or data.get("entries") or []
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise TableError("A JSON file must be a list of objects, or an object with a list named rows.")
    headers = list(dict.fromkeys(k for r in data for k in r))
    return headers, [[_cell(r.get(h)) for h in headers] for r in data]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def guess_mapping(headers: list[str]) -> dict[str, str]:
    mapping = {}
    for header in headers:
        target = ALIASES.get(re.sub(r"\s+", " ", header.strip().lower()))
        if target and target not in mapping:
            mapping[target] = header
    return mapping


def zone(name: str):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TableError(f"Unknown time zone “{name}”.") from exc


def parse_time(value: str, default_zone) -> datetime | None:
    """Common date formats; a time without a zone is read in the chosen zone; the result is UTC."""
    value = value.strip()
    if not value:
        return None
    if re.fullmatch(r"\d{10}(\.\d+)?", value):  # Unix seconds
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    parsed = dateparser.parse(value, dayfirst=bool(re.match(r"\d{1,2}[./]\d{1,2}[./]\d{4}", value)))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_zone)
    return parsed.astimezone(timezone.utc)
