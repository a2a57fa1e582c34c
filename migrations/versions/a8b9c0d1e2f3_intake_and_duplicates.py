"""near-duplicate warnings a person dismissed; imports may add web pages as "other"

Revision ID: a8b9c0d1e2f3
Revises: f7a8b9c0d1e2
Create Date: 2026-11-25 16:40:00

"""
import sqlalchemy as sa
from alembic import op

import reportkit.models._common  # noqa: F401  (custom column types)

revision = 'a8b9c0d1e2f3'
down_revision = 'f7a8b9c0d1e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'near_duplicate',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('evidence_id', sa.Integer(), nullable=False),
        sa.Column('similar_id', sa.Integer(), nullable=False),
        sa.Column('distance', sa.Integer(), nullable=False),
        sa.Column('found_at', reportkit.models._common.UTCDateTime(), nullable=False),
        sa.Column('dismissed_at', reportkit.models._common.UTCDateTime(), nullable=True),
        sa.Column('dismissed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['dismissed_by_id'], ['user.id'], name=op.f('fk_near_duplicate_dismissed_by_id_user'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['evidence_id'], ['evidence.id'], name=op.f('fk_near_duplicate_evidence_id_evidence'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['similar_id'], ['evidence.id'], name=op.f('fk_near_duplicate_similar_id_evidence'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_near_duplicate')),
        sa.UniqueConstraint('evidence_id', 'similar_id', name='uq_near_duplicate_evidence_id'),
    )
    op.create_index(op.f('ix_near_duplicate_evidence_id'), 'near_duplicate', ['evidence_id'], unique=False)
    op.create_index(op.f('ix_near_duplicate_similar_id'), 'near_duplicate', ['similar_id'], unique=False)
    op.add_column('evidence', sa.Column('look_hash', sa.String(length=64), nullable=True))
    # a plain add_column (no batch copy): nullable-free with a server default works on SQLite as it is
    op.add_column('import', sa.Column('allow_other', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('import') as batch_op:
        batch_op.drop_column('allow_other')
    with op.batch_alter_table('evidence') as batch_op:
        batch_op.drop_column('look_hash')
    op.drop_index(op.f('ix_near_duplicate_similar_id'), table_name='near_duplicate')
    op.drop_index(op.f('ix_near_duplicate_evidence_id'), table_name='near_duplicate')
    op.drop_table('near_duplicate')
