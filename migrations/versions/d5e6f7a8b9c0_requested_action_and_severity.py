"""entries carry the requested action and a severity

Revision ID: d5e6f7a8b9c0
Revises: c4d5e6f7a8b9
Create Date: 2026-11-25 16:40:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import reportkit.models._common  # noqa: F401  (custom column types)


revision = 'd5e6f7a8b9c0'
down_revision = 'c4d5e6f7a8b9'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
