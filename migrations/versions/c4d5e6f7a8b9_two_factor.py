"""two-factor sign-in: TOTP factors, hashed recovery codes, a case may require two-factor

Revision ID: c4d5e6f7a8b9
Revises: b2c3d4e5f6a7
Create Date: 2026-11-25 16:40:00

"""
import sqlalchemy as sa
from alembic import op

import reportkit.models._common  # noqa: F401  (custom column types)

revision = 'c4d5e6f7a8b9'
down_revision = 'b2c3d4e5f6a7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('two_factor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('created_at', reportkit.models._common.UTCDateTime(), nullable=False),
    sa.Column('confirmed_at', reportkit.models._common.UTCDateTime(), nullable=True),
    sa.Column('last_step', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_two_factor_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_two_factor')),
    sa.UniqueConstraint('user_id', name=op.f('uq_two_factor_user_id'))
    )
    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', reportkit.models._common.UTCDateTime(), nullable=False),
    sa.Column('used_at', reportkit.models._common.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_recovery_code_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code'))
    )
    op.create_index(op.f('ix_recovery_code_user_id'), 'recovery_code', ['user_id'], unique=False)
    # A plain ADD COLUMN (no batch copy of the case table): existing cases do not require two-factor.
    op.add_column('case', sa.Column('require_two_factor', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    # Not a batch copy: on SQLite dropping the old case table would cascade to every row that points at it.
    op.drop_column('case', 'require_two_factor')
    op.drop_index(op.f('ix_recovery_code_user_id'), table_name='recovery_code')
    op.drop_table('recovery_code')
    op.drop_table('two_factor')
