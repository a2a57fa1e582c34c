"""files of filings: the platform's confirmation, a statement of reasons, an appeal's papers (kept by hash)

Revision ID: d1e2f3a4b5c6
Revises: c0d1e2f3a4b5
Create Date: 2026-11-25 20:30:00

"""
import sqlalchemy as sa
from alembic import op

import reportkit.models._common  # noqa: F401  (custom column types)

revision = 'd1e2f3a4b5c6'
down_revision = 'c0d1e2f3a4b5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'filing_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filing_id', sa.Integer(), nullable=False),
        sa.Column('decision_id', sa.Integer(), nullable=True),
        sa.Column('appeal_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('mime', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_at', reportkit.models._common.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['filing_id'], ['filing.id'], name=op.f('fk_filing_file_filing_id_filing'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_filing_file_decision_id_decision'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['appeal_id'], ['appeal.id'], name=op.f('fk_filing_file_appeal_id_appeal'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_filing_file_uploaded_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_filing_file')),
    )
    op.create_index(op.f('ix_filing_file_filing_id'), 'filing_file', ['filing_id'])
    op.create_index(op.f('ix_filing_file_sha256'), 'filing_file', ['sha256'])


def downgrade():
    op.drop_table('filing_file')
