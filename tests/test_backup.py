"""Backup and restore: a round trip loses nothing; a damaged backup restores nothing."""

import io
import zipfile

from sqlalchemy import func, select

from reportkit import create_app
from reportkit.extensions import db
from reportkit.models import Entry, Event, Evidence
from reportkit.services.custody import verify_case
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes


def counts() -> tuple:
    return tuple(db.session.scalar(select(func.count(m.id))) for m in (Entry, Evidence, Event))


def test_round_trip(app, runner, make_user, make_case, make_entry, tmp_path):
    user = make_user()
    case = make_case(user)
    entry = make_entry(case, user, text="متن")
    add_evidence_file(user, entry, io.BytesIO(png_bytes()), "s.png", EvidenceStore(app.config["EVIDENCE_DIR"]),
                      Limits.from_config(app.config))
    before, case_id = counts(), case.id
    out = tmp_path / "backup.zip"
    result = runner.invoke(args=["backup", str(out)])
    assert result.exit_code == 0, result.output

    other = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'restored.db'}",
                        "EVIDENCE_DIR": str(tmp_path / "restored-evidence")})
    with other.app_context():  # the CLI uses the innermost app
        result = other.test_cli_runner().invoke(args=["restore", str(out)])
        assert result.exit_code == 0, result.output
        assert counts() == before
        assert db.session.scalar(select(Entry.text)) == "متن"
        report = verify_case(case_id, EvidenceStore(other.config["EVIDENCE_DIR"]))
        assert report.ok and report.files_checked == 2
        again = other.test_cli_runner().invoke(args=["restore", str(out)])
        assert again.exit_code != 0 and "exists" in again.output
        db.engine.dispose()


def test_damaged_backup_restores_nothing(app, runner, make_user, make_case, make_entry, tmp_path):
    user = make_user()
    entry = make_entry(make_case(user), user)
    add_evidence_file(user, entry, io.BytesIO(png_bytes()), "s.png", EvidenceStore(app.config["EVIDENCE_DIR"]),
                      Limits.from_config(app.config))
    out, bad = tmp_path / "b.zip", tmp_path / "bad.zip"
    assert runner.invoke(args=["backup", str(out)]).exit_code == 0
    with zipfile.ZipFile(out) as zin, zipfile.ZipFile(bad, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            zout.writestr(name, data + b"x" if name.startswith("evidence/") and name.count("/") == 3 else data)
    target = tmp_path / "r.db"
    other = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}",
                        "EVIDENCE_DIR": str(tmp_path / "r-evidence")})
    with other.app_context():
        result = other.test_cli_runner().invoke(args=["restore", str(bad)])
    assert result.exit_code != 0 and "does not match" in result.output
    assert not target.exists() and not (tmp_path / "r-evidence").exists()
