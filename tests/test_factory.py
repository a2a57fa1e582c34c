import os

from reportkit import create_app


def test_test_config_overrides_defaults(make_app):
    app = make_app(ENTRIES_PER_PAGE=7)
    assert app.testing and app.config["ENTRIES_PER_PAGE"] == 7
    assert app.config["MAX_CONTENT_LENGTH"] == 50 * 1024 * 1024


def test_environment_layer_and_database_url(monkeypatch, tmp_path):
    monkeypatch.setenv("REPORTKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("REPORTKIT_ENTRIES_PER_PAGE", "33")
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.db")
    assert app.config["ENTRIES_PER_PAGE"] == 33  # parsed as JSON by from_prefixed_env


def test_secret_key_is_generated_once_into_instance(monkeypatch, tmp_path):
    from reportkit import config

    secret_file = tmp_path / "secret_key"
    first = config._instance_secret(secret_file)
    assert len(first) == 64 and config._instance_secret(secret_file) == first
    assert oct(os.stat(secret_file).st_mode & 0o777) == "0o600"


def test_security_headers_and_cookie_flags(client):
    resp = client.get("/auth/login")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert client.application.config["SESSION_COOKIE_HTTPONLY"] is True
    assert client.application.config["SESSION_COOKIE_SAMESITE"] == "Lax"
