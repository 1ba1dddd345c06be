"""usage settings per workspace (monthly budget limits, LLM price overrides) and the
(workspace_id, created_at) index the usage aggregates and budget checks filter on

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'usage_settings',
        sa.Column('workspace_id', sa.String(length=64), nullable=False),
        sa.Column('soft_limit_usd', sa.Float(), nullable=True),
        sa.Column('hard_limit_usd', sa.Float(), nullable=True),
        sa.Column('prices', JSONType, nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name='fk_usage_settings_workspace_id_workspaces',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('workspace_id', name='pk_usage_settings'),
    )
    op.create_index('ix_executions_workspace_created', 'executions', ['workspace_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_executions_workspace_created', table_name='executions')
    op.drop_table('usage_settings')
