"""Migration 0012_org_owners on an existing database (SQLite's batch copy and PostgreSQL's ALTERs):
organisations keep their rows and get an owner column; names become unique per owner (two tenants
may both have an "Acme"), and the migration goes back down."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pilot.db.migrate import downgrade, upgrade
from tests.support.db import create_database, drop_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "old.db"
        yield f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}"
        return
    name, url = create_database()
    try:
        yield url, url
    finally:
        drop_database(name)


def test_org_owners_migration_keeps_rows_and_scopes_names_to_owners(database):
    url, sync_url = database
    upgrade(url, "0011_identity")
    engine = sa.create_engine(sync_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO organizations (id, name, created_at) VALUES ('org_old', 'Acme', CURRENT_TIMESTAMP)"))
            for uid in ("usr_a", "usr_b"):
                conn.execute(sa.text("INSERT INTO users (id, email, name, password_hash, created_at) "
                                     "VALUES (:id, :email, '', 'x', CURRENT_TIMESTAMP)"), {"id": uid, "email": f"{uid}@x.test"})
        upgrade(url)
        insert = sa.text("INSERT INTO organizations (id, name, owner_id, created_at) VALUES (:id, 'Acme', :owner, CURRENT_TIMESTAMP)")
        with engine.begin() as conn:
            rows = conn.execute(sa.text("SELECT id, name, owner_id FROM organizations ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [("org_default", "default", None), ("org_old", "Acme", None)]
            conn.execute(insert, {"id": "org_a", "owner": "usr_a"})
            conn.execute(insert, {"id": "org_b", "owner": "usr_b"})  # the same name, another owner
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(insert, {"id": "org_a2", "owner": "usr_a"})  # the same owner twice
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM organizations WHERE id IN ('org_a', 'org_b')"))
        downgrade(url, "0011_identity")
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM organizations")).scalar_one() == 2
            columns = {c["name"] for c in sa.inspect(conn).get_columns("organizations")}
            assert "owner_id" not in columns
        upgrade(url)
    finally:
        engine.dispose()
