"""reportkit: catalogue rule-breaking posts with verifiable evidence, export dossiers."""

import os
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """`INSTANCE_PATH` in the test config (or REPORTKIT_INSTANCE_PATH in the environment, read here, for worker
    and server processes) moves the instance folder (tests never touch the real one)."""
    app = Flask(
        __name__,
        instance_path=str((test_config or {}).get("INSTANCE_PATH") or os.environ.get("REPORTKIT_INSTANCE_PATH")
                          or ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    from . import cli, errors, extensions, security, templating
    from .config import load_config

    load_config(app, test_config)
    extensions.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    _register_blueprints(app)
    cli.init_app(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .cases import bp as cases_bp
    from .dossiers import bp as dossiers_bp
    from .entries import bp as entries_bp
    from .evidence import bp as evidence_bp
    from .health import bp as health_bp
    from .imports import bp as imports_bp
    from .policies import bp as policies_bp
    from .reviews import bp as reviews_bp

    for bp in (auth_bp, cases_bp, entries_bp, evidence_bp, imports_bp, policies_bp, reviews_bp, dossiers_bp,
               api_bp, health_bp):
        app.register_blueprint(bp)
    app.add_url_rule("/", endpoint="index", view_func=lambda: _home())


def _home():
    from flask import redirect, url_for

    return redirect(url_for("cases.index"))
