"""two-factor sign-in: TOTP factors, hashed recovery codes, a case may require two-factor

Revision ID: c4d5e6f7a8b9
Revises: b2c3d4e5f6a7
Create Date: 2026-11-25 16:40:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import reportkit.models._common  # noqa: F401  (custom column types)


revision = 'c4d5e6f7a8b9'
down_revision = 'b2c3d4e5f6a7'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
