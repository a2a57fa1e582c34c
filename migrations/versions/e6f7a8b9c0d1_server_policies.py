"""Mastodon server rules: custom policies tied to a server's address

Revision ID: e6f7a8b9c0d1
Revises: d5e6f7a8b9c0
Create Date: 2026-11-25 16:40:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import reportkit.models._common  # noqa: F401  (custom column types)


revision = 'e6f7a8b9c0d1'
down_revision = 'd5e6f7a8b9c0'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
