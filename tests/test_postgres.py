"""PostgreSQL for real: the migrations, the custody triggers, and backup/restore with pg_dump/pg_restore."""

import io

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from reportkit import create_app
from reportkit.extensions import db
from reportkit.models import Case, Entry, Event, Evidence, User
from reportkit.services.cases import create_case
from reportkit.services.custody import verify_case
from reportkit.services.entries import create_entry
from reportkit.services.evidence import Limits, add_evidence_file
from reportkit.services.policies import seed_policies
from reportkit.services.storage import EvidenceStore

from .conftest import png_bytes
from .postgres import Server


@pytest.fixture(scope="module")
def server():
    pg = Server().start()
    yield pg
    pg.stop()


def pg_app(server, name, tmp_path):
    return create_app({"SECRET_KEY": "test", "TESTING": True, "DATABASE_URL": server.create_database(name),
                       "EVIDENCE_DIR": str(tmp_path / f"{name}-evidence"), "DOSSIER_WORKERS": 0,
                       "INSTANCE_PATH": str(tmp_path / "instance")})  # one operator: one backup key


@pytest.fixture
def filled(server, tmp_path, request):
    app = pg_app(server, f"rk_{request.node.name[:40].lower()}", tmp_path)
    with app.app_context():
        upgrade()
        seed_policies()
        user = User(email="rana@example.org", name="Rana")
        user.set_password("correct horse battery")
        db.session.add(user)
        db.session.commit()
        case = create_case(user, "Case on PostgreSQL", "A. Leader", "", [{"platform": "x", "handle": "leader_en"}])
        entry = create_entry(user, case, "https://x.com/leader_en/status/1453347171011694596", {"text": "متن"})
        add_evidence_file(user, entry, io.BytesIO(png_bytes()), "s.png", EvidenceStore(app.config["EVIDENCE_DIR"]),
                          Limits.from_config(app.config))
        db.session.commit()
        yield app, case.id
        db.session.remove()
        db.engine.dispose()


def counts() -> tuple:
    return tuple(db.session.scalar(select(func.count(m.id))) for m in (Case, Entry, Evidence, Event))


def test_migrations_run_and_the_database_refuses_to_change_events(filled):
    app, case_id = filled
    assert verify_case(case_id, EvidenceStore(app.config["EVIDENCE_DIR"])).ok
    for sql in ("UPDATE event SET explanation = 'nothing happened'", "DELETE FROM event"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:  # behind the application's back: only the trigger stands guard
                conn.execute(text(sql))
    assert db.session.scalar(select(func.count(Event.id))) > 0


def test_backup_and_restore_round_trip(filled, server, tmp_path):
    app, case_id = filled
    before = counts()
    out = tmp_path / "pg-backup.zip"
    made = app.test_cli_runner().invoke(args=["backup", str(out)])
    assert made.exit_code == 0, made.output
    assert not out.with_name(out.name + ".partial").exists()

    other = pg_app(server, "rk_restored", tmp_path)
    with other.app_context():
        done = other.test_cli_runner().invoke(args=["restore", str(out)])
        assert done.exit_code == 0, done.output
        assert counts() == before
        assert db.session.scalar(select(Entry.text)) == "متن"
        assert verify_case(case_id, EvidenceStore(other.config["EVIDENCE_DIR"])).ok
        again = other.test_cli_runner().invoke(args=["restore", str(out)])
        assert again.exit_code != 0 and "already holds data" in again.output
        db.session.remove()
        db.engine.dispose()
        forced = other.test_cli_runner().invoke(args=["restore", str(out), "--force"])
        assert forced.exit_code == 0, forced.output
        assert counts() == before
        with pytest.raises(DBAPIError, match="append-only"):  # the restored database keeps its triggers
            with db.engine.begin() as conn:
                conn.execute(text("DELETE FROM event"))
        db.session.remove()
        db.engine.dispose()


def test_a_sqlite_backup_is_not_restored_into_postgresql(app, runner, server, tmp_path):
    out = tmp_path / "sqlite-backup.zip"
    assert runner.invoke(args=["backup", str(out)]).exit_code == 0
    other = pg_app(server, "rk_mismatch", tmp_path)
    with other.app_context():
        refused = other.test_cli_runner().invoke(args=["restore", str(out)])
        assert refused.exit_code != 0 and "holds a sqlite database" in refused.output
        db.engine.dispose()
