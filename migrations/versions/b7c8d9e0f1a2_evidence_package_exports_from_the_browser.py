"""evidence package exports from the browser: a dossier export can also build the package ZIP

Revision ID: b7c8d9e0f1a2
Revises: f1a2b3c4d5e6
Create Date: 2026-11-25 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b7c8d9e0f1a2'
down_revision = 'f1a2b3c4d5e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.add_column(sa.Column('with_package', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('package_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('package_size', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.drop_column('package_size')
        batch_op.drop_column('package_sha256')
        batch_op.drop_column('with_package')
