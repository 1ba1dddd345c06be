"""Request and response shapes of login, the current principal and workspace administration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from pilot.auth.passwords import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS

Email = Annotated[str, Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$",
                            description="an e-mail address (compared case-insensitively)")]
Password = Annotated[str, Meta(min_length=1, max_length=MAX_PASSWORD_CHARS)]
NewPassword = Annotated[str, Meta(min_length=MIN_PASSWORD_CHARS, max_length=MAX_PASSWORD_CHARS,
                                  description=f"at least {MIN_PASSWORD_CHARS} characters")]
RoleName = Literal["guest", "member", "admin"]
Name = Annotated[str, Meta(max_length=200)]


class LoginRequest(Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class RefreshRequest(Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[str, Meta(min_length=1, max_length=200)]


class UserOut(Struct, kw_only=True):
    id: str
    email: str
    name: str
    created_at: datetime


class TokenPair(Struct, kw_only=True):
    """``Authorization: Bearer <access_token>``; refresh before ``expires_in`` seconds pass."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: str
    user: UserOut
    token_type: str = "Bearer"


class WorkspaceOut(Struct, kw_only=True):
    id: str
    name: str
    role: str | None = None  # the caller's role there
    team: str | None = None
    organization: str | None = None


class Me(Struct, kw_only=True):
    """Who the credentials are: a user (with every workspace they belong to) or an API key."""

    kind: Literal["user", "api_key"]
    workspace: WorkspaceOut | None  # the one this request acts in (X-Pilot-Workspace, else the first)
    user: UserOut | None = None
    key_id: str | None = None
    session_id: str | None = None
    workspaces: list[WorkspaceOut] = []


class MemberOut(Struct, kw_only=True):
    user_id: str
    email: str
    name: str
    role: str
    joined_at: datetime


class MemberList(Struct, kw_only=True):
    items: list[MemberOut]


class RoleUpdate(Struct, forbid_unknown_fields=True):
    role: RoleName


class InvitationCreate(Struct, forbid_unknown_fields=True):
    email: Email
    role: RoleName = "member"


class InvitationOut(Struct, kw_only=True):
    id: str
    email: str
    role: str
    status: Literal["pending", "accepted", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime
    invited_by: str | None = None
    token: str | None = None  # only in the answer that creates it: send it to the invitee


class InvitationList(Struct, kw_only=True):
    items: list[InvitationOut]


class InvitationAccept(Struct, forbid_unknown_fields=True):
    """Accept with the token. A new account needs ``password`` (and may give ``name``); an existing
    account of the invited e-mail is simply added to the workspace."""

    token: Annotated[str, Meta(min_length=1, max_length=200)]
    password: NewPassword | None = None
    name: Name = ""


class Accepted(Struct, kw_only=True):
    workspace: WorkspaceOut
    user: UserOut
    created_account: bool


class KeyCreate(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)] = "default"
    role: RoleName = "member"


class KeyOut(Struct, kw_only=True):
    id: str
    name: str
    prefix: str
    role: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    key: str | None = None  # only in the answer that creates it (shown once; only its sha256 is kept)


class KeyList(Struct, kw_only=True):
    items: list[KeyOut]


# ------------------------------------------------------------------ organisations → teams → workspaces

# A name people type and headers carry (X-Pilot-Workspace): no control characters, no blank ends.
StructureName = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f\s](?:[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f\s])?$",
                                    description="1-200 characters, no control characters, no leading or trailing space")]


class NameCreate(Struct, forbid_unknown_fields=True):
    """``{name}``: a new organisation, team or workspace."""

    name: StructureName


class OrgOut(Struct, kw_only=True):
    id: str
    name: str
    role: Literal["owner", "member"]  # owner: manages its teams and workspaces; member: of one of its workspaces
    created_at: datetime


class OrgList(Struct, kw_only=True):
    items: list[OrgOut]


class TeamOut(Struct, kw_only=True):
    id: str
    name: str
    organization_id: str
    organization: str
    created_at: datetime


class TeamList(Struct, kw_only=True):
    items: list[TeamOut]


class WorkspaceList(Struct, kw_only=True):
    items: list[WorkspaceOut]  # role: the caller's (null: the organisation's owner, not a member)
