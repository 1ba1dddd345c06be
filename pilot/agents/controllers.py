"""HTTP API of agent definitions: ``/api/agents`` (workspace-scoped, versioned)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from pilot.agents import store
from pilot.agents.schemas import Agent, AgentCreate, AgentPage, AgentUpdate, AgentVersion, AgentVersionPage
from pilot.dependencies import CurrentWorkspace, DbSession

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1..200)")]
Offset = Annotated[int, Parameter(ge=0, le=2**31 - 1)]
Version = Annotated[int, Parameter(ge=1, le=2**31 - 1)]


class AgentController(Controller):
    """Reusable agent definitions (model, system prompt, tools, max_steps) that ``agent`` nodes
    refer to with ``config.agent_id``."""

    path = "/api/agents"
    tags = ("agents",)

    @post("/")
    async def create_agent(self, data: JSONBody[AgentCreate], db: DbSession, workspace: CurrentWorkspace) -> Agent:
        """Create a definition (version 1); tool references must have a known prefix (400 otherwise)."""
        return await store.create(db, workspace.id, data)

    @get("/")
    async def list_agents(self, db: DbSession, workspace: CurrentWorkspace, limit: FromQuery[Limit] = 50,
                          offset: FromQuery[Offset] = 0) -> AgentPage:
        """The workspace's agents by name (their current versions)."""
        return await store.list_page(db, workspace.id, limit=limit, offset=offset)

    @get("/{agent_id:str}")
    async def get_agent(self, agent_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> Agent:
        """One agent's current version."""
        return await store.get(db, workspace.id, agent_id)

    @put("/{agent_id:str}")
    async def update_agent(self, agent_id: FromPath[str], data: JSONBody[AgentUpdate], db: DbSession,
                           workspace: CurrentWorkspace) -> Agent:
        """Change an agent: any change makes a new version (a no-op makes none)."""
        return await store.update(db, workspace.id, agent_id, data)

    @delete("/{agent_id:str}")
    async def delete_agent(self, agent_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> None:
        """Delete an agent with its versions; nodes referring to it fail from their next run on."""
        await store.delete(db, workspace.id, agent_id)

    @get("/{agent_id:str}/versions")
    async def list_versions(self, agent_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace,
                            limit: FromQuery[Limit] = 50, offset: FromQuery[Offset] = 0) -> AgentVersionPage:
        """Every version, newest first."""
        return await store.versions(db, workspace.id, agent_id, limit=limit, offset=offset)

    @get("/{agent_id:str}/versions/{version:int}")
    async def get_version(self, agent_id: FromPath[str], version: FromPath[Version], db: DbSession,
                          workspace: CurrentWorkspace) -> AgentVersion:
        """One stored version."""
        return await store.get_version(db, workspace.id, agent_id, version)

    @post("/{agent_id:str}/versions/{version:int}/restore", status_code=200)
    async def restore_version(self, agent_id: FromPath[str], version: FromPath[Version], db: DbSession,
                              workspace: CurrentWorkspace) -> Agent:
        """Make an earlier version current again, as a new version."""
        return await store.restore(db, workspace.id, agent_id, version)
