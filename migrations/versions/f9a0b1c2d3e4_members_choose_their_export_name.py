"""members choose the name printed for them in exports (a pseudonym when empty)

Revision ID: f9a0b1c2d3e4
Revises: e7f8a9b0c1d2
Create Date: 2026-11-25 14:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f9a0b1c2d3e4'
down_revision = 'e7f8a9b0c1d2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('membership') as batch_op:
        batch_op.add_column(sa.Column('export_name', sa.String(length=100), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('membership') as batch_op:
        batch_op.drop_column('export_name')
