"""Check a reportkit evidence package with nothing but Python's standard library.

Every package carries a copy of this file as `verify.py`, so a recipient can run

    python3 -I verify.py              (in the unzipped folder)
    python3 -I verify.py package.zip

without reportkit, without our server and without installing anything (-I: Python does not look for modules
in the package's folder, so a file added to it cannot take the place of one this checker imports). It checks
SHA256SUMS, manifest.json, that every file under files/ is named by its own SHA-256, that the package holds
nothing either list leaves out, and the custody log's hash chain. `reportkit verify-package` runs the same
checks (this module) and more: that dossier.pdf carries this manifest, and the RFC 3161 timestamps of the
manifest. Keep this file free of third-party imports.

The chain is disclosed selectively: events.json lists every event of the case in order, but an event the
package does not need (about other entries, members, internal comments, edits) is withheld: it carries only
its id, case_id, hash and prev_hash, and "withheld": true. Every event's prev_hash must be the hash of the one
before it; every disclosed event's hash is recomputed from its content. A withheld event's content cannot be
checked (it is not here), and a disclosed event that does not match its hash has been changed.
"""

import hashlib
import json
import re
import sys
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

GENESIS = "0" * 64
WITHHELD_KEYS = {"id", "case_id", "hash", "prev_hash", "withheld"}  # all a withheld event carries
HASH = re.compile(r"[0-9a-f]{64}")
REQUIRED = ("SHA256SUMS", "manifest.json", "events.json")
# SHA256SUMS lists every file but itself. manifest.json lists every file but these: itself, and what is made
# after it or about it (the PDF that carries it, the authorities' timestamps over it, the README, SHA256SUMS).
# Anything else a package holds was added after export, and is reported.
OUTSIDE_MANIFEST = re.compile(
    r"SHA256SUMS|manifest\.json|dossier\.pdf|README\.txt|timestamps/manifest\.[1-9][0-9]*\.tsr")
CHUNK = 1024 * 1024


def content_hash(content: dict) -> str:
    """SHA-256 of an event's canonical JSON: sorted keys, no spaces, UTF-8."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check(names: set[str], open_file: Callable[[str], BinaryIO]) -> list[str]:
    """Every problem found in a package given its file names and a way to open them (each is read once)."""
    problems = [f"{name} is missing" for name in REQUIRED if name not in names]
    if problems:
        return problems
    hashes: dict[str, str | None] = {}

    def sha(name: str) -> str | None:
        """The file's SHA-256, or None when it cannot be read (reported once)."""
        if name not in hashes:
            hashes[name] = _attempt(problems, name, _sha_of, open_file)
        return hashes[name]

    lists = [_attempt(problems, name, _read, open_file) for name in REQUIRED]
    if None in lists:
        return problems
    sums = {}
    for line in lists[0].decode("utf-8", "replace").splitlines():
        sum_, _, name = line.partition("  ")
        sums[name] = sum_
        if name not in names:
            problems.append(f"{name}: listed in SHA256SUMS but missing")
        elif sha(name) not in (sum_, None):
            problems.append(f"{name}: its SHA-256 does not match SHA256SUMS")
    try:
        listed, events = json.loads(lists[1])["files"], json.loads(lists[2])
        if not isinstance(listed, dict) or not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise TypeError("not the expected layout")
    except (ValueError, KeyError, TypeError) as exc:
        return problems + [f"manifest.json or events.json is not readable: {exc}"]
    for name, sum_ in listed.items():
        if name not in names:
            problems.append(f"{name}: listed in manifest.json but missing")
        elif sha(name) not in (sum_, None):
            problems.append(f"{name}: does not match manifest.json")
    for name in sorted(names - {"SHA256SUMS"}):
        unlisted = [] if name in listed or OUTSIDE_MANIFEST.fullmatch(name) else ["manifest.json"]
        unlisted += [] if name in sums else ["SHA256SUMS"]
        if unlisted:
            problems.append(f"{name}: an extra file, not listed in {' or '.join(unlisted)}")
        if name.startswith("files/") and sha(name) not in (name.removeprefix("files/"), None):
            problems.append(f"{name}: its content does not match its name")
    return problems + check_chain(events)


def check_zip(zf: zipfile.ZipFile) -> list[str]:
    """`check` on a ZIP. A name held twice is a problem of its own: unzip tools differ on which copy they keep."""
    names = Counter(info.filename for info in zf.infolist() if not info.is_dir())
    twice = [f"{name}: the ZIP holds {count} files of this name" for name, count in sorted(names.items()) if count > 1]
    return twice + check(set(names), zf.open)


def check_folder(root: Path) -> list[str]:
    """`check` on an unzipped package. A link to a folder, a pipe or a broken link is reported, never read."""
    names, odd = set(), []
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_file():
            names.add(name)
        elif path.is_symlink() or not path.is_dir():
            odd.append(f"{name}: not a regular file")
    return odd + check(names, lambda name: (root / name).open("rb"))


def is_withheld(ev: dict) -> bool:
    """An event whose content the package does not disclose. Anything more than the stub is content, and is
    checked against the hash like any disclosed event."""
    return ev.get("withheld") is True and set(ev) <= WITHHELD_KEYS


def check_chain(events: list[dict]) -> list[str]:
    problems, previous = [], GENESIS
    for ev in events:
        if ev.get("prev_hash") != previous:
            problems.append(f"event {ev.get('id')}: the chain is broken before it")
        if is_withheld(ev):
            if not isinstance(ev.get("hash"), str) or not HASH.fullmatch(ev["hash"]):
                problems.append(f"event {ev.get('id')}: withheld, and its hash is not a SHA-256")
        elif content_hash({k: v for k, v in ev.items() if k not in ("id", "hash")}) != ev.get("hash"):
            problems.append(f"event {ev.get('id')}: its content does not match its hash")
        previous = ev.get("hash")
    return problems


def chain_summary(events: list[dict]) -> str:
    withheld = sum(is_withheld(ev) for ev in events)
    return (f"the custody chain of {len(events)} events is intact; {len(events) - withheld} are disclosed and "
            f"match their hashes, {withheld} are withheld (only their hashes are here, which link the chain)")


def _sha_of(open_file: Callable[[str], BinaryIO], name: str) -> str:
    digest = hashlib.sha256()
    with open_file(name) as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read(open_file: Callable[[str], BinaryIO], name: str) -> bytes:
    with open_file(name) as fh:
        return fh.read()


def _attempt(problems: list[str], name: str, how: Callable, open_file: Callable[[str], BinaryIO]):
    """how(open_file, name), or None with the reason in problems: a damaged package can fail in many ways
    (bad CRC, unknown compression, encryption, a file that vanished) and each is a finding, not a crash."""
    try:
        return how(open_file, name)
    except Exception as exc:  # noqa: BLE001 - see above
        problems.append(f"{name}: cannot be read: {type(exc).__name__}: {exc}")
        return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else Path(".")
    events: list[dict] = []
    try:
        if target.is_dir():
            problems = check_folder(target)
            events = [] if problems else json.loads((target / "events.json").read_bytes())
        else:
            with zipfile.ZipFile(target) as zf:
                problems = check_zip(zf)
                events = [] if problems else json.loads(zf.read("events.json"))
    except (zipfile.BadZipFile, OSError) as exc:
        problems = [f"not a readable ZIP file: {exc}" if not target.is_dir() else f"not readable: {exc}"]
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"{target}: {len(problems)} problem(s)" if problems else
          f"{target}: OK: every file is listed in and matches SHA256SUMS and manifest.json, and "
          f"{chain_summary(events)}.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
