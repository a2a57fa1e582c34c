"""Regenerate the README's pictures from the demo case: five pages in headless Chromium and two dossier
pages turned into PNG by pdftoppm. Everything runs in a temporary instance; nothing touches instance/.

Run: .venv/bin/python scripts/readme_screenshots.py
"""

import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from reportkit import create_app
from reportkit.extensions import db
from reportkit.services.demo import load_demo
from reportkit.services.dossier.job import DossierOptions, build_dossier, create_dossier
from reportkit.services.evidence import Limits
from reportkit.services.policies import seed_policies
from reportkit.services.storage import EvidenceStore

DOCS = Path(__file__).resolve().parent.parent / "docs"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="rk-readme-"))
    app = create_app({"SECRET_KEY": "readme", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'r.db'}",
                      "EVIDENCE_DIR": str(tmp / "evidence"), "DOSSIER_WORKERS": 0, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        seed_policies()
        demo = load_demo(app.config["EVIDENCE_DIR"], Limits.from_config(app.config))
        case, passwords = demo["case"], demo["passwords"]
        first_fa = next(e for e in sorted(case_entries(case), key=lambda e: e.number) if e.language == "fa")
        case_id, entry_id = case.id, first_fa.id
        dossier = build_dossier(create_dossier(None, case, DossierOptions(approved_only=True)),
                                app.config["EVIDENCE_DIR"], workers=0)
        pdf = tmp / "demo.pdf"
        shutil.copy(EvidenceStore(app.config["EVIDENCE_DIR"]).path_for(dossier.sha256), pdf)
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    DOCS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                     args=CHROMIUM_ARGS)
        editor = login(browser, base, "demo-editor@example.org", passwords["demo-editor@example.org"])
        editor.goto(f"{base}/cases/")
        editor.screenshot(path=str(DOCS / "step1-cases.png"))
        editor.goto(f"{base}/cases/{case_id}")
        editor.screenshot(path=str(DOCS / "step2-case.png"))
        editor.goto(f"{base}/entries/{entry_id}")
        editor.screenshot(path=str(DOCS / "step3-entry.png"), full_page=True)
        reviewer = login(browser, base, "demo-reviewer@example.org", passwords["demo-reviewer@example.org"])
        reviewer.goto(f"{base}/reviews/")
        reviewer.screenshot(path=str(DOCS / "step4-review-queue.png"))
        editor.goto(f"{base}/dossiers/new/{case_id}")
        editor.screenshot(path=str(DOCS / "step5-dossier.png"), full_page=True)
        browser.close()
    server.shutdown()
    for page, name in ((1, "dossier-cover"), (6, "dossier-entry")):
        subprocess.run(["pdftoppm", "-r", "70", "-png", "-singlefile", "-f", str(page), "-l", str(page), str(pdf),
                        str(DOCS / name)], check=True)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote the README pictures to {DOCS}")


def case_entries(case):
    from sqlalchemy import select

    from reportkit.models import Entry

    return db.session.scalars(select(Entry).where(Entry.case_id == case.id)).all()


def login(browser, base: str, email: str, password: str):
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/cases/")
    return page


if __name__ == "__main__":
    main()
