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
    op.create_table(
        'capture',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('outcome', sa.String(length=12), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('keep_diagnostic', sa.Boolean(), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('browser', sa.String(length=100), nullable=False),
        sa.Column('user_agent', sa.String(length=500), nullable=False),
        sa.Column('final_url', sa.String(length=2048), nullable=False),
        sa.Column('http_status', sa.Integer(), nullable=True),
        sa.Column('proxy_label', sa.String(length=200), nullable=False),
        sa.Column('evidence_ids', sa.JSON(), nullable=False),
        sa.Column('created_at', reportkit.models._common.UTCDateTime(), nullable=False),
        sa.Column('started_at', reportkit.models._common.UTCDateTime(), nullable=True),
        sa.Column('finished_at', reportkit.models._common.UTCDateTime(), nullable=True),
        sa.Column('updated_at', reportkit.models._common.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_capture_entry_id_entry'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_capture_requested_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_capture')),
    )
    op.create_index(op.f('ix_capture_entry_id'), 'capture', ['entry_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_capture_entry_id'), table_name='capture')
    op.drop_table('capture')
