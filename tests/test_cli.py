"""The `reportkit` command group: users, tokens, the policy catalogue, migrations."""

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from reportkit.extensions import db
from reportkit.models import ApiToken, Clause, User
from reportkit.models.users import hash_token


def test_create_user_reads_password_from_stdin(runner):
    result = runner.invoke(args=["create-user", "Admin@Example.org", "--admin"], input="a long passphrase\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    assert user.is_admin and user.check_password("a long passphrase")
    again = runner.invoke(args=["create-user", "admin@example.org"], input="a long passphrase\n")
    assert again.exit_code != 0 and "already exists" in again.output


def test_create_user_refuses_short_or_common_passwords_like_the_pages(runner):
    for weak, says in (("short", "12 characters"), ("password1234", ""), ("x@example.org12", "")):
        result = runner.invoke(args=["create-user", "x@example.org"], input=f"{weak}\n")
        assert result.exit_code != 0 and says in result.output and "Traceback" not in result.output, weak
    assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None


def test_create_token_prints_a_working_secret(runner, make_user, client):
    make_user("t@example.org")
    result = runner.invoke(args=["create-token", "t@example.org"])
    secret = result.output.strip()
    assert secret.startswith("rk_")
    token = db.session.scalar(select(ApiToken))
    assert token.token_hash == hash_token(secret) and secret not in token.token_hash  # stored hashed
    assert client.get("/api/v1/cases", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_seed_policies_is_idempotent(runner):
    before = db.session.scalar(select(func.count(Clause.id)))
    result = runner.invoke(args=["seed-policies"])
    assert result.exit_code == 0 and "clauses" in result.output
    assert db.session.scalar(select(func.count(Clause.id))) == before > 150


def test_migrations_match_the_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"render_as_batch": True}), db.metadata)
    assert diff == []


def test_console_script_is_a_flask_group(tmp_path):
    env = {"REPORTKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "REPORTKIT_SECRET_KEY": "x",
           "PATH": "/usr/bin:/bin"}
    bin_dir = sys.executable.rsplit("/", 1)[0]
    out = subprocess.run([f"{bin_dir}/reportkit", "db", "upgrade"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    out = subprocess.run([f"{bin_dir}/reportkit", "seed-policies"], env=env, capture_output=True, text=True)
    assert "platforms" in out.stdout
    out = subprocess.run([f"{bin_dir}/reportkit", "run", "--help"], env=env, capture_output=True, text=True)
    assert "--port" in out.stdout
