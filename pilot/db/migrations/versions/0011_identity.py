"""identity: organisations → teams → workspaces, users, memberships with a role, invitations,
login sessions and their refresh tokens; API keys get a role (existing keys: admin); executions
record who started them (created_by). Existing workspaces join the default team of the default
organisation.

Revision ID: 0011_identity
Revises: 0010
Create Date: 2026-12-05 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0011_identity'
down_revision = '0010'
branch_labels = None
depends_on = None

DEFAULT_ORG_ID = 'org_default'  # the same ids as pilot.auth.orgs.DEFAULT_ORG_ID / DEFAULT_TEAM_ID
DEFAULT_TEAM_ID = 'team_default'


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        'organizations',
        sa.Column('id', sa.String(64), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        _ts('created_at', nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_organizations'),
        sa.UniqueConstraint('name', name='uq_organizations_name'),
    )
    op.create_table(
        'teams',
        sa.Column('id', sa.String(64), nullable=False),
        sa.Column('organization_id', sa.String(64), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        _ts('created_at', nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name='fk_teams_organization_id_organizations',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_teams'),
        sa.UniqueConstraint('organization_id', 'name', name='uq_teams_organization_name'),
    )
    op.create_index('ix_teams_organization_id', 'teams', ['organization_id'])
    op.create_table(
        'users',
        sa.Column('id', sa.String(64), nullable=False),
        sa.Column('email', sa.String(320), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('password_hash', sa.String(256), nullable=False),
        _ts('created_at', nullable=False),
        _ts('last_login_at'),
        _ts('disabled_at'),
        sa.PrimaryKeyConstraint('id', name='pk_users'),
        sa.UniqueConstraint('email', name='uq_users_email'),
    )
    op.create_table(
        'memberships',
        sa.Column('id', sa.String(64), nullable=False),
        sa.Column('workspace_id', sa.String(64), nullable=False),
        sa.Column('user_id', sa.String(64), nullable=False),
        sa.Column('role', sa.String(16), nullable=False),
        _ts('created_at', nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name='fk_memberships_workspace_id_workspaces',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_memberships_user_id_users', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_memberships'),
        sa.UniqueConstraint('workspace_id', 'user_id', name='uq_memberships_workspace_user'),
    )
    op.create_index('ix_memberships_workspace_id', 'memberships', ['workspace_id'])
    op.create_index('ix_memberships_user_id', 'memberships', ['user_id'])
    op.create_table(
        'invitations',
        sa.Column('id', sa.String(64), nullable=False),
        sa.Column('workspace_id', sa.String(64), nullable=False),
        sa.Column('email', sa.String(320), nullable=False),
        sa.Column('role', sa.String(16), nullable=False),
        sa.Column('token_hash', sa.String(64), nullable=False),
        sa.Column('invited_by', sa.String(64), nullable=True),
        _ts('created_at', nullable=False),
        _ts('expires_at', nullable=False),
        _ts('accepted_at'),
        sa.Column('accepted_by', sa.String(64), nullable=True),
        _ts('revoked_at'),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], name='fk_invitations_workspace_id_workspaces',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_invitations'),
        sa.UniqueConstraint('token_hash', name='uq_invitations_token_hash'),
    )
    op.create_index('ix_invitations_workspace_id', 'invitations', ['workspace_id'])
    op.create_table(
        'auth_sessions',
        sa.Column('id', sa.String(64), nullable=False),
        sa.Column('user_id', sa.String(64), nullable=False),
        _ts('created_at', nullable=False),
        _ts('expires_at', nullable=False),
        _ts('revoked_at'),
        sa.Column('revoked_reason', sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_auth_sessions_user_id_users', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_auth_sessions'),
    )
    op.create_index('ix_auth_sessions_user_id', 'auth_sessions', ['user_id'])
    op.create_table(
        'refresh_tokens',
        sa.Column('id', sa.String(64), nullable=False),
        sa.Column('session_id', sa.String(64), nullable=False),
        sa.Column('token_hash', sa.String(64), nullable=False),
        _ts('created_at', nullable=False),
        _ts('rotated_at'),
        sa.ForeignKeyConstraint(['session_id'], ['auth_sessions.id'], name='fk_refresh_tokens_session_id_auth_sessions',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_refresh_tokens'),
        sa.UniqueConstraint('token_hash', name='uq_refresh_tokens_token_hash'),
    )
    op.create_index('ix_refresh_tokens_session_id', 'refresh_tokens', ['session_id'])

    # SQLite: batch mode copies the table (foreign keys are not enforced during migrations).
    with op.batch_alter_table('workspaces') as batch:
        batch.add_column(sa.Column('team_id', sa.String(64), nullable=True))
        batch.create_foreign_key('fk_workspaces_team_id_teams', 'teams', ['team_id'], ['id'], ondelete='SET NULL')
        batch.create_index('ix_workspaces_team_id', ['team_id'])
    with op.batch_alter_table('api_keys') as batch:
        batch.add_column(sa.Column('role', sa.String(16), nullable=False, server_default='admin'))
    with op.batch_alter_table('executions') as batch:
        batch.add_column(sa.Column('created_by', sa.String(64), nullable=True))

    # Every existing workspace joins the default team of the default organisation.
    now = sa.func.now() if op.get_bind().dialect.name == 'postgresql' else sa.func.current_timestamp()
    orgs = sa.table('organizations', sa.column('id'), sa.column('name'), sa.column('created_at'))
    teams = sa.table('teams', sa.column('id'), sa.column('organization_id'), sa.column('name'), sa.column('created_at'))
    workspaces = sa.table('workspaces', sa.column('team_id'))
    op.execute(orgs.insert().values(id=DEFAULT_ORG_ID, name='default', created_at=now))
    op.execute(teams.insert().values(id=DEFAULT_TEAM_ID, organization_id=DEFAULT_ORG_ID, name='default', created_at=now))
    op.execute(workspaces.update().values(team_id=DEFAULT_TEAM_ID))


def downgrade() -> None:
    with op.batch_alter_table('executions') as batch:
        batch.drop_column('created_by')
    with op.batch_alter_table('api_keys') as batch:
        batch.drop_column('role')
    with op.batch_alter_table('workspaces') as batch:
        batch.drop_index('ix_workspaces_team_id')
        batch.drop_constraint('fk_workspaces_team_id_teams', type_='foreignkey')
        batch.drop_column('team_id')
    for table in ('refresh_tokens', 'auth_sessions', 'invitations', 'memberships', 'users', 'teams', 'organizations'):
        op.drop_table(table)
