"""Litestar dependency providers shared by every controller."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.auth.service import Workspace
from pilot.observability.logs import bind_request
from pilot.runtime import Runtime


def provide_runtime(state: State) -> Runtime:
    return state.runtime


async def provide_db_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """A session per request: committed when the handler returns, rolled back if it raises."""
    runtime: Runtime = state.runtime
    async with runtime.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


async def provide_workspace(request: Request, state: State) -> Workspace:
    """Authenticate the request by its bearer API key (401 when missing or invalid); a key seen
    recently is answered from the process's principal cache (:mod:`pilot.auth.principals`)."""
    runtime: Runtime = state.runtime
    workspace = await runtime.principals.authenticate(runtime.sessions, bearer_token(request))
    bind_request(workspace_id=workspace.id)  # every log record of this request names its workspace
    return workspace


# Handler parameter annotations (Litestar 3 requires explicit named dependencies):
#   async def handler(db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep) -> ...
RuntimeDep = NamedDependency[Runtime]
DbSession = NamedDependency[AsyncSession]
CurrentWorkspace = NamedDependency[Workspace]
