"""invitations: adding a member on the Members page invites them; they accept or decline in the app

Revision ID: b2c3d4e5f6a7
Revises: a1b2c3d4e5f6
Create Date: 2026-11-25 14:50:00

"""
import sqlalchemy as sa
from alembic import op

import reportkit.models._common  # noqa: F401  (custom column types)

revision = 'b2c3d4e5f6a7'
down_revision = 'a1b2c3d4e5f6'
branch_labels = None
depends_on = None

OPEN = sa.text('answered_at IS NULL')


def upgrade():
    op.create_table(
        'invitation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('invited_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', reportkit.models._common.UTCDateTime(), nullable=False),
        sa.Column('expires_at', reportkit.models._common.UTCDateTime(), nullable=False),
        sa.Column('answered_at', reportkit.models._common.UTCDateTime(), nullable=True),
        sa.Column('answer', sa.String(length=20), server_default='', nullable=False),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['answered_by_id'], ['user.id'], name=op.f('fk_invitation_answered_by_id_user'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_invitation_case_id_case'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invited_by_id'], ['user.id'], name=op.f('fk_invitation_invited_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    )
    op.create_index(op.f('ix_invitation_case_id'), 'invitation', ['case_id'], unique=False)
    op.create_index(op.f('ix_invitation_email'), 'invitation', ['email'], unique=False)
    # at most one open invitation per case and address, whatever two owners do at once
    op.create_index('uq_invitation_open', 'invitation', ['case_id', 'email'], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade():
    op.drop_index('uq_invitation_open', table_name='invitation')
    op.drop_index(op.f('ix_invitation_email'), table_name='invitation')
    op.drop_index(op.f('ix_invitation_case_id'), table_name='invitation')
    op.drop_table('invitation')
