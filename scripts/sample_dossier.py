"""Render a sample dossier from a small fictional case and turn two pages into PNG for the README.

Run: .venv/bin/python scripts/sample_dossier.py   (needs pdftoppm from poppler-utils)
"""

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from flask_migrate import upgrade
from PIL import Image, ImageDraw, ImageFont

from reportkit import create_app
from reportkit.extensions import db
from reportkit.models import User
from reportkit.models._common import utcnow
from reportkit.services.cases import create_case
from reportkit.services.dossier import DossierOptions, build_dossier, create_dossier
from reportkit.services.entries import add_violation, create_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.policies import seed_policies
from reportkit.services.storage import EvidenceStore

DOCS = Path(__file__).resolve().parent.parent / "docs"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
POSTS = [  # fictional official, fictional posts
    ("https://x.com/minister_example/status/1712345678901234567", "fa",
     "ما دشمنان را در خانه‌هایشان پیدا خواهیم کرد و نابودشان می‌کنیم.",
     "We will find the enemies in their homes and destroy them.", "x/violent_content/violent_threats"),
    ("https://x.com/minister_example/status/1725555555555555555", "ar", "سنسحق هؤلاء الصحفيين الخونة واحدًا تلو الآخر.",
     "We will crush these traitor journalists one by one.", "x/violent_content/incitement_of_violence"),
    ("https://x.com/minister_example/status/1731234567890123456", "en",
     "These people are vermin and must be cleaned out of our cities.", "",
     "x/hateful_conduct/dehumanization"),
]


def screenshot(text: str, handle: str) -> bytes:
    img = Image.new("RGB", (1600, 700), "white")
    draw = ImageDraw.Draw(img)
    draw.ellipse((50, 40, 150, 140), fill=(40, 90, 160))
    draw.text((180, 55), f"Minister Example  @{handle}", fill=(20, 20, 20), font=ImageFont.truetype(FONT, 34))
    draw.text((60, 200), "[post text as captured — see the original text below]", fill=(60, 60, 60),
              font=ImageFont.truetype(FONT, 40))
    draw.rectangle((60, 300, 1540, 640), fill=(225, 232, 240))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="rk-sample-"))
    app = create_app({"SECRET_KEY": "sample", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 's.db'}",
                      "EVIDENCE_DIR": str(tmp / "evidence"), "DOSSIER_WORKERS": 0})
    with app.app_context():
        upgrade()
        seed_policies()
        user = User(email="sample@example.org", name="Sample Editor")
        user.set_password("sample password")
        db.session.add(user)
        db.session.commit()
        case = create_case(user, "Threats against journalists by Minister Example", "Minister Example (fictional)",
                           "A **fictional** case that shows what a reportkit dossier looks like.",
                           [{"platform": "x", "handle": "minister_example"},
                            {"platform": "telegram", "handle": "minister_example_fa"}])
        case.prepared_by_name, case.prepared_by_org = "Sample Editor", "Example Watch (fictional)"
        case.prepared_by_email = "editor@example.org"
        store, limits = EvidenceStore(app.config["EVIDENCE_DIR"]), Limits.from_config(app.config)
        for url, lang, text, translation, clause in POSTS:
            entry = create_entry(user, case, url, {"text": text, "language": lang, "translation": translation,
                                                   "translation_method": "human" if translation else "",
                                                   "translator": "Sample Editor" if translation else "",
                                                   "captured_by": "Sample Editor", "captured_at": utcnow(),
                                                   "network_route": "VPN (label)",
                                                   "capture_method": "manual_screenshot"})
            add_violation(user, entry, clause, "The post calls for harm against identifiable people.")
            add_evidence_file(user, entry, io.BytesIO(screenshot(text, entry.handle or "channel")), "capture.png",
                              store, limits)
        dossier = build_dossier(create_dossier(user, case, DossierOptions()), app.config["EVIDENCE_DIR"], workers=0)
        pdf = tmp / "sample.pdf"
        shutil.copy(store.path_for(dossier.sha256), pdf)
    DOCS.mkdir(exist_ok=True)
    for page, name in ((1, "dossier-cover"), (5, "dossier-entry")):
        subprocess.run(["pdftoppm", "-r", "70", "-png", "-singlefile", "-f", str(page), "-l", str(page), str(pdf),
                        str(DOCS / name)], check=True)
    print(f"wrote {DOCS}/dossier-cover.png and dossier-entry.png from a {dossier.pages}-page dossier")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
