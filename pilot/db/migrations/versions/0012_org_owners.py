"""organisation owners: ``organizations.owner_id`` (the user who created it and manages its teams
and workspaces; null for the default organisation), and organisation names unique per owner
instead of across the installation (a taken name must not reveal another tenant's organisation).

Revision ID: 0012_org_owners
Revises: 0011_identity
Create Date: 2026-12-06 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0012_org_owners'
down_revision = '0011_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite: batch mode copies the table (foreign keys are not enforced during migrations).
    with op.batch_alter_table('organizations') as batch:
        batch.add_column(sa.Column('owner_id', sa.String(64), nullable=True))
        batch.create_foreign_key('fk_organizations_owner_id_users', 'users', ['owner_id'], ['id'], ondelete='SET NULL')
        batch.create_index('ix_organizations_owner_id', ['owner_id'])
        batch.drop_constraint('uq_organizations_name', type_='unique')
        batch.create_unique_constraint('uq_organizations_owner_name', ['owner_id', 'name'])


def downgrade() -> None:
    # Fails if two owners chose the same organisation name meanwhile (rename one first).
    with op.batch_alter_table('organizations') as batch:
        batch.drop_constraint('uq_organizations_owner_name', type_='unique')
        batch.create_unique_constraint('uq_organizations_name', ['name'])
        batch.drop_index('ix_organizations_owner_id')
        batch.drop_constraint('fk_organizations_owner_id_users', type_='foreignkey')
        batch.drop_column('owner_id')
