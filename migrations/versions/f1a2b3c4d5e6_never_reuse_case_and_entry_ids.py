"""never reuse case and entry ids (SQLite AUTOINCREMENT), since the custody log refers to them

Revision ID: f1a2b3c4d5e6
Revises: 23bc7865ea5b
Create Date: 2026-11-25 08:00:00

"""
from alembic import op

revision = 'f1a2b3c4d5e6'
down_revision = '23bc7865ea5b'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL sequences never hand out an id twice
    # Recreating a table drops the old one: with foreign keys on, SQLite would cascade that into every child row.
    op.execute("PRAGMA foreign_keys=OFF")
    for table in ("case", "entry"):
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass
    op.execute("PRAGMA foreign_keys=ON")


def downgrade():
    pass
