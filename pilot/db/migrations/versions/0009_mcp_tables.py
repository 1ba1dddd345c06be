"""MCP servers (pilot.mcp) and data tables with their rows (pilot.tables)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'mcp_servers',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('workspace_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('transport', sa.String(length=32), nullable=False),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('config', JSONType, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name='fk_mcp_servers_workspace_id_workspaces', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_mcp_servers'),
        sa.UniqueConstraint('workspace_id', 'name', name='uq_mcp_servers_workspace_name'),
    )
    op.create_index('ix_mcp_servers_workspace_id', 'mcp_servers', ['workspace_id'])
    op.create_table(
        'data_tables',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('workspace_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('columns', JSONType, nullable=False),
        sa.Column('key_columns', JSONType, nullable=False),
        sa.Column('row_count', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name='fk_data_tables_workspace_id_workspaces', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_data_tables'),
        sa.UniqueConstraint('workspace_id', 'name', name='uq_data_tables_workspace_name'),
    )
    op.create_index('ix_data_tables_workspace_id', 'data_tables', ['workspace_id'])
    op.create_table(
        'data_table_rows',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('table_id', sa.String(length=64), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=True),
        sa.Column('data', JSONType, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['table_id'], ['data_tables.id'], name='fk_data_table_rows_table_id_data_tables', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_data_table_rows'),
        sa.UniqueConstraint('table_id', 'key_hash', name='uq_data_table_rows_table_key'),
    )
    op.create_index('ix_data_table_rows_table_id', 'data_table_rows', ['table_id'])


def downgrade() -> None:
    op.drop_index('ix_data_table_rows_table_id', table_name='data_table_rows')
    op.drop_table('data_table_rows')
    op.drop_index('ix_data_tables_workspace_id', table_name='data_tables')
    op.drop_table('data_tables')
    op.drop_index('ix_mcp_servers_workspace_id', table_name='mcp_servers')
    op.drop_table('mcp_servers')
