"""custody chains cannot fork: a chain-head row per case and a unique (case, prev_hash) index on events

Forks stored before this migration keep their history: their later branches are numbered (event.branch 1, 2 …)
so the index can be built, and `reportkit verify` keeps reporting them. Numbering them is the one UPDATE ever
made to events, so the append-only triggers are lifted for it and put back at once.

Revision ID: e1f2a3b4c5d6
Revises: c3d4e5f6a7b8
Create Date: 2026-11-25 14:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e1f2a3b4c5d6'
down_revision = 'c3d4e5f6a7b8'
branch_labels = None
depends_on = None

APPEND_ONLY = "events are append-only"


def upgrade():
    op.create_table(
        'chain_head',
        sa.Column('case_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('length', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('case_id', name=op.f('pk_chain_head')),
    )
    # Plain ALTER TABLE (no batch copy): copying the table would drop its append-only triggers.
    op.add_column('event', sa.Column('branch', sa.Integer(), nullable=False, server_default='0'))
    bind = op.get_bind()
    forks = bind.execute(sa.text(
        "SELECT id, case_id, prev_hash FROM event WHERE (case_id, prev_hash) IN "
        "(SELECT case_id, prev_hash FROM event GROUP BY case_id, prev_hash HAVING COUNT(*) > 1) "
        "ORDER BY case_id, prev_hash, id")).all()
    if forks:
        _triggers_down()
        seen: dict = {}
        for event_id, case_id, prev_hash in forks:
            branch = seen.get((case_id, prev_hash), -1) + 1
            seen[(case_id, prev_hash)] = branch
            if branch:
                bind.execute(sa.text("UPDATE event SET branch = :b WHERE id = :id"), {"b": branch, "id": event_id})
        _triggers_up()
    op.create_index('uq_event_case_prev', 'event', ['case_id', 'prev_hash', 'branch'], unique=True)
    bind.execute(sa.text(
        "INSERT INTO chain_head (case_id, hash, length) "
        "SELECT e.case_id, e.hash, c.n FROM event e JOIN "
        "(SELECT case_id, MAX(id) AS last_id, COUNT(*) AS n FROM event GROUP BY case_id) c ON e.id = c.last_id"))


def downgrade():
    op.drop_index('uq_event_case_prev', table_name='event')
    _triggers_down()
    with op.batch_alter_table('event') as batch_op:
        batch_op.drop_column('branch')
    _triggers_up()
    op.drop_table('chain_head')


def _triggers_up():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER event_no_{verb.lower()} BEFORE {verb} ON event "
                       f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")
    elif dialect == "postgresql":
        op.execute("CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event "
                   "FOR EACH ROW EXECUTE FUNCTION event_append_only()")


def _triggers_down():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS event_no_update")
        op.execute("DROP TRIGGER IF EXISTS event_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS event_append_only ON event")
