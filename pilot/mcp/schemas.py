"""API Structs of registered MCP servers (:mod:`pilot.mcp`). No Struct carries a secret value:
the auth header comes from a credential named in ``credential``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

Transport = Literal["streamable_http", "sse", "stdio"]
ServerName = Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$", description="an identifier, unique per workspace")]
CredentialRef = Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", description="a credential's name (/api/credentials)")]
HeaderName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")]
Url = Annotated[str, Meta(min_length=8, max_length=2_000)]
Timeout = Annotated[float, Meta(gt=0, le=600)]
Description = Annotated[str, Meta(max_length=2_000)]
Headers = Annotated[dict[HeaderName, Annotated[str, Meta(max_length=1_000)]], Meta(max_length=32)]
Args = Annotated[list[Annotated[str, Meta(max_length=1_000)]], Meta(max_length=64)]


class McpServerCreate(Struct, forbid_unknown_fields=True, kw_only=True):
    """``url`` for ``streamable_http`` / ``sse``; ``command`` + ``args`` for ``stdio`` (only when the
    operator enabled it). ``credential`` names the credential sent as ``auth_header:
    <auth_scheme> <value>`` (a credential of type ``http_header``, ``"Name: value"``, is sent as is)."""

    name: ServerName
    transport: Transport = "streamable_http"
    url: Url | None = None
    headers: Headers = {}
    credential: CredentialRef | None = None
    auth_header: HeaderName = "Authorization"
    auth_scheme: Annotated[str, Meta(max_length=32)] = "Bearer"
    command: Annotated[str, Meta(min_length=1, max_length=1_000)] | None = None
    args: Args = []
    timeout_s: Timeout | None = None
    description: Description = ""


class McpServerUpdate(Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields left out are kept; ``credential: null`` removes the auth header."""

    name: ServerName | UnsetType = UNSET
    transport: Transport | UnsetType = UNSET
    url: Url | None | UnsetType = UNSET
    headers: Headers | UnsetType = UNSET
    credential: CredentialRef | None | UnsetType = UNSET
    auth_header: HeaderName | UnsetType = UNSET
    auth_scheme: Annotated[str, Meta(max_length=32)] | UnsetType = UNSET
    command: Annotated[str, Meta(min_length=1, max_length=1_000)] | None | UnsetType = UNSET
    args: Args | UnsetType = UNSET
    timeout_s: Timeout | None | UnsetType = UNSET
    description: Description | UnsetType = UNSET


class McpServer(Struct, frozen=True, kw_only=True):
    id: str
    name: str
    description: str
    transport: str
    url: str | None
    headers: dict[str, str]
    credential: str | None  # the credential's name only
    auth_header: str
    auth_scheme: str
    command: str | None
    args: list[str]
    timeout_s: float | None
    created_at: datetime
    updated_at: datetime


class McpServerPage(Struct, frozen=True):
    items: list[McpServer]
    total: int
    limit: int
    offset: int


class McpToolInfo(Struct, frozen=True):
    name: str
    description: str
    input_schema: dict[str, Any]


class McpToolList(Struct, frozen=True):
    server_id: str
    items: list[McpToolInfo]


class McpTestResult(Struct, frozen=True, kw_only=True):
    """``ok``: connected, initialized and listed tools within the timeout; else ``error`` says why."""

    ok: bool
    elapsed_ms: float
    server_name: str | None = None
    server_version: str | None = None
    protocol_version: str | None = None
    tools: list[str] = []
    error: str | None = None
