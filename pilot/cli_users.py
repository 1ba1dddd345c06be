"""Operator commands on the configured database: ``pilot users create | list | set-password`` and
``pilot orgs list``. They need no server and no credentials (whoever runs them has the database),
so they are how a PostgreSQL deployment gets its first admin user.

Like ``pilot keys create``, what a script needs (a generated password) goes to stdout and
everything else to stderr. Passwords are read from stdin (a hidden prompt on a terminal), never
from the command line, where other users of the machine could read them in the process list.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from typing import Any

import click

ROLE_CHOICE = click.Choice(["guest", "member", "admin"])


def _run(work: Any) -> Any:
    """``work(session)`` in one committed transaction; database errors become one clear line."""
    from sqlalchemy.exc import DBAPIError

    from pilot.cli_workspace import in_database

    try:
        return asyncio.run(in_database(work))
    except DBAPIError as exc:
        raise click.ClickException(f"{str(exc.orig).strip().splitlines()[0]} "
                                   "(is the database reachable and migrated? run `pilot db upgrade`)") from None


def _checked(value: str, kind: Any, what: str, needs: str) -> str:
    """``value`` validated by the API's own type (``kind``), else an error naming ``what`` and what it ``needs``."""
    import msgspec

    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError:
        raise click.BadParameter(f"needs {needs}", param_hint=what) from None


def _read_password() -> str:
    """The new password: one line of stdin, or typed twice at a hidden prompt on a terminal."""
    from pilot.auth.passwords import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS
    from pilot.auth.schemas import NewPassword

    if sys.stdin.isatty():
        password = click.prompt("new password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    return _checked(password, NewPassword, "password (stdin)", f"{MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")


@click.group()
def users() -> None:
    """People who log in (POST /api/auth/login) and their workspaces."""


@users.command("create")
@click.option("--email", required=True, help="the e-mail they log in with")
@click.option("--name", default="", help="display name")
@click.option("--workspace", default=None, help="make them a member of this workspace (created if it does not exist)")
@click.option("--role", type=ROLE_CHOICE, default=None, help="their role in --workspace  [default: member]")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin instead of generating one")
def users_create(email: str, name: str, workspace: str | None, role: str | None, password_stdin: bool) -> None:
    """Create a user; without --password-stdin a random password is printed once on stdout."""
    from pilot.auth.schemas import Email

    if role is not None and workspace is None:
        raise click.UsageError("--role is the role in a workspace: give --workspace too")
    email = _checked(email, Email, "--email", "an e-mail address such as ada@example.com")
    password = _read_password() if password_stdin else secrets.token_urlsafe(15)

    async def _create(db) -> tuple[str, bool]:
        import sqlalchemy as sa

        from pilot.auth.service import get_or_create_workspace
        from pilot.auth.users import add_member, create_user
        from pilot.core.errors import ConflictError
        from pilot.db.models import WorkspaceRow

        try:
            user = await create_user(db, email, password, name)
        except ConflictError as exc:
            raise click.ClickException(f"{exc.detail} (change its password with `pilot users set-password`)") from None
        created_workspace = False
        if workspace is not None:
            created_workspace = await db.scalar(sa.select(WorkspaceRow.id).where(WorkspaceRow.name == workspace)) is None
            await add_member(db, (await get_or_create_workspace(db, workspace)).id, user.id, role or "member")
        return user.id, created_workspace

    user_id, created_workspace = _run(_create)
    where = ""
    if workspace is not None:
        where = f", {role or 'member'} of workspace {workspace!r}" + (" (created)" if created_workspace else "")
    click.echo(f"created user {email.strip().lower()} ({user_id}){where}", err=True)
    if not password_stdin:
        click.echo("password (shown once; store it safely):", err=True)
        click.echo(password)


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def users_list(as_json: bool) -> None:
    """Every user with their workspaces and roles."""

    async def _list(db) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        from pilot.core.ids import aware
        from pilot.db.models import MembershipRow, UserRow, WorkspaceRow

        people = (await db.scalars(sa.select(UserRow).order_by(UserRow.created_at, UserRow.id))).all()
        places = (await db.execute(
            sa.select(MembershipRow.user_id, WorkspaceRow.name, MembershipRow.role)
            .join(WorkspaceRow, WorkspaceRow.id == MembershipRow.workspace_id)
            .order_by(MembershipRow.created_at, MembershipRow.id))).all()
        return [{"id": u.id, "email": u.email, "name": u.name, "created_at": aware(u.created_at).isoformat(),
                 "disabled": u.disabled_at is not None,
                 "workspaces": [{"name": ws, "role": r} for uid, ws, r in places if uid == u.id]} for u in people]

    rows = _run(_list)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    width = max((len(r["email"]) for r in rows), default=5)
    for r in rows:
        workspaces = ", ".join(f"{w['name']} ({w['role']})" for w in r["workspaces"]) or "no workspace"
        click.echo(f"{r['email']:<{width}}  {r['id']}  {workspaces}" + ("  [disabled]" if r["disabled"] else ""))
    click.echo(f"{len(rows)} user{'s' if len(rows) != 1 else ''}", err=True)


@users.command("set-password")
@click.option("--email", required=True, help="whose password")
def users_set_password(email: str) -> None:
    """Set a user's password from stdin; their login sessions end (they log in again)."""
    password = _read_password()

    async def _change(db) -> int:
        import sqlalchemy as sa

        from pilot.auth.passwords import hash_password
        from pilot.auth.sessions import normalise_email
        from pilot.core.ids import utcnow
        from pilot.db.models import AuthSessionRow, UserRow

        user = await db.scalar(sa.select(UserRow).where(UserRow.email == normalise_email(email)))
        if user is None:
            raise click.ClickException(f"no user with e-mail {email!r} (see `pilot users list`)")
        user.password_hash = await asyncio.to_thread(hash_password, password)
        ended = await db.execute(  # an ORM update: this process's principal caches forget the sessions
            sa.update(AuthSessionRow).where(AuthSessionRow.user_id == user.id, AuthSessionRow.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason="password changed").execution_options(synchronize_session=False))
        return ended.rowcount

    ended = _run(_change)
    click.echo(f"password of {email.strip().lower()} changed; {ended} login session{'s' if ended != 1 else ''} ended", err=True)


@click.group()
def orgs() -> None:
    """Organisations → teams → workspaces."""


@orgs.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def orgs_list(as_json: bool) -> None:
    """Every organisation with its owner, teams and their workspaces."""

    async def _list(db) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        from pilot.db.models import OrganizationRow, TeamRow, UserRow, WorkspaceRow

        found = (await db.execute(
            sa.select(OrganizationRow, UserRow.email).outerjoin(UserRow, UserRow.id == OrganizationRow.owner_id)
            .order_by(OrganizationRow.created_at, OrganizationRow.id))).all()
        teams = (await db.scalars(sa.select(TeamRow).order_by(TeamRow.created_at, TeamRow.id))).all()
        spaces = (await db.execute(sa.select(WorkspaceRow.team_id, WorkspaceRow.name)
                                   .order_by(WorkspaceRow.created_at, WorkspaceRow.id))).all()
        return [{"id": org.id, "name": org.name, "owner": owner,
                 "teams": [{"id": t.id, "name": t.name, "workspaces": [n for team_id, n in spaces if team_id == t.id]}
                           for t in teams if t.organization_id == org.id]} for org, owner in found]

    rows = _run(_list)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for org in rows:
        click.echo(f"{org['id']}  {org['name']}  owner: {org['owner'] or '-'}")
        for team in org["teams"]:
            click.echo(f"  {team['id']}  {team['name']}: {', '.join(team['workspaces']) or 'no workspace'}")
    click.echo(f"{len(rows)} organisation{'s' if len(rows) != 1 else ''}", err=True)
