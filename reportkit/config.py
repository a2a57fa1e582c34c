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
    "LOGIN_RATE_LIMIT": "10 per minute",  # log-in attempts per address
    "ACCOUNT_LOGIN_RATE_LIMIT": "5 per minute;20 per hour",  # failed log-ins per account, from any address
    "REGISTER_RATE_LIMIT": "5 per hour",  # registrations per address
    "SESSION_IDLE_HOURS": 12,  # a session not remembered ends after this long unused
    "REMEMBER_DAYS": 30,  # a remembered one ("keep me signed in") after this many days unused
    "RESET_LINK_MINUTES": 60,  # a password reset link works once, for this long
    "SESSION_KEEP_ADDRESSES": False,  # keep IP addresses of sessions and in the security log
    "REQUIRE_TWO_FACTOR": False,  # every user must turn on two-factor sign-in before anything else
    "PUBLIC_URL": None,  # e.g. https://reports.example.org: `reportkit reset-password` prints full links with it
    # Optional mail (reportkit/mail.py): "Forgot your password?", invitations by email, reset-password --send.
    "MAIL_SERVER": "",  # empty: no mail, nothing changes
    "MAIL_PORT": 25,
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "MAIL_USE_TLS": False,  # STARTTLS after connecting (usually port 587)
    "MAIL_USE_SSL": False,  # TLS from the start (usually port 465)
    "MAIL_DEFAULT_SENDER": "",  # e.g. "reportkit <noreply@example.org>"; needed with MAIL_SERVER
    "MAIL_TIMEOUT": 10,  # seconds for each SMTP step
    "FORGOT_RATE_LIMIT": "5 per hour",  # "Forgot your password?" requests per address
    "FORGOT_EMAIL_RATE_LIMIT": "3 per hour",  # ... and per email asked about, from any address
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "DOSSIER_WORKERS": None,  # worker processes for rendering; None = up to 2 (the cores), 0 = in the job thread
    # Re-checks of filed posts (services/recheck.py): {platform: [address template, reader]} over the built-in
    # public endpoints; a proxy for every check (platforms then do not see this server's address).
    "RECHECK_ENDPOINTS": {},
    "RECHECK_PROXY": "",
    "RECHECK_TIMEOUT": 10,  # seconds per check
    "RECHECK_EVERY_HOURS": 24,  # the scheduler re-checks a filed post not checked for this long
    # Follow-ups: days to wait for a platform's answer ("default", a platform, or "platform:channel" keys) and
    # days after a removal decision when a post seen online is flagged.
    "ANSWER_EXPECTED_DAYS": {"default": 7},
    "FOLLOWUP_ONLINE_DAYS": 7,
    "FILING_LIMITS": {},  # the filing assistant's explanation limit: {"in_app": 500, "x:dsa_notice": 5000}
    # Server-side capture (services/capture.py): a proxy for every page load (e.g. socks5://127.0.0.1:9050 for
    # Tor; the record names its scheme and host, never a password), seconds a page may take, and the private
    # addresses ("10.0.0.5" or "10.0.0.5:8080") a capture may reach although they are not public (none).
    "CAPTURE_PROXY": "",
    "CAPTURE_TIMEOUT": 30,
    "CAPTURE_ALLOW_PRIVATE": [],
    "DOSSIER_TIMEOUT": 1800,  # seconds before a dossier render is stopped
    "TIMESTAMP_URLS": [],  # RFC 3161 authorities that timestamp each evidence package's manifest
    "TIMESTAMP_TIMEOUT": 10,  # seconds per authority
    "SIGNING_CERT": None,  # PEM certificate to sign every dossier PDF with (pyHanko); needs SIGNING_KEY
    "SIGNING_KEY": None,  # its PEM private key
    "SIGNING_KEY_PASSPHRASE": None,
    "SIGNING_CHAIN": [],  # PEM files of intermediate certificates to embed
    # The job queue (services/queue.py, Huey): its storage, default sqlite:///<instance>/jobs.db; or redis://...
    "JOBS_URL": None,
    # The evidence store (services/storage.app_store): file:///srv/reportkit/evidence (default: EVIDENCE_DIR,
    # <instance>/evidence) or s3://bucket/prefix on AWS S3, MinIO, Garage or Ceph RGW (services/s3.py).
    "EVIDENCE_URL": None,
    "S3_ENDPOINT_URL": None,  # e.g. http://127.0.0.1:9000 for MinIO; None: AWS
    "S3_REGION": None,
    "S3_ACCESS_KEY_ID": None,  # None: boto3's usual chain (AWS_* environment, ~/.aws, an instance role)
    "S3_SECRET_ACCESS_KEY": None,
    # Store every object under compliance-mode retention for N days (a bucket with Object Lock).
    "S3_OBJECT_LOCK_DAYS": None,
    "S3_MULTIPART_THRESHOLD": 8 * 1024 * 1024,  # bytes; larger files are uploaded in parts of this size
    "S3_CONDITIONAL_WRITES": True,  # If-None-Match: * on every write; false only for a server that refuses it
    "JOBS_IN_PROCESS": True,  # the web process runs a consumer itself; false when `reportkit worker`s run them
    "JOBS_HEARTBEAT": 5,  # seconds between a worker's heartbeats on the jobs it holds
    "JOBS_STALLED_AFTER": 30,  # seconds without a heartbeat before a running job counts as lost with its worker
    "JOBS_HOLD_FILE": None,  # tests only: a dossier job waits while this file exists (services/jobs._test_hold)
    "IMPORT_TIMEOUT": 3600,  # seconds an import may wait for a worker and run (dossiers: DOSSIER_TIMEOUT)
    "LOG_LEVEL": "INFO",  # reportkit's lines on stderr (reportkit/logs.py), each with its request id
    "PROXY_FIX": 0,  # proxies in front that set X-Forwarded-For/-Proto/-Host (Werkzeug's ProxyFix); 0: none
}


def load_config(app: Flask, test_config: dict | None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("REPORTKIT")
    if test_config:
        app.config.from_mapping(test_config)
    check_settings(app.config)
    # A DATABASE_URL-style setting: any SQLAlchemy URL (PostgreSQL works by configuration alone).
    if app.config.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'reportkit.db'}"
    url = app.config.get("EVIDENCE_URL")
    if url and url.startswith("file://"):
        app.config["EVIDENCE_DIR"] = url.removeprefix("file://")
    app.config.setdefault("EVIDENCE_DIR", str(instance / "evidence"))
    # Chain heads recorded outside the database (services/anchors.py): keep it out of the database's reach.
    app.config.setdefault("ANCHOR_LOG", str(instance / "custody-anchors.jsonl"))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")


# Settings whose type is checked at start-up. from_prefixed_env parses each value as JSON, so `false` is False
# but `False`, `no` and `off` stay strings (and a non-empty string is true): they are read here instead.
BOOLEANS = ("REGISTRATION_OPEN", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "REMEMBER_COOKIE_SECURE",
            "REMEMBER_COOKIE_HTTPONLY", "RATELIMIT_ENABLED", "WTF_CSRF_ENABLED", "SESSION_KEEP_ADDRESSES", "TESTING",
            "DEBUG", "MAIL_USE_TLS", "MAIL_USE_SSL", "REQUIRE_TWO_FACTOR")
BOOLEANS += ("JOBS_IN_PROCESS",)
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
COUNTS = ("MAX_CONTENT_LENGTH", "MAX_FORM_MEMORY_SIZE", "MAX_IMAGE_PIXELS", "PRINT_MAX_WIDTH", "ENTRIES_PER_PAGE",
          "SESSION_IDLE_HOURS", "REMEMBER_DAYS", "RESET_LINK_MINUTES", "MAIL_PORT")
SECONDS = ("DOSSIER_TIMEOUT", "TIMESTAMP_TIMEOUT", "MAIL_TIMEOUT")
SECONDS += ("JOBS_HEARTBEAT", "JOBS_STALLED_AFTER")
SECONDS += ("IMPORT_TIMEOUT",)
SECONDS += ("CAPTURE_TIMEOUT",)
SECONDS += ("RECHECK_TIMEOUT", "RECHECK_EVERY_HOURS", "FOLLOWUP_ONLINE_DAYS")
LISTS = ("TIMESTAMP_URLS", "SIGNING_CHAIN")
LISTS += ("CAPTURE_ALLOW_PRIVATE",)
SAMESITE = ("SESSION_COOKIE_SAMESITE", "REMEMBER_COOKIE_SAMESITE")


class ConfigError(ValueError):
    pass


def _check_store(config) -> None:
    url = config.get("EVIDENCE_URL")
    if url is not None and not (isinstance(url, str) and (
            (url.startswith("file:///") and len(url) > len("file:///")) or
            (url.startswith("s3://") and url.removeprefix("s3://").split("/")[0]))):
        _refuse("EVIDENCE_URL", url, "file:///absolute/folder or s3://bucket/prefix")
    for name in ("S3_OBJECT_LOCK_DAYS", "S3_MULTIPART_THRESHOLD"):
        if isinstance(config.get(name), str) and config[name].strip().isdigit():
            config[name] = int(config[name])
        if config.get(name) is not None and not (_is_number(config[name], int) and config[name] > 0):
            _refuse(name, config[name], "a whole number above 0")
    if config.get("S3_MULTIPART_THRESHOLD", 0) and config["S3_MULTIPART_THRESHOLD"] < 5 * 1024 * 1024:
        _refuse("S3_MULTIPART_THRESHOLD", config["S3_MULTIPART_THRESHOLD"], "at least 5 MiB (S3's smallest part)")
    if "S3_CONDITIONAL_WRITES" in config:
        config["S3_CONDITIONAL_WRITES"] = _boolean("S3_CONDITIONAL_WRITES", config["S3_CONDITIONAL_WRITES"])


def _check_recheck(config) -> None:
    """RECHECK_ENDPOINTS: {platform: [address template, reader]} (JSON in the environment)."""
    value = config.get("RECHECK_ENDPOINTS")
    if isinstance(value, str):
        import json

        try:
            config["RECHECK_ENDPOINTS"] = value = json.loads(value) if value.strip() else {}
        except ValueError:
            _refuse("RECHECK_ENDPOINTS", value, 'JSON, e.g. {"x": ["https://…/oembed?url={url}", "oembed"]}')
    days = config.get("ANSWER_EXPECTED_DAYS")
    if isinstance(days, str):
        import json

        try:
            config["ANSWER_EXPECTED_DAYS"] = days = json.loads(days)
        except ValueError:
            _refuse("ANSWER_EXPECTED_DAYS", days, 'JSON, e.g. {"default": 7, "x:dsa_notice": 14}')
    if days is not None and not (isinstance(days, dict) and all(
            isinstance(k, str) and _is_number(v, int) and v > 0 for k, v in days.items())):
        _refuse("ANSWER_EXPECTED_DAYS", days, '{"default": 7, "<platform>" or "<platform>:<channel>": days}')
    readers = ("oembed", "bluesky", "mastodon", "telegram")
    if value is not None and not (isinstance(value, dict) and all(
            isinstance(v, (list, tuple)) and len(v) == 2 and isinstance(v[0], str) and v[1] in readers
            for v in value.values())):
        _refuse("RECHECK_ENDPOINTS", value, f"{{platform: [address template, reader]}}, reader one of {readers}")


def check_settings(config) -> None:
    """Read yes/no settings whatever their spelling; stop start-up, naming the setting, on a value that means
    nothing (`REPORTKIT_REGISTRATION_OPEN=maybe`) rather than guess, and guess open."""
    for name in BOOLEANS:
        if name in config:
            config[name] = _boolean(name, config[name])
    for name in COUNTS:
        if isinstance(config.get(name), str) and config[name].strip().isdigit():
            config[name] = int(config[name])
        if name in config and not (_is_number(config[name], int) and config[name] > 0):
            _refuse(name, config[name], "a whole number above 0")
    for name in SECONDS:
        if name in config and not (_is_number(config[name], (int, float)) and config[name] > 0):
            _refuse(name, config[name], "a number of seconds above 0")
    workers = config.get("DOSSIER_WORKERS")
    if workers is not None and not (_is_number(workers, int) and workers >= 0):
        _refuse("DOSSIER_WORKERS", workers, "a whole number, 0 or more (0: render in the job thread)")
    for name in LISTS:  # a JSON list, or one string of comma-separated items
        value = config.get(name)
        if isinstance(value, str):
            config[name] = value = [v.strip() for v in value.split(",") if v.strip()]
        if not (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)):
            _refuse(name, value, 'a list of strings, e.g. ["https://freetsa.org/tsr"], or one comma-separated')
    for name in SAMESITE:
        if config.get(name) not in (None, "Lax", "Strict", "None"):
            _refuse(name, config[name], "Lax, Strict or None")
    _check_mail(config)
    _check_runtime(config)
    _check_store(config)
    _check_recheck(config)
    if "JOBS_STALLED_AFTER" in config and config["JOBS_STALLED_AFTER"] < 2 * config.get("JOBS_HEARTBEAT", 5):
        _refuse("JOBS_STALLED_AFTER", config["JOBS_STALLED_AFTER"],
                "at least twice JOBS_HEARTBEAT (a live worker would look dead between two heartbeats)")


def _check_runtime(config) -> None:
    """The log level, the trusted proxy hops and the rate limits' storage (reportkit/logs.py, extensions.py)."""
    import logging

    if "LOG_LEVEL" in config:
        level = str(config["LOG_LEVEL"]).strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            _refuse("LOG_LEVEL", config["LOG_LEVEL"], "DEBUG, INFO, WARNING, ERROR or CRITICAL")
        config["LOG_LEVEL"] = logging.getLevelName(level)
    hops = config.get("PROXY_FIX", 0)
    if isinstance(hops, str) and hops.strip().isdigit():
        config["PROXY_FIX"] = hops = int(hops)
    if not (_is_number(hops, int) and 0 <= hops <= 5):
        _refuse("PROXY_FIX", hops, "how many proxies in front set X-Forwarded-* headers: 0 (none) to 5")
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if storage.split("://", 1)[0] not in ("memory", "redis", "rediss", "redis+unix", "redis+sentinel",
                                          "redis+cluster", "memcached", "mongodb", "valkey", "valkey+unix"):
        _refuse("RATELIMIT_STORAGE_URI", storage, "memory:// (one process) or redis://host:6379 "
                "(redis+unix:///path/redis.sock): a store every web worker shares")


def _check_mail(config) -> None:
    """Mail settings that would send nothing, or links anyone could point elsewhere, stop start-up."""
    if not config.get("MAIL_SERVER"):
        return
    if not str(config.get("MAIL_DEFAULT_SENDER") or "").strip():
        _refuse("MAIL_DEFAULT_SENDER", config.get("MAIL_DEFAULT_SENDER"),
                'the From address of our mails, e.g. "reportkit <noreply@example.org>" (needed with MAIL_SERVER)')
    if config.get("MAIL_USE_TLS") and config.get("MAIL_USE_SSL"):
        _refuse("MAIL_USE_SSL", True, "false when MAIL_USE_TLS is true (STARTTLS and TLS from the start exclude "
                                     "each other)")
    public = str(config.get("PUBLIC_URL") or "")
    if not public.startswith(("https://", "http://")):
        # A reset link built from the request's Host header could point at an attacker's site ("reset poisoning").
        _refuse("PUBLIC_URL", config.get("PUBLIC_URL"),
                "this site's address, e.g. https://reports.example.org (needed with MAIL_SERVER: links in mails "
                "never take their address from the request)")


def _boolean(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    _refuse(name, value, "true or false (also yes/no, on/off, 1/0)")


def _is_number(value, types) -> bool:
    return isinstance(value, types) and not isinstance(value, bool)


def _refuse(name: str, value, expected: str):
    raise ConfigError(f"REPORTKIT_{name} (or {name} in instance/config.py) is {value!r}: expected {expected}.")


def _instance_secret(path: Path) -> str:
    """Generate a random secret once, readable only by its owner; never fall back to a fixed one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked into place: several web workers starting at once all
        # read the one secret that won, never an empty file being written.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won: use its secret
        finally:
            tmp.unlink()
    return path.read_text().strip()
