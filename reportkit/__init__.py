"""reportkit: catalogue rule-breaking posts with verifiable evidence, export dossiers."""

import os
from pathlib import Path

from flask import Flask

PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    """`templates/` and `migrations/` sit at the top of a checkout (the project's layout; also what `pip install -e`
    uses); a built wheel carries them inside the package (setup.py copies them there), which is looked at first."""
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name


TEMPLATES = _shipped("templates")  # also read by the PDF renderer (services/dossier/render.py)
MIGRATIONS = _shipped("migrations")


def instance_path(test_config: dict | None) -> str | None:
    """`INSTANCE_PATH` in the test config, or REPORTKIT_INSTANCE_PATH in the environment (read here, for worker and
    server processes); otherwise None: Flask's default, `instance/` beside the package in a checkout and
    `<prefix>/var/reportkit-instance` for an installed one."""
    chosen = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("REPORTKIT_INSTANCE_PATH")
    return os.path.abspath(chosen) if chosen else None


def create_app(test_config: dict | None = None) -> Flask:
    """The instance folder comes from `instance_path` (tests never touch the real one)."""
    app = Flask(__name__, instance_path=instance_path(test_config), instance_relative_config=True,
                template_folder=str(TEMPLATES))
    from . import cli, errors, extensions, logs, security, templating
    from .config import load_config

    load_config(app, test_config)
    logs.init_app(app)
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
    from .filings import bp as filings_bp
    from .health import bp as health_bp
    from .imports import bp as imports_bp
    from .policies import bp as policies_bp
    from .reviews import bp as reviews_bp

    for bp in (auth_bp, cases_bp, entries_bp, evidence_bp, imports_bp, policies_bp, reviews_bp, dossiers_bp,
               filings_bp, api_bp, health_bp):
        app.register_blueprint(bp)
    app.add_url_rule("/", endpoint="index", view_func=lambda: _home())


def _home():
    from flask import redirect, url_for

    return redirect(url_for("cases.index"))
