"""captures: server-side capture jobs of a post page

Revision ID: e2f3a4b5c6d7
Revises: d1e2f3a4b5c6
Create Date: 2026-11-25 20:30:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import reportkit.models._common  # noqa: F401  (custom column types)

revision = 'e2f3a4b5c6d7'
down_revision = 'd1e2f3a4b5c6'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
