"""Litestar dependency providers shared by every controller."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.auth.guard import current_principal
from pilot.auth.roles import Principal
from pilot.auth.service import Workspace
from pilot.core.errors import ForbiddenError
from pilot.runtime import Runtime


def provide_runtime(state: State) -> Runtime:
    return state.runtime


async def provide_db_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """A session per request: committed when the handler returns, rolled back if it raises.

    A handler that never used it (a cached answer, ``generate`` with ``save: false``) began no
    transaction (``add()`` and every query begin one), so there is nothing to commit: skipping
    the empty commit saves a greenlet round trip per request."""
    runtime: Runtime = state.runtime
    async with runtime.sessions() as session:
        try:
            yield session
            if session.in_transaction():
                await session.commit()
        except BaseException:
            if session.in_transaction():
                await session.rollback()
            raise


def provide_principal(request: Request) -> Principal:
    """Who is calling and with which role: established by the app-wide guard
    (:mod:`pilot.auth.guard`), which authenticated the request before any dependency runs."""
    return current_principal(request)


def provide_workspace(request: Request) -> Workspace:
    """The workspace the request acts in (the guard's principal's)."""
    workspace = current_principal(request).workspace
    if workspace is None:  # only "authenticated" routes let a user without a workspace through
        raise ForbiddenError("you are not a member of any workspace yet: ask an admin for an invitation")
    return workspace


# Handler parameter annotations (Litestar 3 requires explicit named dependencies):
#   async def handler(db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep) -> ...
RuntimeDep = NamedDependency[Runtime]
DbSession = NamedDependency[AsyncSession]
CurrentWorkspace = NamedDependency[Workspace]
CurrentPrincipal = NamedDependency[Principal]  # the workspace plus role, user_id / key_id (pilot.auth.roles)
