"""Render a dossier in parts, in parallel worker processes, and merge them into one PDF.

WeasyPrint lays out one document on one core and keeps the memory it used, about 1 MB a page. Entries
start on a new page, so they can be rendered in chunks, in short-lived processes on both cores. The
front matter and the appendices are parts of their own, rendered in workers too. What a part cannot know
is added afterwards: the contents' page numbers, the running header and "page X of Y" are printed from a
small sheet in the same fonts (page_numbers.py); the contents' links and the bookmarks are added to the merged
file with pypdf. The parent process only merges.

Renderers never outlive their job: a failure or a time-out kills them (and any started to replace one that
finished), and each watches the process that started it and exits when that one is gone (a kill -9, a
restart of the server)."""

import multiprocessing
import os
import resource
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PdfWriter
from pypdf.annotations import Link
from pypdf.generic import Fit

from ..storage import private_temp_dir
from . import page_numbers, render, sections

PX_TO_PT = 0.75
Progress = Callable[[str, int], None]


@dataclass
class Rendered:
    pages: int
    starts: dict[str, int]  # anchor -> 0-based page index in the final PDF
    worker_rss_mb: float = 0.0  # the largest peak memory of a worker


@dataclass
class Part:
    """What a worker reports about the part it rendered."""

    pages: int
    anchors: dict[str, int]  # anchor -> 0-based page index within the part
    links: list[tuple[int, str, tuple[float, float, float, float]]]  # (page, target, PDF rectangle)
    rss_mb: float
    boxes: dict[str, tuple[int, tuple]] = field(default_factory=dict)  # id -> (page, box): slots and samples


def chunk_size(n_entries: int, workers: int) -> int:
    """At most 100 entries (about 110 pages, under 200 MB a process); at least two chunks per worker."""
    return max(5, min(100, -(-n_entries // max(2, 2 * workers))))


def render_part(kind: str, d: dict, out: str, entries=None, total: int = 0) -> Part:
    """Worker: lay out one part and write it to `out`."""
    html = {"front": lambda: render.front_html(d), "entries": lambda: render.entries_html(d, entries),
            "back": lambda: render.back_html(d), "numbers": lambda: page_numbers.sheet_html(d, total)}[kind]()
    doc = render.layout(html, d["store"])
    doc.write_pdf(out)
    return Part(len(doc.pages), _anchors(doc), _internal_links(doc) if kind == "front" else [],
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, _boxes(doc))


def render_dossier(d: dict, out_path: Path, workers: int = 2, progress: Progress | None = None,
                   timeout: float = 1800) -> Rendered:
    """The parts are written in a private folder next to `out_path` (export.py puts that in `<instance>/tmp`)."""
    progress = progress or (lambda stage, pct: None)
    entries = d["entries"]
    size = chunk_size(len(entries), workers)
    chunks = [entries[i:i + size] for i in range(0, len(entries), size)]
    shared = {k: v for k, v in d.items() if k not in ("entries", "manifest", "findings", "chart_svg", "attachment")}
    with private_temp_dir(out_path.parent, "parts-") as tmp, _Runner(workers, timeout) as run:
        paths = [str(Path(tmp) / f"chunk-{i:04d}.pdf") for i in range(len(chunks))]
        front_path, back_path, sheet_path = (str(Path(tmp) / name) for name in ("front.pdf", "back.pdf", "numbers.pdf"))
        tasks = [("front", d, front_path), ("back", d, back_path)] + [
            ("entries", shared, paths[i], chunk) for i, chunk in enumerate(chunks)]
        parts = run(tasks, lambda done: progress(f"rendered parts: {done} of {len(tasks)}",
                                                 5 + 75 * done // len(tasks)))
        front, back, chunk_parts = parts[0], parts[1], parts[2:]
        starts = {**front.anchors, **_final_starts(front.pages, chunk_parts, back)}
        total = front.pages + sum(p.pages for p in chunk_parts) + back.pages
        progress("numbering the pages", 82)
        pending = run.submit([("numbers", shared, sheet_path, None, total)])
        progress("merging the parts", 86)  # while a worker lays out the small sheet the numbers come from
        writer = PdfWriter()
        for part in [front_path, *paths, back_path]:
            writer.append(part, import_outline=False)
        sheet = run.collect(pending)[0]
        page_numbers.apply(writer, sheet_path, total, {k: box for k, (_, box) in sheet.boxes.items()},
                     _contents_slots(front, starts))
        _link_contents(writer, front, starts)
        _outline(writer, d, starts)
        _metadata(writer, d)
        if d.get("attachment"):
            writer.add_attachment(d["attachment"]["name"], d["attachment"]["data"])
        progress("writing the PDF", 97)
        with open(out_path, "wb") as fh:
            writer.write(fh)
    return Rendered(len(writer.pages), starts, max(p.rss_mb for p in [*parts, sheet]))


def render_naive(d: dict, out_path: Path) -> int:
    """The baseline the benchmark compares with: one WeasyPrint pass over the whole document."""
    doc = render.layout(render.single_html(d), d["store"])
    doc.write_pdf(out_path)
    return len(doc.pages)


class _Runner:
    """Runs render_part tasks (`work`) in short-lived worker processes (or in this process when workers is 0)."""

    def __init__(self, workers: int, timeout: float, work: Callable = render_part):
        self.workers, self.timeout, self.work, self.pool = workers, timeout, work, None

    def __enter__(self):
        if self.workers > 0:
            ctx = multiprocessing.get_context("forkserver")
            # "__main__" too: otherwise every worker runs the main script again (for `reportkit`, the CLI
            # and the whole app) before it can start on its part.
            ctx.set_forkserver_preload(["__main__", "weasyprint", "reportkit.services.dossier.pipeline"])
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, max_tasks_per_child=1,
                                            initializer=_exit_with, initargs=(os.getpid(),))
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.pool is not None:
            if exc_type is None:
                self.pool.shutdown(wait=True)
            else:
                self._stop()  # a time-out or a failure: do not leave renderers running
        return False

    def _stop(self) -> None:
        """Kill every worker, including one the pool started to replace a worker that finished a part, and
        wait until they are gone."""
        pool = self.pool
        manager, processes = pool._executor_manager_thread, pool._processes or {}  # the dict the manager fills
        pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + 30
        while True:
            alive = [proc for proc in list(processes.values()) if proc.is_alive()]
            for proc in alive:
                proc.kill()
            for proc in alive:
                proc.join(timeout=5)
            if manager is not None:
                manager.join(timeout=0.2)  # it stops once it sees the pool broken or empty
            if ((manager is None or not manager.is_alive()) and not alive) or time.monotonic() > deadline:
                return

    def submit(self, tasks) -> list:
        """Start tasks without waiting (in this process they run when collected)."""
        if self.pool is None:
            return list(tasks)
        return [self.pool.submit(self.work, *task) for task in tasks]

    def collect(self, pending) -> list[Part]:
        if self.pool is None:
            return [self.work(*task) for task in pending]
        return [future.result(timeout=self.timeout) for future in pending]

    def __call__(self, tasks, on_done=None) -> list[Part]:
        results: list = [None] * len(tasks)
        if self.pool is None:
            for i, task in enumerate(tasks):
                results[i] = self.work(*task)
                if on_done:
                    on_done(i + 1)
            return results
        futures = {self.pool.submit(self.work, *task): i for i, task in enumerate(tasks)}
        for done, future in enumerate(as_completed(futures, timeout=self.timeout), start=1):
            results[futures[future]] = future.result()
            if on_done:
                on_done(done)
        return results


def _exit_with(job_pid: int) -> None:
    """Worker initializer: exit as soon as the process that runs the job is gone. A worker's parent is the
    forkserver, which exits when that process dies; either sign is enough (a dead job process may linger as
    a zombie, which `kill 0` still finds)."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(job_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="reportkit-exit-with-job", daemon=True).start()


def _final_starts(front_pages: int, chunk_parts: list[Part], back: Part) -> dict[str, int]:
    starts, offset = {}, front_pages
    for part in chunk_parts:
        starts.update({k: offset + v for k, v in part.anchors.items()})
        offset += part.pages
    starts.update({k: offset + v for k, v in back.anchors.items()})
    return starts


def _anchors(doc) -> dict[str, int]:
    found = {}
    for index, page in enumerate(doc.pages):
        for name in page.anchors:
            found.setdefault(name, index)
    return found


def _boxes(doc) -> dict[str, tuple[int, tuple]]:
    """Where the contents' number slots (front) or the digit samples (page-number sheet) are: id -> (page, box)."""
    return {name: (index, box) for index, page in enumerate(doc.pages) for name, box in page.anchors.items()
            if name.startswith(("slot", "sample"))}


def _contents_slots(front: Part, starts: dict[str, int]) -> list[page_numbers.Slot]:
    slots = []
    for name, (page, (_, top, right, _)) in front.boxes.items():
        level, anchor = name.removeprefix("slot").split("-", 1)
        if anchor in starts:
            slots.append(page_numbers.Slot(page, int(level), right, top, starts[anchor] + 1))
    return slots


def _internal_links(doc) -> list[tuple[int, str, tuple[float, float, float, float]]]:
    """Links to anchors outside this part, one rectangle per row (the union of its boxes), in PDF points."""
    own, links = set(_anchors(doc)), []
    for index, page in enumerate(doc.pages):
        height_pt, boxes = page.height * PX_TO_PT, {}
        for link_type, target, (x, y, w, h), _ in page.links:
            if link_type == "internal" and target not in own:
                box = boxes.setdefault(target, [x, y, x + w, y + h])
                box[:] = [min(box[0], x), min(box[1], y), max(box[2], x + w), max(box[3], y + h)]
        for target, (x1, y1, x2, y2) in boxes.items():
            links.append((index, target, (x1 * PX_TO_PT, height_pt - y2 * PX_TO_PT, x2 * PX_TO_PT,
                                          height_pt - y1 * PX_TO_PT)))
    return links


def _link_contents(writer: PdfWriter, front: Part, starts: dict[str, int]) -> None:
    for index, target, rect in front.links:
        if target in starts:
            writer.add_annotation(index, Link(rect=rect, target_page_index=starts[target], fit=Fit.fit()))


def _outline(writer: PdfWriter, d: dict, starts: dict[str, int]) -> None:
    """The bookmarks: the sections of sections.py, and each entry under "Entries"."""
    def add(title, anchor, parent=None):
        if anchor in starts:
            return writer.add_outline_item(title=title, page_number=starts[anchor], parent=parent)
        return None

    groups: dict[str, object] = {}
    for section in sections.shown(d):
        if section.part == "entries":
            if d["entries"]:
                parent = add(section.title, f"entry-{d['entries'][0]['number']}")
                for e in d["entries"]:
                    headings = ", ".join(v["heading"] for v in e["violations"]) or "no clause mapped"
                    add(f"#{e['number']} · {headings}", f"entry-{e['number']}", parent)
            continue
        if section.group and section.group not in groups:
            groups[section.group] = add(section.group, section.anchor)
        add(section.bookmark or section.title, section.anchor, groups.get(section.group))


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
