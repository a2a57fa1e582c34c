"""Requests per second and p95 for the case page and for entry creation, by server, measured in one run:
gunicorn with 1 and with 4 web workers on PostgreSQL, and Flask's development server (what `make dev` runs) on
the same database.

One throwaway PostgreSQL (tests/postgres.py), one case with ENTRIES entries for the page; CLIENTS clients at
once for SECONDS per measure: the case page as a signed-in browser, entry creation through the API (each
client its own token, the clients spread over four cases: writers to one case take turns on its lock).
Run: .venv/bin/python bench/server.py [--clients 8] [--seconds 10] [--entries 200]
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "correct horse battery staple"


def setup(root: Path, database: str, entries: int, clients: int) -> tuple[list[int], list[str]]:
    from flask_migrate import upgrade

    from reportkit import create_app
    from reportkit.extensions import db
    from reportkit.models import ApiToken, User
    from reportkit.services.cases import create_case
    from reportkit.services.entries import create_entry
    from reportkit.services.policies import seed_policies

    app = create_app({"INSTANCE_PATH": str(root / "instance"), "SECRET_KEY": "bench", "DATABASE_URL": database,
                      "EVIDENCE_DIR": str(root / "evidence")})
    with app.app_context():
        upgrade()
        seed_policies()
        user = User(email="bench@example.org", name="Bench")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        cases = [create_case(user, f"Bench {n}", "A. Leader", "", [{"platform": "x", "handle": "leader_en"}])
                 for n in range(4)]
        for n in range(entries):
            create_entry(user, cases[0], f"https://x.com/leader_en/status/{1_500_000_000_000_000_000 + n}",
                         {"text": f"post {n}"})
        secrets = []
        for n in range(clients):
            token, secret = ApiToken.issue(user, f"bench {n}")
            db.session.add(token)
            secrets.append(secret)
        db.session.commit()
        ids = [c.id for c in cases]
        db.session.remove()
        db.engine.dispose()
    return ids, secrets


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(kind: str, env: dict, port: int, log: Path) -> subprocess.Popen:
    if kind == "dev":
        args = [sys.executable, "-c", "from reportkit.cli import main; main()", "run", "--port", str(port),
                "--with-threads", "--no-reload", "--no-debugger"]
    else:
        args = [sys.executable, "-m", "gunicorn", "--workers", kind, "--worker-class", "gthread", "--threads", "4",
                "--bind", f"127.0.0.1:{port}", "--no-control-socket", "--error-logfile", "-",
                "reportkit:create_app()"]
    with log.open("ab") as out:
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok:
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{kind} did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)


def measure(clients: int, seconds: float, make_session, request) -> tuple[float, float, int]:
    """Requests/s, p95 in ms, and server errors, for `clients` threads sending `request(session, n, i)`."""
    times: list[float] = []
    errors = [0]
    stop = threading.Event()

    failures: list[BaseException] = []

    sessions = [make_session(n) for n in range(clients)]  # signed in before the clock starts
    for n, session in enumerate(sessions):  # warm up every web worker (imports, templates) before measuring
        for i in range(4):
            request(session, n, -1 - i)

    def client(n: int) -> None:
        try:
            run(n)
        except BaseException as exc:  # noqa: BLE001 - said after the threads end
            failures.append(exc)

    def run(n: int) -> None:
        session, i = sessions[n], 0
        while not stop.is_set():
            t = time.perf_counter()
            resp = request(session, n, i)
            times.append(time.perf_counter() - t)
            if resp.status_code >= 400:
                errors[0] += 1
            i += 1
        session.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures or not times:
        raise SystemExit(f"a client failed: {failures[0]!r}" if failures else "no request finished in time")
    times.sort()
    return len(times) / elapsed, 1000 * times[int(0.95 * (len(times) - 1))], errors[0]


def measure_server(base: str, case_ids: list[int], secrets: list[str], args, post) -> tuple[tuple, tuple]:
    def browser(_n: int) -> requests.Session:
        session = requests.Session()
        resp = session.post(f"{base}/auth/login", data={"email": "bench@example.org", "password": PASSWORD},
                            timeout=60)
        assert resp.ok and resp.url.endswith("/cases/"), resp.url
        return session

    def api(n: int) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {secrets[n]}"
        return session

    page = measure(args.clients, args.seconds, browser,
                   lambda s, n, i: s.get(f"{base}/cases/{case_ids[0]}", timeout=60))
    create = measure(args.clients, args.seconds, api, lambda s, n, i: s.post(
        f"{base}/api/v1/cases/{case_ids[n % 4]}/entries",
        json={"url": f"https://x.com/leader_en/status/{next(post)}"}, timeout=60))
    return page, create


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--entries", type=int, default=200)
    args = parser.parse_args()

    from tests.postgres import Server

    root = Path(tempfile.mkdtemp(prefix="rk-bench-server-"))
    pg = Server().start()
    try:
        database = pg.create_database("rk_bench_server")
        case_ids, secrets = setup(root, database, args.entries, args.clients)
        env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTKIT_")}
        env.update({"REPORTKIT_INSTANCE_PATH": str(root / "instance"), "REPORTKIT_DATABASE_URL": database,
                    "REPORTKIT_EVIDENCE_DIR": str(root / "evidence"), "REPORTKIT_SECRET_KEY": "bench",
                    "REPORTKIT_WTF_CSRF_ENABLED": "false", "REPORTKIT_RATELIMIT_ENABLED": "false",
                    "REPORTKIT_JOBS_IN_PROCESS": "false", "REPORTKIT_LOG_LEVEL": "WARNING"})
        print(f"{args.clients} clients, {args.seconds:g} s per measure, case page with {args.entries} entries "
              f"(first page of {min(args.entries, 50)}), all on one throwaway PostgreSQL on this machine")
        print(f"{'server':<24} {'case page req/s':>16} {'p95 ms':>8} {'create entry req/s':>19} {'p95 ms':>8} errors")
        post = iter(range(1_600_000_000_000_000_000, 1_700_000_000_000_000_000))
        for kind, label in (("1", "gunicorn, 1 worker"), ("4", "gunicorn, 4 workers"), ("dev", "development server")):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            proc = start(kind, env, port, root / f"server-{kind}.log")
            try:
                page, create = measure_server(base, case_ids, secrets, args, post)
                print(f"{label:<24} {page[0]:>16.1f} {page[1]:>8.0f} {create[0]:>19.1f} {create[1]:>8.0f} "
                      f"{page[2] + create[2]}", flush=True)
            finally:
                proc.terminate()
                proc.wait(timeout=60)
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
