"""each user has a time zone; capture time and person default from the first screenshot

Revision ID: f7a8b9c0d1e2
Revises: e6f7a8b9c0d1
Create Date: 2026-11-25 16:40:00

"""
import sqlalchemy as sa
from alembic import op

import reportkit.models._common  # noqa: F401  (custom column types)

revision = 'f7a8b9c0d1e2'
down_revision = 'e6f7a8b9c0d1'
branch_labels = None
depends_on = None


def upgrade():
    # Plain add_column with a server default: no table copy (and none of the event table, ever).
    op.add_column('user', sa.Column('time_zone', sa.String(length=64), server_default='UTC', nullable=False))
    op.add_column('entry', sa.Column('captured_at_source', sa.String(length=10), server_default='', nullable=False))
    op.add_column('import', sa.Column('calendar', sa.String(length=16), server_default='auto', nullable=False))


def downgrade():
    with op.batch_alter_table('import') as batch:
        batch.drop_column('calendar')
    with op.batch_alter_table('entry') as batch:
        batch.drop_column('captured_at_source')
    with op.batch_alter_table('user') as batch:
        batch.drop_column('time_zone')
