"""How long a job whose worker was killed (SIGKILL) mid-dossier stays "running" before the sweeper of another
worker reports it failed with the reason (and removes its partial files).

For each round: queue a dossier, start `reportkit worker` with the test-only hold file (the render waits at its
first step), SIGKILL that worker, start a second one, and time from the kill to the row's failure. The bound is
about JOBS_STALLED_AFTER + JOBS_HEARTBEAT (+ the second worker's start-up).

Run: .venv/bin/python bench/worker_death.py [--rounds 3] [--heartbeat 5] [--stalled-after 30]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPORTKIT = [sys.executable, "-c", "from reportkit.cli import main; main()"]


def setup(root: Path):
    from flask_migrate import upgrade

    from reportkit import create_app
    from reportkit.extensions import db
    from reportkit.models import User
    from reportkit.services.cases import create_case
    from reportkit.services.entries import add_violation, create_entry
    from reportkit.services.policies import seed_policies

    app = create_app({"INSTANCE_PATH": str(root / "instance"), "SECRET_KEY": "bench",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{root / 'bench.db'}", "JOBS_IN_PROCESS": False})
    with app.app_context():
        upgrade()
        seed_policies()
        user = User(email="bench@example.org", name="Bench")
        user.set_password("correct horse battery staple")
        db.session.add(user)
        db.session.commit()
        case = create_case(user, "Bench", "A. Leader", "Summary", [{"platform": "x", "handle": "leader_en"}])
        for n in range(5):
            entry = create_entry(user, case, f"https://x.com/leader_en/status/{1453347171011694596 + n * 10**15}",
                                 {"text": f"Post {n}", "language": "en"})
            add_violation(user, entry, "x/violent_content/violent_threats", "Calls for harm.")
        return app, user.id, case.id


def env_for(app, args, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTKIT_")}
    env.update({"REPORTKIT_INSTANCE_PATH": app.instance_path,
                "REPORTKIT_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                "REPORTKIT_DOSSIER_WORKERS": "0", "REPORTKIT_JOBS_HEARTBEAT": str(args.heartbeat),
                "REPORTKIT_JOBS_STALLED_AFTER": str(args.stalled_after)})
    env.update({f"REPORTKIT_{k}": str(v) for k, v in extra.items()})
    return env


def one_round(app, user_id: int, case_id: int, args, root: Path) -> float:
    from reportkit.extensions import db
    from reportkit.models import Case, Dossier, User
    from reportkit.services import jobs
    from reportkit.services.dossier.job import DossierOptions, create_dossier

    hold = root / "hold"
    hold.write_text("wait")
    Path(f"{hold}.reached").unlink(missing_ok=True)
    with app.app_context():
        dossier = create_dossier(db.session.get(User, user_id), db.session.get(Case, case_id),
                                 DossierOptions(approved_only=False))
        dossier_id = dossier.id
        jobs.start_dossier(app, dossier_id)
    log = (root / "worker.log").open("ab", buffering=0)
    first = subprocess.Popen([*REPORTKIT, "worker"], env=env_for(app, args, JOBS_HOLD_FILE=hold), stdout=log,
                             stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not Path(f"{hold}.reached").exists():
        if first.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the first worker never reached the render: see {root / 'worker.log'}")
        time.sleep(0.02)
    # The other worker is already running when the first dies (as on an install with several): the time
    # measured is the detection, not a worker's start-up.
    banners = (root / "worker.log").read_text().count("worker(s) on")
    second = subprocess.Popen([*REPORTKIT, "worker"], env=env_for(app, args), stdout=log, stderr=subprocess.STDOUT)
    while (root / "worker.log").read_text().count("worker(s) on") == banners:
        if second.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the second worker did not start: see {root / 'worker.log'}")
        time.sleep(0.05)
    time.sleep(args.heartbeat)  # its first heartbeat (and sweep) has passed
    first.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    first.wait()
    hold.unlink()
    try:
        with app.app_context():
            while True:
                status = db.session.scalar(db.select(Dossier.status).where(Dossier.id == dossier_id))
                if status != "running":
                    break
                if time.monotonic() - killed > args.stalled_after * 4 + 60:
                    raise SystemExit("the job was never reported")
                db.session.rollback()
                time.sleep(0.05)
            elapsed = time.monotonic() - killed
            error = db.session.scalar(db.select(Dossier.error).where(Dossier.id == dossier_id))
    finally:
        second.send_signal(signal.SIGINT)
        second.wait()
        log.close()
    print(f"  kill -> {status} in {elapsed:5.1f} s: {error[:90]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--heartbeat", type=float, default=5, help="JOBS_HEARTBEAT, seconds (default: the default)")
    parser.add_argument("--stalled-after", type=float, default=30, help="JOBS_STALLED_AFTER, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rk-bench-") as tmp:
        root = Path(tmp)
        app, user_id, case_id = setup(root)
        print(f"worker death: heartbeat {args.heartbeat} s, lost after {args.stalled_after} s, {args.rounds} round(s)")
        times = [one_round(app, user_id, case_id, args, root) for _ in range(args.rounds)]
        print(f"kill -> failed with its reason: median {statistics.median(times):.1f} s, max {max(times):.1f} s "
              f"(before: about {1800 + 120} s, DOSSIER_TIMEOUT + 2 minutes)")


if __name__ == "__main__":
    main()
