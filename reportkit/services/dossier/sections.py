"""The dossier's sections in their order: the one list that the contents page, the PDF's bookmarks and the body
of every rendered part read (templates/pdf/sections/contents.html, pipeline._outline, front/back/single.html).

Each section is a template under templates/pdf/sections/ whose outer element carries `id="<anchor>"` (links,
the contents' page numbers and the bookmarks point at it) and `class="section"` (it starts a page). `part` says
which part of the parallel render holds it (pipeline.py): the front matter, the entries (one section per entry,
`id="entry-<number>"`) or the back matter. `shown` decides from the snapshot (data.snapshot) whether this
dossier has the section. This module imports nothing: the render workers load it.
"""

from collections.abc import Callable
from dataclasses import dataclass


def always(d: dict) -> bool:
    return True


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str  # in the contents and the bookmarks
    template: str  # file name under templates/pdf/sections/
    part: str  # "front", "entries" or "back"
    shown: Callable[[dict], bool] = always
    contents: bool = True  # listed on the contents page (the cover and the contents themselves are not)
    bookmark: str = ""  # the bookmark's title, when it is not `title`
    group: str = ""  # the bookmark is nested under a parent of this title, which opens at the group's first section


SECTIONS = (
    Section("cover", "Cover", "cover.html", "front", contents=False),
    Section("contents", "Contents", "contents.html", "front", contents=False),
    Section("summary", "Summary", "summary.html", "front"),
    Section("follow-up", "Follow-up of an earlier report", "follow_up.html", "front",
            shown=lambda d: bool(d.get("follow_up"))),
    Section("public-interest", "Why the public-interest exception does not apply", "public_interest.html", "front",
            shown=lambda d: bool(d["case"]["public_interest_html"])),
    Section("dsa-notice", "Notice under Article 16 DSA", "dsa_notice.html", "front",
            shown=lambda d: d["mode"] == "dsa"),
    Section("entries", "Entries", "entry.html", "entries"),  # one per entry: the contents list each entry
    Section("appendix-manifest", "Appendix A · Evidence manifest", "appendix_manifest.html", "back",
            bookmark="A · Evidence manifest", group="Appendices"),
    Section("appendix-methodology", "Appendix B · Methodology and limitations", "appendix_methodology.html", "back",
            bookmark="B · Methodology and limitations", group="Appendices"),
    Section("appendix-verify", "Appendix C · How to verify a file", "appendix_verify.html", "back",
            bookmark="C · How to verify a file", group="Appendices"),
)
PARTS = ("front", "entries", "back")
assert all(s.part in PARTS for s in SECTIONS) and len({s.anchor for s in SECTIONS}) == len(SECTIONS)


def shown(d: dict, part: str | None = None) -> list[Section]:
    """The sections this dossier has, in order (of one part, or all)."""
    return [s for s in SECTIONS if (part is None or s.part == part) and s.shown(d)]
