"""Dossier rendering benchmark: our chunked, parallel pipeline against one naive WeasyPrint pass.

Builds one synthetic case (1600x1000 PNG screenshot uploads, Persian text and an English translation per
entry), then for each size renders the first N entries both ways, each in a fresh process, and prints
seconds, peak RSS (the largest process), pages, PDF size and the time ratio chunked / naive.

Run: .venv/bin/python bench/dossier.py [--sizes 50,200,800,2000] [--workers 2] [--no-naive]
"""

import argparse
import io
import multiprocessing
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

PERSIAN = ("ما آن‌ها را نابود خواهیم کرد و هیچ‌کس جلودار ما نیست. این پیام برای همهٔ دشمنان است، "
           "«هشدار» آخر ما در سال ۱۴۰۲. https://example.org/statement")
ENGLISH = "We will destroy them and no one can stop us. This message is for all enemies, our last «warning» in 1402."


def screenshot(n: int, rng: random.Random) -> bytes:
    """A post-like screenshot: header, lines of 'text', an image block; about 60-120 KB as PNG."""
    img = Image.new("RGB", (1600, 1000), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.ellipse((60, 50, 160, 150), fill=(30 + n % 200, 90, 160))
    draw.rectangle((190, 70, 560, 95), fill=(40, 40, 40))
    draw.rectangle((190, 110, 420, 130), fill=(150, 150, 150))
    for line in range(9):
        width = rng.randint(700, 1450)
        draw.rectangle((60, 200 + line * 48, 60 + width, 226 + line * 48), fill=(60, 60, 60))
    for y in range(660, 940, 4):  # a photo in the post: a gradient with some texture
        shade = 90 + (y - 660) // 3
        draw.rectangle((60, y, 1540, y + 3), fill=(shade, 120 + n % 60, 200 - (y - 660) // 4))
    for _ in range(600):
        x, y = rng.randint(60, 1530), rng.randint(660, 930)
        draw.rectangle((x, y, x + 6, y + 6), fill=(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
    draw.text((1400, 60), f"#{n}", fill=(0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def build_case(root: Path, count: int):
    from flask_migrate import upgrade

    from reportkit import create_app
    from reportkit.extensions import db
    from reportkit.models import User
    from reportkit.services.cases import create_case
    from reportkit.services.entries import add_violation, create_entry
    from reportkit.services.evidence import Limits, add_evidence_file
    from reportkit.services.policies import seed_policies
    from reportkit.services.storage import EvidenceStore

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'bench.db'}",
                      "EVIDENCE_DIR": str(root / "evidence")})
    rng = random.Random(7)
    with app.app_context():
        upgrade()
        seed_policies()
        user = User(email="bench@example.org", name="Bench")
        user.set_password("bench password")
        db.session.add(user)
        db.session.commit()
        case = create_case(user, "Benchmark case", "A. Leader (fictional)", "Synthetic case for the benchmark.",
                           [{"platform": "x", "handle": "leader_en"}, {"platform": "telegram", "handle": "leader_fa"}])
        store, limits = EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config)
        for n in range(count):
            url = (f"https://x.com/leader_en/status/{1453347171011694596 + n * 4_194_304_000_000}" if n % 2 else
                   f"https://t.me/leader_fa/{n + 1}")
            entry = create_entry(user, case, url, {"text": PERSIAN, "language": "fa", "translation": ENGLISH,
                                                   "translation_method": "human", "translator": "Bench"})
            add_violation(user, entry, "x/violent_content/violent_threats" if n % 2 else  # the post's own platform
                          "telegram/terms_of_service/promote_violence_public", "Threatens to destroy a named group.")
            add_evidence_file(user, entry, io.BytesIO(screenshot(n, rng)), f"post-{n}.png", store, limits)
        return app.config["SQLALCHEMY_DATABASE_URI"], app.config["EVIDENCE_DIR"], case.id


def _snapshot(db_uri: str, evidence_dir: str, case_id: int, size: int) -> dict:
    from reportkit import create_app
    from reportkit.extensions import db
    from reportkit.models import Case
    from reportkit.models._common import utcnow
    from reportkit.services.dossier.data import select_entries, snapshot
    from reportkit.services.dossier.options import DossierOptions

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": db_uri, "EVIDENCE_DIR": evidence_dir})
    with app.app_context():
        case = db.session.get(Case, case_id)
        options = DossierOptions(entry_numbers=list(range(1, size + 1)), approved_only=False)  # never reviewed
        return snapshot(case, select_entries(case, options), options, f"RK-BENCH-{size}", utcnow(), evidence_dir)


def run(kind: str, db_uri: str, evidence_dir: str, case_id: int, size: int, workers: int, out: str, queue):
    """In a fresh process: render, then report seconds, pages and peak RSS of this process and its children."""
    from reportkit.services.dossier.pipeline import render_dossier, render_naive

    data = _snapshot(db_uri, evidence_dir, case_id, size)
    started = time.perf_counter()
    if kind == "naive":
        pages, children = render_naive(data, Path(out)), 0.0
    else:
        result = render_dossier(data, Path(out), workers)
        pages, children = result.pages, result.worker_rss_mb
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"seconds": seconds, "pages": pages, "rss_main": own, "rss_worker": children,
               "size": Path(out).stat().st_size})


def measure(kind, args, tmp, size, workers) -> dict:
    ctx = multiprocessing.get_context("forkserver")
    queue = ctx.Queue()
    out = str(tmp / f"{kind}-{size}.pdf")
    proc = ctx.Process(target=run, args=(kind, *args, size, workers, out, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200,800,2000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-naive", action="store_true", help="skip the single-pass baseline")
    opts = parser.parse_args()
    sizes = [int(s) for s in opts.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="rk-bench-dossier-"))
    try:
        t0 = time.perf_counter()
        args = build_case(tmp, max(sizes))
        print(f"built {max(sizes)} entries with screenshots in {time.perf_counter() - t0:.0f} s")
        print(f"{'entries':>7} {'way':>8} {'seconds':>8} {'pages':>6} {'PDF MB':>7} {'KB/shot':>8} "
              f"{'RSS main':>9} {'RSS worker':>10} {'ratio':>6}")
        for size in sizes:
            ours = measure("chunked", args, tmp, size, opts.workers)
            naive = None if opts.no_naive else measure("naive", args, tmp, size, 0)
            for way, r in (("chunked", ours), ("naive", naive)):
                if r is None:
                    continue
                ratio = f"{ours['seconds'] / naive['seconds']:.2f}" if naive and way == "chunked" else ""
                print(f"{size:>7} {way:>8} {r['seconds']:>8.1f} {r['pages']:>6} {r['size'] / 1e6:>7.1f} "
                      f"{r['size'] / 1024 / size:>8.0f} {r['rss_main']:>7.0f}MB {r['rss_worker']:>8.0f}MB {ratio:>6}",
                      flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
