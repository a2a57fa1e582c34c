"""job heartbeat: dossier and import rows record when they last made progress

Revision ID: c3d4e5f6a7b8
Revises: b7c8d9e0f1a2
Create Date: 2026-11-25 10:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c3d4e5f6a7b8'
down_revision = 'b7c8d9e0f1a2'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('dossier', 'import'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))


def downgrade():
    for table in ('dossier', 'import'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('updated_at')
