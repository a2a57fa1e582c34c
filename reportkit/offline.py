"""Check a reportkit evidence package with nothing but Python's standard library.

Every package carries a copy of this file as `verify.py`, so a recipient can run

    python3 verify.py                 (in the unzipped folder)
    python3 verify.py package.zip

without reportkit, without our server and without installing anything. It checks SHA256SUMS, manifest.json,
that every file under files/ is named by its own SHA-256, and the custody log's hash chain. `reportkit
verify-package` runs the same checks (this module) and more: that dossier.pdf carries this manifest, and the
RFC 3161 timestamps of the manifest. Keep this file free of third-party imports.
"""

import hashlib
import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

GENESIS = "0" * 64
REQUIRED = ("SHA256SUMS", "manifest.json", "events.json")


def content_hash(content: dict) -> str:
    """SHA-256 of an event's canonical JSON: sorted keys, no spaces, UTF-8."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check(names: set[str], read: Callable[[str], bytes]) -> list[str]:
    """Every problem found in a package given its file names and a way to read them."""
    problems = [f"{name} is missing" for name in REQUIRED if name not in names]
    if problems:
        return problems
    for line in read("SHA256SUMS").decode("utf-8", "replace").splitlines():
        sha, _, name = line.partition("  ")
        if name not in names:
            problems.append(f"{name}: listed in SHA256SUMS but missing")
        elif _sha(read(name)) != sha:
            problems.append(f"{name}: its SHA-256 does not match SHA256SUMS")
    try:
        listed = json.loads(read("manifest.json"))["files"]
        events = json.loads(read("events.json"))
    except (ValueError, KeyError, TypeError) as exc:
        return problems + [f"manifest.json or events.json is not readable: {exc}"]
    for name, sha in listed.items():
        if name not in names or _sha(read(name)) != sha:
            problems.append(f"{name}: does not match manifest.json")
    for name in sorted(names):
        if name.startswith("files/") and _sha(read(name)) != name.removeprefix("files/"):
            problems.append(f"{name}: its content does not match its name")
    return problems + check_chain(events)


def check_chain(events: list[dict]) -> list[str]:
    problems, previous = [], GENESIS
    for ev in events:
        content = {k: v for k, v in ev.items() if k not in ("id", "hash")}
        if content.get("prev_hash") != previous:
            problems.append(f"event {ev.get('id')}: the chain is broken before it")
        if content_hash(content) != ev.get("hash"):
            problems.append(f"event {ev.get('id')}: its content does not match its hash")
        previous = ev.get("hash")
    return problems


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else Path(".")
    if target.is_dir():
        names = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
        problems = check(names, lambda name: (target / name).read_bytes())
    else:
        try:
            with zipfile.ZipFile(target) as zf:
                problems = check(set(zf.namelist()), zf.read)
        except (zipfile.BadZipFile, OSError) as exc:
            problems = [f"not a readable ZIP file: {exc}"]
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"{target}: {len(problems)} problem(s)" if problems else
          f"{target}: OK: every file matches SHA256SUMS and manifest.json, and the custody chain is intact.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
