"""HTTP API of credentials: ``/api/credentials`` (workspace-scoped; values are write-only)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from pilot.auth.roles import ADMIN_ONLY, MEMBER_ONLY  # admins manage secrets; members see their names
from pilot.credentials import store
from pilot.credentials.crypto import cipher_for
from pilot.credentials.schemas import Credential, CredentialCreate, CredentialPage, CredentialType, CredentialUpdate
from pilot.dependencies import CurrentWorkspace, DbSession, RuntimeDep

INT_MAX = 2**31 - 1  # pilot.app rejects any larger integer parameter the same way
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1..200)")]
Offset = Annotated[int, Parameter(ge=0, le=INT_MAX)]


class CredentialController(Controller):
    """Store named secrets (encrypted at rest) that nodes use as ``{{ credentials.<name> }}``."""

    path = "/api/credentials"
    tags = ("credentials",)

    @post("/", opt=ADMIN_ONLY)
    async def create_credential(
        self, data: JSONBody[CredentialCreate], db: DbSession, workspace: CurrentWorkspace, runtime: RuntimeDep
    ) -> Credential:
        """Create a credential (name unique per workspace: 409 otherwise). The value is never returned."""
        return await store.create_credential(db, workspace.id, data, cipher_for(runtime.settings.app))

    @get("/", opt=MEMBER_ONLY)
    async def list_credentials(
        self,
        db: DbSession,
        workspace: CurrentWorkspace,
        limit: FromQuery[Limit] = 50,
        offset: FromQuery[Offset] = 0,
        type: FromQuery[CredentialType | None] = None,  # noqa: A002 - the API's parameter name
    ) -> CredentialPage:
        """The workspace's credentials by name (never their values); optional ``type`` filter."""
        items, total = await store.list_credentials(db, workspace.id, limit=limit, offset=offset, type_=type)
        return CredentialPage(items=items, total=total, limit=limit, offset=offset)

    @get("/{credential_id:str}", opt=MEMBER_ONLY)
    async def get_credential(self, credential_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> Credential:
        """One credential by id (or by name), without its value."""
        return await store.get_credential(db, workspace.id, credential_id)

    @put("/{credential_id:str}", opt=ADMIN_ONLY)
    async def update_credential(
        self,
        credential_id: FromPath[str],
        data: JSONBody[CredentialUpdate],
        db: DbSession,
        workspace: CurrentWorkspace,
        runtime: RuntimeDep,
    ) -> Credential:
        """Rotate the value and/or change the description; runs started from now on use the new value."""
        return await store.update_credential(db, workspace.id, credential_id, data, cipher_for(runtime.settings.app))

    @delete("/{credential_id:str}", opt=ADMIN_ONLY)
    async def delete_credential(self, credential_id: FromPath[str], db: DbSession, workspace: CurrentWorkspace) -> None:
        """Delete the credential; nodes that refer to it fail from the next run on, naming it."""
        await store.delete_credential(db, workspace.id, credential_id)
