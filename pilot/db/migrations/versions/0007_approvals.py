"""approvals (decisions of `wait` approval nodes) and executions.resumed_at

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'approvals',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('execution_id', sa.String(length=64), sa.ForeignKey('executions.id', ondelete='CASCADE',
                  name='fk_approvals_execution_id_executions'), nullable=False),
        sa.Column('workspace_id', sa.String(length=64), nullable=False),
        sa.Column('node_id', sa.String(length=200), nullable=False),
        sa.Column('approved', sa.Boolean(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=False, server_default=''),
        sa.Column('decided_by', sa.String(length=200), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_approvals'),
        sa.UniqueConstraint('execution_id', 'node_id', name='uq_approvals_execution_node'),
    )
    op.create_index('ix_approvals_execution_id', 'approvals', ['execution_id'])
    with op.batch_alter_table('executions') as batch:
        batch.add_column(sa.Column('resumed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('executions') as batch:
        batch.drop_column('resumed_at')
    op.drop_index('ix_approvals_execution_id', table_name='approvals')
    op.drop_table('approvals')
