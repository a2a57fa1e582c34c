"""Read an uploaded CSV or JSON file whatever its encoding, and map its columns to entry fields."""

import codecs
import csv
import io
import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import dates
from ..entries import unstorable
from ..errors import ServiceError

TARGETS = {
    "url": "Post URL", "text": "Original text", "language": "Language", "translation": "Translation",
    "translation_method": "Translation method", "posted_at": "Posted at", "notes": "Notes", "tags": "Tags",
    "clause": "Clause key(s)", "rationale": "Rationale", "account": "Account handle",
    "archive_url": "Archive location", "screenshot_url": "Screenshot location", "hash": "Archiver's hash",
    "archive_status": "Archiver's status", "title": "Post title", "captured_at": "Archived at (capture time)",
    "wacz_url": "WACZ location", "replay_url": "Replay page", "thumbnail_url": "Thumbnail location",
}
ALIASES = {  # lower-cased header -> target; includes the columns Bellingcat's auto-archiver writes
    "url": "url", "link": "url", "post url": "url", "post_url": "url", "address": "url", "permalink": "url",
    "text": "text", "content": "text", "original text": "text", "post text": "text", "body": "text",
    "language": "language", "lang": "language", "translation": "translation", "translated text": "translation",
    "translation method": "translation_method", "translation_method": "translation_method",
    "posted_at": "posted_at", "posted at": "posted_at", "date": "posted_at", "timestamp": "posted_at",
    "post date": "posted_at", "created_at": "posted_at", "upload_date": "posted_at", "notes": "notes",
    "note": "notes", "context": "notes", "title": "title", "tags": "tags", "tag": "tags", "clause": "clause",
    "clauses": "clause", "clause key": "clause", "policy": "clause", "rationale": "rationale", "reason": "rationale",
    "account": "account", "handle": "account", "author": "account", "account handle": "account",
    "archive": "archive_url", "archive location": "archive_url", "archive_location": "archive_url",
    "archive url": "archive_url", "wacz": "wacz_url", "screenshot": "screenshot_url",
    "screenshot location": "screenshot_url", "hash": "hash", "sha256": "hash", "status": "archive_status",
    "archive status": "archive_status", "archive_status": "archive_status",
    # the auto-archiver's own names (its spreadsheet's header row), and their snake_case forms
    "text content": "text", "text_content": "text", "upload timestamp": "posted_at", "upload_timestamp": "posted_at",
    "upload title": "title", "upload_title": "title", "archive date": "captured_at", "archive_date": "captured_at",
    "archived at": "captured_at", "replaywebpage": "replay_url", "replay webpage": "replay_url",
    "replay_webpage": "replay_url", "thumbnail": "thumbnail_url", "thumbnail location": "thumbnail_url",
}


# Limits a file must keep to, each refused with a message rather than a 500 or a page nobody can load:
MAX_COLUMNS = 200  # the mapping page lists every column in each of its selects
MAX_HEADER = 200  # characters of a column name
MAX_CELL = 131_072  # characters of a cell (csv's own default field limit, said plainly)
TOO_MANY_COLUMNS = (f"The file has more than {MAX_COLUMNS} columns; at most {MAX_COLUMNS} can be mapped. "
                    "Remove the columns you do not need.")
NESTED_MESSAGE = "The JSON is nested too deeply to read; a table is a list of objects of plain values."


class TableError(ServiceError):
    """A file, a row or an import setting refused, with the reason (422; `field` names the setting)."""


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
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        rows = [r for r in reader if any(cell.strip() for cell in r)]
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise TableError(f"A cell on line {reader.line_num} is longer than {MAX_CELL:,} characters. "
                             "Split it, or leave it out of the file.") from exc
        raise TableError(f"The CSV cannot be read on line {reader.line_num}: {exc}.") from exc
    if not rows:
        raise TableError("The file has no rows.")
    headers = _headers([h.strip() or f"column {i + 1}" for i, h in enumerate(rows[0])])
    body = [(r + [""] * (len(headers) - len(r)))[:len(headers)] for r in rows[1:]]
    _check_cells(body)
    return headers, body


def _decode(data: bytes) -> str:
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return _decode_utf16(data, encoding) if encoding == "utf-16" else data.decode(encoding)
    if len(data) > 1 and data[1:2] == b"\x00" and data[0:1] != b"\x00":
        return _decode_utf16(data, "utf-16-le")  # UTF-16 without a BOM
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _decode_utf16(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise TableError(f"The file looks like UTF-16 but cannot be read as it (byte {exc.start}: {exc.reason}, "
                         "e.g. a lone surrogate). Save it again as UTF-8 or UTF-16.") from exc


def _json_table(text: str) -> tuple[list[str], list[list[str]]]:
    """Python's JSON parser (and str() of what it returns) recurses: deep nesting is a RecursionError,
    said as what it is."""
    try:
        return _json_rows(text)
    except RecursionError as exc:
        raise TableError(NESTED_MESSAGE) from exc


def _json_rows(text: str) -> tuple[list[str], list[list[str]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TableError(f"The JSON cannot be read: {exc.msg} (line {exc.lineno}).") from exc
    if isinstance(data, dict):
        data = data.get("rows") or data.get("entries") or []
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise TableError("A JSON file must be a list of objects, or an object with a list named rows.")
    headers = []
    seen = set()
    for row in data:
        for key in row:
            if key not in seen:
                seen.add(key)
                headers.append(key)
                if len(headers) > MAX_COLUMNS:
                    raise TableError(TOO_MANY_COLUMNS)
    headers = _headers(headers)
    body = [[_cell(r.get(h)) for h in headers] for r in data]
    _check_cells(body)
    return headers, body


def _headers(headers: list[str]) -> list[str]:
    if len(headers) > MAX_COLUMNS:
        raise TableError(TOO_MANY_COLUMNS)
    for i, header in enumerate(headers):
        if len(header) > MAX_HEADER:
            raise TableError(f"The column name of column {i + 1} is longer than {MAX_HEADER} characters.")
        _check_text(header, f"The name of column {i + 1}")
    return headers


def _check_cells(rows: list[list[str]]) -> None:
    for line, row in enumerate(rows, start=2):
        for column, cell in enumerate(row, start=1):
            if len(cell) > MAX_CELL:
                raise TableError(f"The cell in row {line - 1}, column {column} is longer than {MAX_CELL:,} "
                                 "characters. Split it, or leave it out of the file.")
            _check_text(cell, f"The cell in row {line - 1}, column {column}")


def _check_text(value: str, where: str) -> None:
    problem = unstorable(value)
    if problem:
        raise TableError(f"{where} {problem}")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# A hash the auto-archiver wrote: "SHA-256:<hex>" or "SHA3-512:<hex>" (its hash enricher), or a bare hex
# whose length names the algorithm. Kept as "<algorithm>:<hex>" in lower case.
HASH_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}  # 128 hex digits: SHA-512 or SHA3-512, so not named


def archiver_hash(value: str) -> str:
    """The archiver's hash with its algorithm's name ("sha256:<hex>"); a value of another shape as it was."""
    value = value.strip()
    named = re.fullmatch(r"([A-Za-z][A-Za-z0-9_-]{1,15})\s*:\s*([0-9A-Fa-f]{8,})", value)
    if named:
        algorithm = named.group(1).lower().replace("_", "-")
        algorithm = re.sub(r"^sha-(\d+)$", r"sha\1", algorithm)  # SHA-256 -> sha256; SHA3-512 stays sha3-512
        return f"{algorithm}:{named.group(2).lower()}"
    if re.fullmatch(r"[0-9A-Fa-f]+", value) and len(value) in HASH_LENGTHS:
        return f"{HASH_LENGTHS[len(value)]}:{value.lower()}"
    return value


def table_kind(data: bytes) -> str:
    """"json" or "csv": how `read_table` reads these bytes."""
    return "json" if _decode(data).lstrip().startswith(("[", "{")) else "csv"


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


def parse_time(value: str, default_zone, calendar: str = "auto") -> datetime | None:
    """Common date formats, Gregorian or Solar Hijri (`calendar`: services/dates.CALENDARS), in any digits; a
    time without a zone is read in the chosen zone; the result is UTC."""
    found = read_time(value, default_zone, calendar)
    return found.utc if found else None


def read_time(value: str, default_zone, calendar: str = "auto") -> dates.ParsedTime | None:
    """The time and how it was read ("1403/03/08 10:30 (Solar Hijri, Asia/Tehran) → 2024-05-28 07:00 UTC")."""
    return dates.parse_time(value, calendar, default_zone)
