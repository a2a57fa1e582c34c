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
    # a nullable column: plain add_column (a batch copy of policy would drop it under its clauses). Who added a
    # server's rules is the actor of its server_rules.added line in catalogue_event (a new table, so a real FK).
    op.add_column('policy', sa.Column('server_host', sa.String(length=120), nullable=True))
    op.create_index(op.f('ix_policy_server_host'), 'policy', ['server_host'], unique=False)
    op.create_table(
        'catalogue_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', reportkit.models._common.UTCDateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('via', sa.String(length=20), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('policy_key', sa.String(length=120), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_catalogue_event_actor_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_event')),
    )
    op.create_index(op.f('ix_catalogue_event_actor_id'), 'catalogue_event', ['actor_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_catalogue_event_actor_id'), table_name='catalogue_event')
    op.drop_table('catalogue_event')
    op.drop_index(op.f('ix_policy_server_host'), table_name='policy')
    # in place (SQLite 3.35+ drops a column itself): a batch copy of policy would drop it under its clauses
    op.execute('ALTER TABLE policy DROP COLUMN server_host')
