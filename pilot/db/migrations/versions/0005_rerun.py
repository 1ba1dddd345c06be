"""executions.rerun_of: a rerun from a node links to the execution whose upstream outputs it reuses

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 14:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('executions') as batch:
        batch.add_column(sa.Column('rerun_of', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('executions') as batch:
        batch.drop_column('rerun_of')
