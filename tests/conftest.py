"""Fixtures: a real SQLite database built by the Alembic migrations, a real evidence store, builders."""

import functools
import io
import shutil
from pathlib import Path

import pytest
from flask_migrate import upgrade
from PIL import Image

from reportkit import create_app
from reportkit.extensions import db
from reportkit.models import ApiToken, User
from reportkit.services.cases import create_case
from reportkit.services.entries import create_entry
from reportkit.services.policies import seed_policies
from reportkit.services.queue import stop_consumer
from reportkit.services.recheck import ENDPOINTS

PASSWORD = "correct horse battery"


def _config(tmp_path: Path, db_path: Path, **extra) -> dict:
    return {"TESTING": True, "SECRET_KEY": "test-only-secret", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
            "EVIDENCE_DIR": str(tmp_path / "evidence"), "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DOSSIER_WORKERS": 0,
            "JOBS_HEARTBEAT": 0.5, "JOBS_STALLED_AFTER": 15,  # a busy test machine must not lose a live job
            "RECHECK_ENDPOINTS": NO_INTERNET,  # re-checks ask the discard port unless a test sets a fake platform
            "CAPTURE_PROXY": "http://127.0.0.1:9",  # captures: a dead proxy (said at once) unless a test sets ""
            **extra}


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    """Run the migrations and load the catalogue once; every test gets a copy of the file."""
    tmp = tmp_path_factory.mktemp("template")
    path = tmp / "template.db"
    app = create_app(_config(tmp, path))
    with app.app_context():
        upgrade()
        seed_policies()
        db.engine.dispose()
    return path


# Every platform's re-check endpoint on a closed loopback port: no test reaches a real platform by accident.
NO_INTERNET = {key: ["http://127.0.0.1:9/" + key + "/{post_id}", reader] for key, (_, reader) in ENDPOINTS.items()}


@pytest.fixture
def make_app(migrated_db, tmp_path):
    """Jobs run as in `make run`: a real Huey consumer in threads of the test process, its queue in the test's
    instance folder (started at the first job, stopped here)."""
    built = []

    def build(**extra):
        db_path = tmp_path / f"test-{len(list(tmp_path.glob('test-*.db')))}.db"
        shutil.copy(migrated_db, db_path)
        built.append(create_app(_config(tmp_path, db_path, **extra)))
        return built[-1]
    yield build
    for app in built:
        stop_consumer(app)


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    def build(email="ana@example.org", admin=False, name=""):
        user = User(email=email, is_admin=admin, name=name)
        user.password_hash = _password_hash()  # scrypt is slow on purpose: hash once per test session
        db.session.add(user)
        db.session.commit()
        return user
    return build


@functools.cache
def _password_hash() -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(PASSWORD)


@pytest.fixture
def make_case(app):
    def build(owner, title="Case A", accounts=({"platform": "x", "handle": "leader_en"},), members=()):
        case = create_case(owner, title, "A. Leader", "Summary", list(accounts))
        from reportkit.services.cases import add_member
        for user, role in members:
            add_member(None, case, user.email, role)  # as `reportkit add-member` does
        return case
    return build


@pytest.fixture
def make_entry(app):
    def build(case, actor, url="https://x.com/leader_en/status/1453347171011694596", **fields):
        return create_entry(actor, case, url, fields)
    return build


@pytest.fixture
def login():
    def do(client, user):
        resp = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
        assert resp.status_code == 302, resp.data[:500]
        return client
    return do


@pytest.fixture
def token_for(app):
    def issue(user) -> dict:
        token, secret = ApiToken.issue(user, "test")
        db.session.add(token)
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}
    return issue


def png_bytes(width=120, height=80, color=(200, 30, 30), fmt="PNG", **save) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, fmt, **save)
    return buf.getvalue()
