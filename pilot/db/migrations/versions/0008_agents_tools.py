"""tool instances, agents and agent versions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'tool_instances',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('workspace_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('connector', sa.String(length=64), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('credential', sa.String(length=64), nullable=True),
        sa.Column('config', JSON, nullable=False),
        sa.Column('defaults', JSON, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name='fk_tool_instances_workspace_id_workspaces',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_tool_instances'),
        sa.UniqueConstraint('workspace_id', 'name', name='uq_tool_instances_workspace_name'),
    )
    op.create_index('ix_tool_instances_workspace_id', 'tool_instances', ['workspace_id'])
    op.create_table(
        'agents',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('workspace_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('config', JSON, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name='fk_agents_workspace_id_workspaces',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_agents'),
    )
    op.create_index('ix_agents_workspace_id', 'agents', ['workspace_id'])
    op.create_table(
        'agent_versions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('agent_id', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('config', JSON, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name='fk_agent_versions_agent_id_agents', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_agent_versions'),
        sa.UniqueConstraint('agent_id', 'version', name='uq_agent_versions_agent_version'),
    )
    op.create_index('ix_agent_versions_agent_id', 'agent_versions', ['agent_id'])


def downgrade() -> None:
    op.drop_index('ix_agent_versions_agent_id', table_name='agent_versions')
    op.drop_table('agent_versions')
    op.drop_index('ix_agents_workspace_id', table_name='agents')
    op.drop_table('agents')
    op.drop_index('ix_tool_instances_workspace_id', table_name='tool_instances')
    op.drop_table('tool_instances')
