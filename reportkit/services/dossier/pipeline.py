"""Render a dossier in parts, in parallel worker processes, and merge them into one PDF.

WeasyPrint lays out one document on one core and keeps the memory it used, about 1 MB a page. Entries
start on a new page, so they can be rendered in chunks, in short-lived processes on both cores. What a
chunk cannot know is fixed afterwards: the running header and "page X of Y" are stamped from a light
overlay document in the same font; the contents are rendered last with the real page numbers; the
contents' links and the bookmarks are added to the merged file with pypdf.
"""

import io
import multiprocessing
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.annotations import Link
from pypdf.generic import Fit

from . import render

PX_TO_PT = 0.75
Progress = Callable[[str, int], None]


@dataclass
class Rendered:
    pages: int
    starts: dict[str, int]  # anchor -> 0-based page index in the final PDF


def chunk_size(n_entries: int, workers: int) -> int:
    """At most 100 entries (about 110 pages, under 200 MB a process); at least two chunks per worker."""
    return max(5, min(100, -(-n_entries // max(2, 2 * workers))))


def render_chunk(d: dict, entries: list[dict], out: str) -> tuple[int, dict[str, int]]:
    """Worker: lay out and write one chunk of entries; return its page count and where each entry starts."""
    doc = render.layout(render.entries_html(d, entries), d["evidence_dir"])
    starts = _anchors(doc, prefix="entry-")
    doc.write_pdf(out)
    return len(doc.pages), starts


def render_dossier(d: dict, out_path: Path, workers: int = 2, progress: Progress | None = None,
                   timeout: float = 1800) -> Rendered:
    progress = progress or (lambda stage, pct: None)
    entries = d["entries"]
    size = chunk_size(len(entries), workers)
    chunks = [entries[i:i + size] for i in range(0, len(entries), size)]
    with tempfile.TemporaryDirectory(prefix="rk-dossier-") as tmp:
        paths = [str(Path(tmp) / f"chunk-{i:04d}.pdf") for i in range(len(chunks))]
        results = _render_chunks(d, chunks, paths, workers, progress, timeout)
        progress("laying out the summary and appendices", 82)
        back = render.layout(render.back_html(d), d["evidence_dir"])
        back_pdf = back.write_pdf()
        first = render.layout(render.front_html(d, {}), d["evidence_dir"])
        front_pages, front_anchors = len(first.pages), _anchors(first)
        for _ in range(3):  # page numbers do not change the contents' length; check, in case they do
            starts = {**front_anchors, **_final_starts(front_pages, results, back)}
            front = render.layout(render.front_html(d, {k: v + 1 for k, v in starts.items()}), d["evidence_dir"])
            if len(front.pages) == front_pages:
                break
            front_pages, front_anchors = len(front.pages), _anchors(front)
        progress("merging the parts", 90)
        writer = PdfWriter()
        for part in [io.BytesIO(front.write_pdf()), *paths, io.BytesIO(back_pdf)]:
            writer.append(part, import_outline=False)
        total = len(writer.pages)
        _stamp_running_heads(writer, d, total)
        _link_contents(writer, front, starts)
        _outline(writer, d, starts)
        _metadata(writer, d)
        progress("writing the PDF", 97)
        with open(out_path, "wb") as fh:
            writer.write(fh)
    return Rendered(total, starts)


def render_naive(d: dict, out_path: Path) -> int:
    """The baseline the benchmark compares with: one WeasyPrint pass over the whole document."""
    doc = render.layout(render.single_html(d), d["evidence_dir"])
    doc.write_pdf(out_path)
    return len(doc.pages)


def _render_chunks(d, chunks, paths, workers, progress, timeout) -> list[tuple[int, dict]]:
    results: list = [None] * len(chunks)
    shared = {k: v for k, v in d.items() if k not in ("entries", "manifest", "findings", "chart_svg")}
    if workers <= 0:  # in this process, one chunk after another
        for i, chunk in enumerate(chunks):
            results[i] = render_chunk(shared, chunk, paths[i])
            progress(f"rendered entries: chunk {i + 1} of {len(chunks)}", 5 + 75 * (i + 1) // len(chunks))
        return results
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["weasyprint", "reportkit.services.dossier.pipeline"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, max_tasks_per_child=1) as pool:
        futures = {pool.submit(render_chunk, shared, chunk, paths[i]): i for i, chunk in enumerate(chunks)}
        try:
            for done, future in enumerate(as_completed(futures, timeout=timeout), start=1):
                results[futures[future]] = future.result()
                progress(f"rendered entries: chunk {done} of {len(chunks)}", 5 + 75 * done // len(chunks))
        except BaseException:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()  # a time-out or a failure: do not leave renderers running
            raise
    return results


def _final_starts(front_pages: int, results, back) -> dict[str, int]:
    starts, offset = {}, front_pages
    for pages, chunk_starts in results:
        starts.update({k: offset + v for k, v in chunk_starts.items()})
        offset += pages
    starts.update({k: offset + v for k, v in _anchors(back).items()})
    return starts


def _anchors(doc, prefix: str = "") -> dict[str, int]:
    found = {}
    for index, page in enumerate(doc.pages):
        for name in page.anchors:
            if name.startswith(prefix) and name not in found:
                found[name] = index
    return found


def _stamp_running_heads(writer: PdfWriter, d: dict, total: int) -> None:
    overlay = PdfReader(io.BytesIO(render.layout(render.overlay_html(d, total), d["evidence_dir"]).write_pdf()))
    for page, stamp in zip(writer.pages, overlay.pages):
        page.merge_page(stamp, over=True)
        page.compress_content_streams()  # merging leaves the page's content uncompressed


def _link_contents(writer: PdfWriter, front, starts: dict[str, int]) -> None:
    """Contents rows point at parts that were not in the same layout: add their links by hand."""
    own = set(_anchors(front))
    for index, page in enumerate(front.pages):
        height_pt = page.height * PX_TO_PT
        boxes: dict[str, list[float]] = {}  # one link per row: the union of the row's boxes
        for link_type, target, (x, y, w, h), _ in page.links:
            if link_type == "internal" and target in starts and target not in own:
                box = boxes.setdefault(target, [x, y, x + w, y + h])
                box[:] = [min(box[0], x), min(box[1], y), max(box[2], x + w), max(box[3], y + h)]
        for target, (x1, y1, x2, y2) in boxes.items():
            rect = (x1 * PX_TO_PT, height_pt - y2 * PX_TO_PT, x2 * PX_TO_PT, height_pt - y1 * PX_TO_PT)
            writer.add_annotation(index, Link(rect=rect, target_page_index=starts[target], fit=Fit.fit()))


def _outline(writer: PdfWriter, d: dict, starts: dict[str, int]) -> None:
    def add(title, anchor, parent=None):
        if anchor in starts:
            return writer.add_outline_item(title=title, page_number=starts[anchor], parent=parent)
        return None

    add("Cover", "cover")
    add("Contents", "contents")
    add("Summary", "summary")
    add("Why the public-interest exception does not apply", "public-interest")
    add("Notice under Article 16 DSA", "dsa-notice")
    if d["entries"]:
        parent = writer.add_outline_item(title="Entries", page_number=starts[f"entry-{d['entries'][0]['number']}"])
        for e in d["entries"]:
            headings = ", ".join(v["heading"] for v in e["violations"]) or "no clause mapped"
            add(f"#{e['number']} · {headings}", f"entry-{e['number']}", parent)
    appendices = writer.add_outline_item(title="Appendices", page_number=starts["appendix-manifest"])
    add("A · Evidence manifest", "appendix-manifest", appendices)
    add("B · Methodology and limitations", "appendix-methodology", appendices)
    add("C · How to verify a file", "appendix-verify", appendices)


def _metadata(writer: PdfWriter, d: dict) -> None:
    case = d["case"]
    author = ", ".join(x for x in (case["prepared_by_name"], case["prepared_by_org"]) if x) or "reportkit"
    keywords = sorted({v["heading"] for e in d["entries"] for v in e["violations"]} | {d["document_id"]})
    writer.add_metadata({
        "/Title": f"{case['title']} — dossier {d['document_id']}",
        "/Author": author,
        "/Subject": ("DSA Article 16 notice" if d["mode"] == "dsa" else "Platform-rules report")
        + f" about {case['subject']}",
        "/Keywords": "; ".join(keywords),
        "/CreationDate": d["generated_iso"],
        "/ModDate": d["generated_iso"],
        "/Creator": "reportkit",
        "/Producer": "reportkit (WeasyPrint, pypdf)",
    })


def default_workers() -> int:
    return min(2, os.cpu_count() or 1)
