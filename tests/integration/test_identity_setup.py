"""Identity on a fresh install and on an existing database: the first embedded start creates the
admin user (password printed once, saved mode 600) next to the dev key; the identity migration
puts existing workspaces in the default team and keeps existing keys working as admins."""

from __future__ import annotations

import stat

import psycopg
import pytest
from litestar.testing import AsyncTestClient

from pilot.app import create_app
from pilot.db.migrate import downgrade, upgrade
from tests.support.db import create_database, drop_database


async def test_the_first_start_creates_the_admin_user_and_the_dev_key_keeps_working(make_settings, capsys):
    settings = make_settings()
    async with AsyncTestClient(app=create_app(settings)) as client:
        printed = capsys.readouterr().out
        line = next(line for line in printed.splitlines() if "created admin user" in line)
        password = line.split(" with password ", 1)[1].split(" ", 1)[0]
        password_file = settings.app.data_dir / "admin-password"
        assert password_file.read_text().strip() == password
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        dev_key = (settings.app.data_dir / "dev-key").read_text().strip()

        tokens = await client.post("/api/auth/login", json={"email": "admin@localhost", "password": password})
        assert tokens.status_code == 200, tokens.text
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        me = (await client.get("/api/auth/me", headers=headers)).json()
        assert me["workspace"]["name"] == "local" and me["workspace"]["role"] == "admin"
        dev = {"Authorization": f"Bearer {dev_key}"}
        created = await client.post("/api/workflows", json={"name": "x", "nodes": [], "edges": []}, headers=dev)
        assert created.status_code in (201, 422)  # authorised (the empty graph may be refused as a graph)
        assert (await client.get("/api/workspace/keys", headers=dev)).status_code == 200  # the dev key is an admin
        assert (await client.get("/api/workflows", headers=headers)).status_code == 200  # the same workspace
    async with AsyncTestClient(app=create_app(settings)):
        assert "created admin user" not in capsys.readouterr().out  # only the first start


@pytest.mark.postgres
def test_the_identity_migration_keeps_existing_workspaces_and_keys_on_postgres():
    name, url = create_database()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        upgrade(url, "0010")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO workspaces (id, name, created_at) VALUES ('ws_old', 'old', now())")
            conn.execute("INSERT INTO api_keys (id, workspace_id, name, prefix, key_hash, created_at) "
                         "VALUES ('key_old', 'ws_old', 'dev', 'pk_x', 'h', now())")
        upgrade(url)
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SELECT team_id FROM workspaces WHERE id = 'ws_old'").fetchone() == ("team_default",)
            assert conn.execute("SELECT t.name, o.name FROM teams t JOIN organizations o ON o.id = t.organization_id"
                                ).fetchall() == [("default", "default")]
            assert conn.execute("SELECT role FROM api_keys WHERE id = 'key_old'").fetchone() == ("admin",)
            conn.execute("INSERT INTO api_keys (id, workspace_id, name, prefix, key_hash, created_at) "
                         "VALUES ('key_new', 'ws_old', 'n', 'pk_y', 'h2', now())")
            assert conn.execute("SELECT role FROM api_keys WHERE id = 'key_new'").fetchone() == ("admin",)  # server default
            columns = {r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'executions'").fetchall()}
            assert "created_by" in columns
            tables = {r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}
            assert {"users", "memberships", "invitations", "auth_sessions", "refresh_tokens", "teams", "organizations"} <= tables
        downgrade(url, "0010")  # and back: the old schema, the rows kept
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (2,)
            assert conn.execute("SELECT to_regclass('public.users')").fetchone() == (None,)
        upgrade(url)
    finally:
        drop_database(name)
