"""The page-number overlay of the merged dossier: "page X of Y" with the running header, and the contents'
numbers. (Not to be confused with RFC 3161 timestamps: services/timestamps.py.)

The parts are rendered apart, so no part knows its page numbers or the total. Laying out an N-page overlay
in WeasyPrint cost about 4.5 ms a page (it builds and styles 16 margin boxes on every page), and laying out
the contents again with the real numbers cost about 1 ms a row: both ran alone, after the parts. Instead
WeasyPrint lays out a small sheet (templates/pdf/page_numbers.html): for each length of X, a page with the
header and "page 0…0 of Y"; and the ten digits in the footer's style and in the style of each contents level.
Every page but the cover gets the operators of the sheet page for its length with the glyphs of the zeros
swapped for those of its number, and the contents' empty slots get their numbers, right-aligned, from the
samples. Noto Sans digits all have the same width, so nothing moves. Each number stays one text run
("page 12 of 80") for anyone who extracts the text. The pages' own content is left as it is, wrapped in
q … Q, so nothing is decoded or compressed again.
"""

import re
from collections import defaultdict
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, IndirectObject, NameObject

from . import render

TEXT_ARRAY = re.compile(rb"\[([^\]]*)\]\s*TJ")
GLYPH = re.compile(rb"<[0-9a-fA-F]+>")
TEXT_RUN = re.compile(rb"(?P<color>(?:[\d.]+ ){3}rg)\s*BT\s*1 0 0 -1 (?P<x>[\d.-]+) (?P<y>[\d.-]+) Tm\s*"
                      rb"(?P<font>/\S+) (?P<size>[\d.]+) Tf\s*\[(?P<glyphs>[^\]]*)\]\s*TJ\s*ET")
CATEGORIES = ("/Font", "/ExtGState", "/ColorSpace", "/Pattern", "/Shading", "/XObject")
PX_TO_PT = 0.75


class NumberingError(RuntimeError):
    """The sheet did not come out as expected (e.g. a font that joins digits): fail, never misnumber."""


@dataclass
class Slot:
    """Where a contents number goes: its merged page, its level, and its box's right edge and top (CSS px)."""

    page: int
    level: int
    right: float
    top: float
    number: int


def sheet_html(d: dict, total: int) -> str:
    return render.environment().get_template("pdf/page_numbers.html").render(
        d=d, total=total, lengths=range(1, len(str(total)) + 1))


def apply(writer: PdfWriter, sheet_path: str, total: int, samples: dict[str, tuple], slots: list[Slot]) -> None:
    """`samples`: the sheet's sample boxes by id (x1, y1, x2, y2, CSS px); `slots`: the contents' numbers."""
    sheet = PdfReader(sheet_path)
    *heads, sample_page = sheet.pages
    if len(heads) != len(str(total)):
        raise NumberingError("the page-number sheet has an unexpected layout")
    resources = _copy_resources(writer, sheet.pages)
    runs = list(TEXT_RUN.finditer(_renamed(sample_page, resources)))
    if len(runs) != 3 or any(len(GLYPH.findall(run["glyphs"])) != 10 for run in runs):
        raise NumberingError("the digit samples on the page-number sheet have an unexpected layout")
    digits = GLYPH.findall(runs[0]["glyphs"])
    footers = [_Footer(_renamed(page, resources), length, digits) for length, page in enumerate(heads, start=1)]
    numbers = _ContentsNumbers(runs[1:], samples, digits, float(sheet.pages[0].mediabox.height))
    by_page = defaultdict(list)
    for slot in slots:
        by_page[slot.page].append(slot)
    open_ref = writer._add_object(_stream(b"q\n"))
    for index, page in enumerate(writer.pages):
        ops = [numbers.draw(slot) for slot in by_page[index]]
        if index > 0:  # the cover has no header
            ops.append(footers[len(str(index + 1)) - 1].fill(str(index + 1)))
        if not ops:
            continue
        _add_resources(page, resources)
        contents = page.raw_get("/Contents")
        existing = contents.get_object()
        parts = list(existing) if isinstance(existing, ArrayObject) else [contents]
        overlay = writer._add_object(_stream(b"Q\n" + b"\n".join(b"q\n" + op + b"\nQ" for op in ops)).flate_encode())
        page[NameObject("/Contents")] = ArrayObject([open_ref, *parts, overlay])


class _Footer:
    """A sheet page's operators, split around the glyphs of the zeros in its footer (the last text on it)."""

    def __init__(self, data: bytes, length: int, digits: list[bytes]):
        footer = list(TEXT_ARRAY.finditer(data))[-1]
        glyphs = list(GLYPH.finditer(data, footer.start(1), footer.end(1)))
        codes = [g.group() for g in glyphs]
        first = next((i for i in range(len(codes)) if codes[i:i + length] == [digits[0]] * length), None)
        if first is None:
            raise NumberingError("no slot for the page number in the sheet")
        self.slot, self.data, self.digits = glyphs[first:first + length], data, digits

    def fill(self, number: str) -> bytes:
        out, position = [], 0
        for glyph, digit in zip(self.slot, number, strict=True):
            out += [self.data[position:glyph.start()], self.digits[int(digit)]]
            position = glyph.end()
        return b"".join(out) + self.data[position:]


class _ContentsNumbers:
    """Draws a contents number right-aligned in its slot, in the font, size and colour of the level's sample."""

    def __init__(self, runs, samples: dict[str, tuple], digits: list[bytes], height_pt: float):
        self.levels = {}
        for level, run in enumerate(runs, start=1):
            x1, y1, x2, _ = samples[f"sample{level}"]
            self.levels[level] = (run["color"], run["font"], run["size"], (x2 - x1) / 10,
                                  float(run["x"]) - x1, float(run["y"]) - y1)
        self.hex = [code[1:-1] for code in digits]
        self.matrix = f"{PX_TO_PT} 0 0 -{PX_TO_PT} 0 {height_pt:.6f} cm".encode()  # CSS px, y down, as WeasyPrint

    def draw(self, slot: Slot) -> bytes:
        color, font, size, advance, dx, baseline = self.levels[slot.level]
        text = str(slot.number)
        x, y = slot.right - len(text) * advance + dx, slot.top + baseline
        glyphs = b"".join(self.hex[int(digit)] for digit in text)
        return (self.matrix + b"\n" + color + b"\nBT\n" + f"1 0 0 -1 {x:.4f} {y:.4f} Tm\n".encode() + font + b" "
                + size + b" Tf\n[<" + glyphs + b">] TJ\nET")


def _renamed(page, resources: dict[str, tuple[str, str, object]]) -> bytes:
    data = page.get_contents().get_data()
    for old, (_, new, _) in resources.items():
        data = re.sub(re.escape(old.encode()) + rb"(?=[\s/\[<(])", new.encode(), data)
    return data


def _copy_resources(writer: PdfWriter, pages) -> dict[str, tuple[str, str, object]]:
    """Copy the sheet's fonts and graphics states into the writer once: old name -> (category, new, object)."""
    found = {}
    for page in pages:
        for category in CATEGORIES:
            for name, value in page["/Resources"].get(category, DictionaryObject()).items():
                if name not in found:
                    copy = value.clone(writer)
                    ref = copy if isinstance(copy, IndirectObject) else writer._add_object(copy)
                    found[name] = (category, f"/Rk{name[1:]}", ref)
    return found


def _add_resources(page, resources: dict[str, tuple[str, str, object]]) -> None:
    own = page["/Resources"]
    for category, new, ref in resources.values():
        if category not in own:
            own[NameObject(category)] = DictionaryObject()
        own[category][NameObject(new)] = ref


def _stream(data: bytes) -> DecodedStreamObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return stream
