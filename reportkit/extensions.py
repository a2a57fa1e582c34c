"""Flask extensions, created unbound so that `create_app` can plug them in with `init_app`."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations portable between SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)


def init_app(app) -> None:
    """Bind every extension to the app; SQLite gets foreign keys switched on per connection."""
    from . import MIGRATIONS

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, directory=str(MIGRATIONS))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load_user(user_id: str):
        """"<user id>:<session secret>": the user only while that session is alive (auth/signin.py)."""
        from .auth.signin import load_user

        return load_user(user_id)

    @login_manager.request_loader
    def _load_remembered(request):
        """A remembered browser without a session: its remember-me token, used once and replaced."""
        from .auth.signin import load_remembered

        return load_remembered(request)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """SQLite ignores foreign keys unless asked, per connection. Writers to one case take turns on SQLite's write
    lock (services/custody.lock_case): under a burst of writers a request waits up to 30 s for its turn
    instead of the driver's 5 s, after which it would answer 500."""
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
