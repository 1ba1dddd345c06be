"""``pilot users create | list | set-password`` and ``pilot orgs list``, run as real processes on the
embedded SQLite database and on a fresh PostgreSQL one; what they create is then used through the
API (log in, act in the workspace, see the organisation an API user created)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from pilot.app import create_app
from pilot.cli import main
from tests.conftest import build_settings
from tests.integration.test_cli import run_cli
from tests.support.db import create_database, drop_database
from tests.support.workflows import workflow_body

NEW_PASSWORD = "a brand new passphrase"


async def _login(client, email: str, password: str):
    return await client.post("/api/auth/login", json={"email": email, "password": password})


async def test_users_create_list_set_password_and_orgs_list_on_sqlite(tmp_path):
    data_dir = tmp_path / ".pilot"
    env = {"PILOT_DATA_DIR": str(data_dir)}
    created = run_cli("users", "create", "--email", "Ada@Example.com", "--role", "admin", "--workspace", "acme", env=env)
    assert created.returncode == 0, created.stderr
    password = created.stdout.strip()
    assert len(password) >= 16 and "\n" not in password  # stdout holds only the password, for scripts
    assert "created user ada@example.com" in created.stderr and "admin of workspace 'acme' (created)" in created.stderr
    chosen = run_cli("users", "create", "--email", "bob@example.com", "--workspace", "acme", "--password-stdin",
                     env=env, input="bobs password\n")
    assert chosen.returncode == 0 and chosen.stdout == "", chosen.stderr
    assert "member of workspace 'acme'" in chosen.stderr and "(created)" not in chosen.stderr

    settings = build_settings(data_dir, PILOT_AUTH_CACHE_TTL_S="0")
    async with AsyncTestClient(app=create_app(settings)) as client:
        tokens = await _login(client, "ada@example.com", password)
        assert tokens.status_code == 200, tokens.text
        ada = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        me = (await client.get("/api/auth/me", headers=ada)).json()
        assert [(w["name"], w["role"]) for w in me["workspaces"]] == [("acme", "admin")]
        assert (await client.get("/api/workspace/keys", headers=ada)).status_code == 200  # really an admin
        bob = (await _login(client, "bob@example.com", "bobs password")).json()
        bob_h = {"Authorization": f"Bearer {bob['access_token']}"}
        assert (await client.post("/api/workflows", json=workflow_body(), headers=bob_h)).status_code == 201  # a member
        org = (await client.post("/api/orgs", json={"name": "Ada Labs"}, headers=ada)).json()
        team = (await client.post(f"/api/orgs/{org['id']}/teams", json={"name": "core"}, headers=ada)).json()
        ws = await client.post(f"/api/teams/{team['id']}/workspaces", json={"name": "lab"}, headers=ada)
        assert ws.status_code == 201, ws.text

        changed = run_cli("users", "set-password", "--email", "BOB@example.com", env=env, input=NEW_PASSWORD + "\n")
        assert changed.returncode == 0, changed.stderr
        assert "1 login session ended" in changed.stderr
        assert (await _login(client, "bob@example.com", "bobs password")).status_code == 401
        assert (await _login(client, "bob@example.com", NEW_PASSWORD)).status_code == 200
        assert (await client.get("/api/workflows", headers=bob_h)).status_code == 401  # the old session ended
        refreshed = await client.post("/api/auth/refresh", json={"refresh_token": bob["refresh_token"]})
        assert refreshed.status_code == 401

    listed = run_cli("users", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    people = {u["email"]: u for u in json.loads(listed.stdout)}
    assert [(w["name"], w["role"]) for w in people["ada@example.com"]["workspaces"]] == [("acme", "admin"), ("lab", "admin")]
    assert [(w["name"], w["role"]) for w in people["bob@example.com"]["workspaces"]] == [("acme", "member")]
    assert "ada@example.com" in run_cli("users", "list", env=env).stdout

    orgs = run_cli("orgs", "list", env=env)
    assert orgs.returncode == 0, orgs.stderr
    assert f"{org['id']}  Ada Labs  owner: ada@example.com" in orgs.stdout
    assert f"  {team['id']}  core: lab" in orgs.stdout and "  team_default  default: acme" in orgs.stdout
    tree = {o["name"]: o for o in json.loads(run_cli("orgs", "list", "--json", env=env).stdout)}
    assert tree["default"]["owner"] is None and tree["Ada Labs"]["teams"][0]["workspaces"] == ["lab"]


def test_users_commands_refuse_bad_input_and_change_nothing(tmp_path):
    env = {"PILOT_DATA_DIR": str(tmp_path / ".pilot"), "DATABASE_URL": None, "REDIS_URL": None}

    def pilot(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), env=env, input=input)

    assert pilot("users", "create", "--email", "ada@example.com").exit_code == 0
    again = pilot("users", "create", "--email", "ADA@example.com")
    assert again.exit_code == 1 and again.stdout == "" and "exists already" in again.stderr
    bad_email = pilot("users", "create", "--email", "not-an-email")
    assert bad_email.exit_code == 2 and "--email" in bad_email.stderr
    short = pilot("users", "create", "--email", "bob@example.com", "--password-stdin", input="short\n")
    assert short.exit_code == 2 and "8 to 1024 characters" in short.stderr
    lonely_role = pilot("users", "create", "--email", "bob@example.com", "--role", "admin")
    assert lonely_role.exit_code == 2 and "--workspace" in lonely_role.stderr
    ghost = pilot("users", "set-password", "--email", "ghost@example.com", input=NEW_PASSWORD + "\n")
    assert ghost.exit_code == 1 and "no user with e-mail 'ghost@example.com'" in ghost.stderr
    emails = [u["email"] for u in json.loads(pilot("users", "list", "--json").stdout)]
    assert emails == ["ada@example.com"]


@pytest.mark.postgres
async def test_the_first_admin_of_a_postgres_deployment_comes_from_the_cli(tmp_path):
    """PostgreSQL has no embedded first admin: the operator creates one, who then logs in."""
    name, url = create_database()
    try:
        env = {"DATABASE_URL": url, "PILOT_DATA_DIR": str(tmp_path / ".pilot")}
        assert run_cli("db", "upgrade", env=env).returncode == 0
        created = run_cli("users", "create", "--email", "ops@example.com", "--role", "admin", "--workspace", "prod", env=env)
        assert created.returncode == 0, created.stderr
        settings = build_settings(tmp_path / ".pilot", url)
        async with AsyncTestClient(app=create_app(settings)) as client:
            tokens = await _login(client, "ops@example.com", created.stdout.strip())
            assert tokens.status_code == 200, tokens.text
            ops = {"Authorization": f"Bearer {tokens.json()['access_token']}", "X-Pilot-Workspace": "prod"}
            assert (await client.get("/api/workspace", headers=ops)).json()["role"] == "admin"
            org = (await client.post("/api/orgs", json={"name": "Prod Org"}, headers=ops)).json()
        assert run_cli("users", "set-password", "--email", "ops@example.com", env=env, input=NEW_PASSWORD + "\n").returncode == 0
        orgs = run_cli("orgs", "list", env=env)
        assert f"{org['id']}  Prod Org  owner: ops@example.com" in orgs.stdout and "team_default  default: prod" in orgs.stdout
    finally:
        drop_database(name)
