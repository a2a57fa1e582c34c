"""imports resume from their committed batches: an attempt number owns the job; status fits "interrupted"

Revision ID: e7f8a9b0c1d2
Revises: e1f2a3b4c5d6
Create Date: 2026-11-25 15:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e7f8a9b0c1d2'
down_revision = 'e1f2a3b4c5d6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('import') as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Integer(), nullable=False, server_default='0'))
        batch_op.alter_column('status', existing_type=sa.String(length=10), type_=sa.String(length=16),
                              existing_nullable=False)


def downgrade():
    op.execute("UPDATE \"import\" SET status = 'failed' WHERE status = 'interrupted'")
    with op.batch_alter_table('import') as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=10),
                              existing_nullable=False)
        batch_op.drop_column('attempt')
