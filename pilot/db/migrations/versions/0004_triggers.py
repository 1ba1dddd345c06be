"""triggers: schedule / webhook / form triggers, their fires, and executions.trigger

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 13:40:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('triggers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('workspace_id', sa.String(length=64), nullable=False),
    sa.Column('workflow_id', sa.String(length=64), nullable=False),
    sa.Column('workflow_version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('config', _JSON, nullable=False),
    sa.Column('hook_id', sa.String(length=64), nullable=True),
    sa.Column('signing_secret', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('next_fire_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_triggers_workflow_id_workflows'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name=op.f('fk_triggers_workspace_id_workspaces'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triggers')),
    sa.UniqueConstraint('hook_id', name=op.f('uq_triggers_hook_id')),
    sa.UniqueConstraint('workflow_id', name=op.f('uq_triggers_workflow_id'))
    )
    op.create_index(op.f('ix_triggers_workspace_id'), 'triggers', ['workspace_id'], unique=False)
    op.create_index(op.f('ix_triggers_active'), 'triggers', ['active'], unique=False)
    op.create_index(op.f('ix_triggers_next_fire_at'), 'triggers', ['next_fire_at'], unique=False)
    op.create_table('trigger_fires',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('trigger_id', sa.String(length=64), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('execution_id', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['trigger_id'], ['triggers.id'], name=op.f('fk_trigger_fires_trigger_id_triggers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trigger_fires')),
    sa.UniqueConstraint('trigger_id', 'scheduled_for', name=op.f('uq_trigger_fires_trigger_id'))
    )
    op.create_index(op.f('ix_trigger_fires_trigger_id'), 'trigger_fires', ['trigger_id'], unique=False)
    with op.batch_alter_table('executions') as batch:
        batch.add_column(sa.Column('trigger', sa.String(length=16), nullable=False, server_default='manual'))
        batch.create_index(batch.f('ix_executions_trigger'), ['trigger'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('executions') as batch:
        batch.drop_index(batch.f('ix_executions_trigger'))
        batch.drop_column('trigger')
    op.drop_table('trigger_fires')
    op.drop_table('triggers')
