"""Chain heads kept where a database attacker cannot rewrite them, and the check that the chain still holds them.

Someone who can write the database can rewrite a case's events from some point on, recompute every hash after
it and move the chain-head row: the chain then checks out on its own. What they cannot rewrite in the same go
is a head recorded elsewhere. Every export (dossier, package), backup and passing verification appends the
case's head (hash and length) to an anchor log in the instance folder, outside the database; the dossier
prints its head on the cover and the package carries the whole chain, so copies that left the tool are anchors
too (`reportkit verify --anchor FILE`). `verify` checks that the event at each anchored position still has the
anchored hash. A restore writes a line that retires the heads before it (the database went back in time). An
attacker who also controls the instance folder and every copy that left it is not caught.
"""

import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..models._common import utcnow

_PRINTED = re.compile(r"Custody chain of case (\d+): (\d+) events?, head ((?:[0-9a-f]{16} ?){4})")


@dataclass(frozen=True)
class Anchor:
    case_id: int
    length: int
    head: str
    source: str  # where it was recorded, said in a problem report

    def problem(self, hashes: list[str]) -> str | None:
        """`hashes`: the case's event hashes in chain order today."""
        if self.length == 0:
            return None
        if self.length > len(hashes):
            return (f"the chain has {len(hashes)} events but {self.source} recorded {self.length}: events at the end "
                    "were removed")
        if hashes[self.length - 1] != self.head:
            return (f"event {self.length} of the chain is not the one {self.source} recorded ({self.head[:16]}…): "
                    "the history was rewritten")
        return None


def append(log: Path, case_id: int, length: int, head: str, reason: str) -> None:
    """One JSON line, written and flushed to disk; the file is the operator's, readable by them only."""
    _write(log, {"case_id": case_id, "length": length, "head": head, "reason": reason,
                 "at": utcnow().isoformat(timespec="seconds")})


def _write(log: Path, item: dict) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(item, sort_keys=True)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def restored(log: Path, backup: str) -> None:
    """A restore puts the database back to an earlier moment: heads recorded before it may be ahead of the
    restored chains, so they no longer count (the line says which backup and when)."""
    _write(log, {"restored": backup, "at": utcnow().isoformat(timespec="seconds")})


def from_log(log: Path, case_id: int) -> list[Anchor]:
    if not log.exists():
        return []
    found = []
    for number, line in enumerate(log.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            item = json.loads(line)
        except ValueError:
            continue  # a torn last line after a crash: the others still count
        if "restored" in item:
            found = []
        elif item.get("case_id") == case_id:
            found.append(Anchor(case_id, int(item["length"]), item["head"],
                                f"the anchor log ({item.get('reason')}, {item.get('at')}, line {number})"))
    return found


def from_file(path: Path) -> list[Anchor]:
    """Heads carried by a copy that left the tool: an evidence package (its events.json) or a dossier PDF (its
    cover). Raises ValueError for a file that carries none."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = {n.rsplit("/", 1)[-1]: n for n in zf.namelist() if n.count("/") <= 1}
            if "events.json" not in names:
                raise ValueError(f"{path.name} is not an evidence package (it has no events.json)")
            events = json.loads(zf.read(names["events.json"]))
        if not events:
            raise ValueError(f"{path.name} carries no events")
        return [Anchor(int(events[-1]["case_id"]), len(events), events[-1]["hash"], f"the package {path.name}")]
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        text = " ".join((PdfReader(path).pages[0].extract_text() or "").split())
    except (PdfReadError, OSError, IndexError, ValueError) as exc:
        raise ValueError(f"{path.name} is neither an evidence package nor a readable dossier PDF") from exc
    match = _PRINTED.search(text)
    if not match:
        raise ValueError(f"{path.name} does not print a custody chain head on its cover")
    head = match.group(3).replace(" ", "")
    return [Anchor(int(match.group(1)), int(match.group(2)), head, f"the dossier {path.name}")]
