"""What every benchmark starts from: a fresh instance in a temporary folder, migrated, with one user and case."""

import tempfile
from pathlib import Path

from flask_migrate import upgrade

from reportkit import create_app
from reportkit.extensions import db
from reportkit.models import User
from reportkit.services.cases import create_case
from reportkit.services.policies import seed_policies

PASSWORD = "bench password"


def fresh_instance(prefix: str, **config):
    """An app on a new SQLite file, migrated and with the policy catalogue (its app context is left pushed)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
                      "EVIDENCE_DIR": str(tmp / "evidence"), "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "INSTANCE_PATH": str(tmp / "instance"), **config})
    app.app_context().push()
    upgrade()
    seed_policies()
    return app, tmp


def user_and_case(email: str = "bench@example.org", **case):
    user = User(email=email, name="Bench")
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()
    accounts = case.pop("accounts", [{"platform": "x", "handle": "leader_en"},
                                     {"platform": "telegram", "handle": "leader_fa"}])
    return user, create_case(user, case.pop("title", "Bench"), case.pop("subject", "Subject"),
                             case.pop("summary", ""), accounts)
