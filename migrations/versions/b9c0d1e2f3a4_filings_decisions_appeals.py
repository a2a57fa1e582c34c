"""filings: where entries were reported, the platform's decisions and the appeals

Revision ID: b9c0d1e2f3a4
Revises: a8b9c0d1e2f3
Create Date: 2026-11-25 19:50:00

"""
import sqlalchemy as sa
from alembic import op

import reportkit.models._common  # noqa: F401  (custom column types)

revision = 'b9c0d1e2f3a4'
down_revision = 'a8b9c0d1e2f3'
branch_labels = None
depends_on = None

UTC = reportkit.models._common.UTCDateTime


def upgrade():
    op.create_table(
        'filing',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('platform', sa.String(length=30), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('filed_at', UTC(), nullable=False),
        sa.Column('filed_by_id', sa.Integer(), nullable=True),
        sa.Column('reference', sa.String(length=200), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=True),
        sa.Column('document_id', sa.String(length=40), nullable=False),
        sa.Column('document_sha256', sa.String(length=64), nullable=False),
        sa.Column('requested_action', sa.String(length=30), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('confirmed_at', UTC(), nullable=True),
        sa.Column('created_at', UTC(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_filing_case_id_case'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['filed_by_id'], ['user.id'], name=op.f('fk_filing_filed_by_id_user'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_filing_dossier_id_dossier'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_filing')),
    )
    op.create_index(op.f('ix_filing_case_id'), 'filing', ['case_id'])
    op.create_table(
        'filing_entry',
        sa.Column('filing_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['filing_id'], ['filing.id'], name=op.f('fk_filing_entry_filing_id_filing'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_filing_entry_entry_id_entry'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('filing_id', 'entry_id', name=op.f('pk_filing_entry')),
    )
    op.create_index(op.f('ix_filing_entry_entry_id'), 'filing_entry', ['entry_id'])
    op.create_table(
        'decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filing_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('decided_at', UTC(), nullable=True),
        sa.Column('visibility', sa.String(length=30), nullable=False),
        sa.Column('account', sa.String(length=20), nullable=False),
        sa.Column('monetary', sa.String(length=20), nullable=False),
        sa.Column('provision', sa.String(length=30), nullable=False),
        sa.Column('territorial_scope', sa.JSON(), nullable=False),
        sa.Column('ground', sa.String(length=10), nullable=False),
        sa.Column('explanation', sa.Text(), nullable=False),
        sa.Column('automated', sa.Boolean(), nullable=True),
        sa.Column('no_action', sa.Boolean(), nullable=False),
        sa.Column('no_answer', sa.Boolean(), nullable=False),
        sa.Column('statement_id', sa.String(length=200), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTC(), nullable=False),
        sa.ForeignKeyConstraint(['filing_id'], ['filing.id'], name=op.f('fk_decision_filing_id_filing'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_decision_entry_id_entry'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_decision_recorded_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_decision')),
    )
    op.create_index(op.f('ix_decision_filing_id'), 'decision', ['filing_id'])
    op.create_index(op.f('ix_decision_entry_id'), 'decision', ['entry_id'])
    op.create_table(
        'appeal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filing_id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('filed_at', UTC(), nullable=False),
        sa.Column('reference', sa.String(length=200), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('outcome_at', UTC(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTC(), nullable=False),
        sa.ForeignKeyConstraint(['filing_id'], ['filing.id'], name=op.f('fk_appeal_filing_id_filing'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_appeal_entry_id_entry'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_appeal_recorded_by_id_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal')),
    )
    op.create_index(op.f('ix_appeal_filing_id'), 'appeal', ['filing_id'])
    op.create_index(op.f('ix_appeal_entry_id'), 'appeal', ['entry_id'])


def downgrade():
    op.drop_table('appeal')
    op.drop_table('decision')
    op.drop_table('filing_entry')
    op.drop_table('filing')
