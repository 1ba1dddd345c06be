"""executions: parent links for sub-workflow runs, resume time for durable waits

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('executions') as batch:
        batch.add_column(sa.Column('parent_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('parent_node', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('depth', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('resume_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index('ix_executions_parent_id', ['parent_id'])
        batch.create_index('ix_executions_resume_at', ['resume_at'])


def downgrade() -> None:
    with op.batch_alter_table('executions') as batch:
        batch.drop_index('ix_executions_resume_at')
        batch.drop_index('ix_executions_parent_id')
        batch.drop_column('resume_at')
        batch.drop_column('depth')
        batch.drop_column('parent_node')
        batch.drop_column('parent_id')
