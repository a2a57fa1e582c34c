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
    # plain add_column (server defaults, nullable=False is fine for SQLite with a default): no batch copy
    op.add_column('entry', sa.Column('requested_action', sa.String(length=30), nullable=False, server_default=''))
    op.add_column('entry', sa.Column('action_countries', sa.String(length=200), nullable=False, server_default=''))
    op.add_column('entry', sa.Column('severity', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('violation', sa.Column('rationale_en', sa.Text(), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('violation') as batch_op:
        batch_op.drop_column('rationale_en')
    with op.batch_alter_table('entry') as batch_op:
        batch_op.drop_column('severity')
        batch_op.drop_column('action_countries')
        batch_op.drop_column('requested_action')
