"""Roles per workspace and the rule that says which role a route needs.

A workspace member (a user, or an API key acting as a service account) has one role:

- ``guest`` reads;
- ``member`` also creates, changes and runs (workflows, runs, chat, tables, tools, …);
- ``admin`` also manages the workspace: members, invitations, API keys, credentials, budgets
  and prices.

The role a route needs is derived from the route itself, in one place (:func:`required_role`),
and enforced by one guard (:mod:`pilot.auth.guard`) on every route of the app:

- ``opt={"role": …}`` on a handler (or its controller/router) says it explicitly: ``admin``
  (:data:`ADMIN_ONLY`), ``public`` (:data:`PUBLIC`: no credentials — health, metrics with its own
  token, the panel's files, webhooks with their own signature, login), ``authenticated`` (any
  valid credentials, no workspace role: ``/api/auth/me``, logout), or ``guest``/``member``;
- otherwise the method decides: GET/HEAD → ``guest``; POST/PUT/PATCH/DELETE → ``member``;
- OPTIONS (answered by Litestar, it only lists methods) is always ``public``.

A route that fits none of these (an ASGI mount, a handler mixing safe and unsafe methods) has
no classification: :func:`required_role` raises, and the route × role test fails.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from pilot.auth.service import Workspace

GUEST, MEMBER, ADMIN = "guest", "member", "admin"
ROLES: tuple[str, ...] = (GUEST, MEMBER, ADMIN)  # weakest first
Role = Literal["guest", "member", "admin"]
PUBLIC_ROLE, AUTHENTICATED = "public", "authenticated"
RANK = {role: rank for rank, role in enumerate(ROLES)}

# Handler/controller options (``opt=``) that mark a route.
PUBLIC: dict[str, Any] = {"role": PUBLIC_ROLE}
ADMIN_ONLY: dict[str, Any] = {"role": ADMIN}
MEMBER_ONLY: dict[str, Any] = {"role": MEMBER}
SIGNED_IN: dict[str, Any] = {"role": AUTHENTICATED}

_DECLARABLE = frozenset({PUBLIC_ROLE, AUTHENTICATED, *ROLES})
_SAFE = frozenset({"GET", "HEAD"})
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class UnclassifiedRouteError(RuntimeError):
    """A route whose required role cannot be derived (mark it with ``opt={"role": …}``)."""


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling, and as what. ``workspace``/``role`` are None only for a signed-in user on a
    route that needs no workspace (``/api/auth/me``) and who has none."""

    workspace: Workspace | None
    role: str | None
    user_id: str | None = None
    key_id: str | None = None
    session_id: str | None = None  # the login session of an access token
    email: str | None = None

    @property
    def actor_id(self) -> str | None:
        """The user (``usr_…``) or API key (``key_…``) acting — what ``executions.created_by`` records."""
        return self.user_id or self.key_id


def required_role(handler: Any) -> str:
    """The role (or ``public`` / ``authenticated``) ``handler`` needs; raises when unclassified."""
    methods = frozenset(getattr(handler, "http_methods", None) or ())
    if methods == {"OPTIONS"}:  # Litestar's own answer listing the methods (it inherits its controller's opt)
        return PUBLIC_ROLE
    declared = (getattr(handler, "opt", None) or {}).get("role")
    if declared is not None:
        if declared not in _DECLARABLE:
            raise UnclassifiedRouteError(f"{_name(handler)}: opt role {declared!r} is not one of {sorted(_DECLARABLE)}")
        return declared
    if methods and methods <= _SAFE:
        return GUEST
    if methods and methods <= _UNSAFE:
        return MEMBER
    raise UnclassifiedRouteError(
        f"{_name(handler)} ({', '.join(sorted(methods)) or 'no HTTP methods'}) has no role: mark it with opt={{'role': …}}"
    )


def allows(role: str | None, required: str) -> bool:
    """Whether ``role`` is at least ``required`` (a workspace role)."""
    return role in RANK and RANK[role] >= RANK[required]


def _name(handler: Any) -> str:
    return getattr(handler, "handler_name", None) or repr(handler)
