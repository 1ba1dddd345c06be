"""workspace run limits

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 13:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('workspaces') as batch:
        batch.add_column(sa.Column(
            'run_limits', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True
        ))


def downgrade() -> None:
    with op.batch_alter_table('workspaces') as batch:
        batch.drop_column('run_limits')
