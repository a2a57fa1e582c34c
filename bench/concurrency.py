"""Concurrent writers on one case: 2 server processes on the embedded SQLite, 1 to 16 clients at once.

Each client, in a loop, creates an entry through the API, downloads the case's screenshot (a custody event)
and adds a note. Prints requests per second, server errors (must be 0) and whether `verify` passes (the
chain must not fork), for each number of clients, and the throughput ratio against one client.
Run: .venv/bin/python bench/concurrency.py
"""

import io
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import fresh_instance, user_and_case
from PIL import Image

from reportkit.extensions import db
from reportkit.models import ApiToken
from reportkit.services.custody import verify_case
from reportkit.services.entries import create_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 15  # per client


def call(port: int, method: str, path: str, token: str, body: dict | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def main() -> None:
    app, tmp = fresh_instance("rk-bench-concurrency-")
    user, case = user_and_case()
    entry = create_entry(user, case, "https://x.com/leader_en/status/1453347171011694596")
    png = io.BytesIO()
    Image.new("RGB", (800, 500), (200, 30, 30)).save(png, "PNG")
    png.seek(0)
    ev = add_evidence_file(user, entry, png, "s.png", EvidenceStore(app.config["EVIDENCE_DIR"]),
                           Limits.from_config(app.config))
    token, secret = ApiToken.issue(user, "bench")
    db.session.add(token)
    db.session.commit()
    case_id, entry_id, ev_id = case.id, entry.id, ev.id
    db.session.remove()
    db.engine.dispose()
    config = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "EVIDENCE_DIR", "SECRET_KEY", "INSTANCE_PATH")}
    config.update(RATELIMIT_ENABLED=False, DOSSIER_WORKERS=0)
    procs = [subprocess.Popen([sys.executable, "-m", "tests.serve", json.dumps(config)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for _ in range(2)]
    ports = [int(p.stdout.readline()) for p in procs]
    serial = None
    try:
        for clients in (1, 4, 16):
            def client(n: int, clients=clients) -> list[int]:
                port, out = ports[n % 2], []
                for r in range(ROUNDS):
                    post = 1_600_000_000_000_000_000 + clients * 100_000 + n * 1000 + r
                    out.append(call(port, "POST", f"/api/v1/cases/{case_id}/entries", secret,
                                    {"url": f"https://x.com/leader_en/status/{post}"}))
                    out.append(call(port, "GET", f"/api/v1/evidence/{ev_id}/original", secret))
                    out.append(call(port, "POST", f"/api/v1/entries/{entry_id}/annotations", secret,
                                    {"body": f"note {n}.{r}"}))
                return out

            started = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                codes = [c for batch in pool.map(client, range(clients)) for c in batch]
            seconds = time.perf_counter() - started
            rate = len(codes) / seconds
            serial = serial or rate
            errors = sum(1 for c in codes if c >= 500)
            print(f"{clients:>2} clients: {len(codes)} requests in {seconds:.2f} s, {rate:.0f} requests/s "
                  f"({rate / serial:.2f}x one client), server errors: {errors}")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
            p.stdout.close()
    with app.app_context():
        report = verify_case(case_id, EvidenceStore(config["EVIDENCE_DIR"]))
        print(f"verify: {'OK' if report.ok else report.problems[:3]} ({report.events_checked} events)")


if __name__ == "__main__":
    main()
