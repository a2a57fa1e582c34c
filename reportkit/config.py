"""Configuration layering: defaults -> instance/config.py -> REPORTKIT_* environment -> test config.

Nothing here reads the environment at import time; `load_config` runs inside `create_app`.
"""

import os
import secrets
from pathlib import Path

from flask import Flask

DEFAULTS = {
    "REGISTRATION_OPEN": True,
    "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,  # upload limit, bytes
    "MAX_FORM_MEMORY_SIZE": 4 * 1024 * 1024,  # so 1 MB of pasted text gets a form error, not a 413
    "MAX_IMAGE_PIXELS": 60_000_000,  # a decompression bomb is refused above this
    "PRINT_MAX_WIDTH": 1600,
    "ENTRIES_PER_PAGE": 50,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_RATE_LIMIT": "10 per minute",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "DOSSIER_WORKERS": None,  # worker processes for rendering; None = up to 2 (the cores), 0 = in the job thread
    "DOSSIER_TIMEOUT": 1800,  # seconds before a dossier render is stopped
    "TIMESTAMP_URLS": [],  # RFC 3161 authorities that timestamp each evidence package's manifest
    "TIMESTAMP_TIMEOUT": 10,  # seconds per authority
    "SIGNING_CERT": None,  # PEM certificate to sign every dossier PDF with (pyHanko); needs SIGNING_KEY
    "SIGNING_KEY": None,  # its PEM private key
    "SIGNING_KEY_PASSPHRASE": None,
    "SIGNING_CHAIN": [],  # PEM files of intermediate certificates to embed
}


def load_config(app: Flask, test_config: dict | None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("REPORTKIT")
    if test_config:
        app.config.from_mapping(test_config)
    # A DATABASE_URL-style setting: any SQLAlchemy URL (PostgreSQL works by configuration alone).
    if app.config.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'reportkit.db'}"
    app.config.setdefault("EVIDENCE_DIR", str(instance / "evidence"))
    # Chain heads recorded outside the database (services/anchors.py): keep it out of the database's reach.
    app.config.setdefault("ANCHOR_LOG", str(instance / "custody-anchors.jsonl"))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")


def _instance_secret(path: Path) -> str:
    """Generate a random secret once, readable only by its owner; never fall back to a fixed one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()
