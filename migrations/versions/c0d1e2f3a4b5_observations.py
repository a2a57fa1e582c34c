"""re-checks: whether a reported post is still up, one observation per check

Revision ID: c0d1e2f3a4b5
Revises: b9c0d1e2f3a4
Create Date: 2026-11-25 20:05:00

"""
import sqlalchemy as sa
from alembic import op

import reportkit.models._common  # noqa: F401  (custom column types)

revision = 'c0d1e2f3a4b5'
down_revision = 'b9c0d1e2f3a4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'observation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('checked_at', reportkit.models._common.UTCDateTime(), nullable=False),
        sa.Column('outcome', sa.String(length=10), nullable=False),
        sa.Column('http_status', sa.Integer(), nullable=True),
        sa.Column('body_sha256', sa.String(length=64), nullable=False),
        sa.Column('endpoint', sa.String(length=300), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('back_online', sa.Boolean(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_observation_entry_id_entry'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_observation_requested_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_observation')),
    )
    op.create_index(op.f('ix_observation_entry_id'), 'observation', ['entry_id'])


def downgrade():
    op.drop_table('observation')
