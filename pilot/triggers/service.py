"""Trigger activation and history: publishing a workflow activates the trigger its input node
declares; unpublishing or deleting deactivates it (deleting cascades in the database).

The trigger keeps its ``hook_id`` and signing secret across re-publishing, so callers need not
be reconfigured; it always runs the *published* version it was activated with. The signing
secret is stored encrypted with the credential key (:mod:`pilot.credentials.crypto`).
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import NotFoundError, UnprocessableError
from pilot.core.ids import aware, new_id, utcnow
from pilot.credentials.crypto import cipher_for
from pilot.core.redaction import register_secret
from pilot.db.models import TriggerFireRow, TriggerRow, WorkflowRow
from pilot.triggers import schedule
from pilot.triggers.schemas import TriggerFire, TriggerInfo, TriggerList
from pilot.settings import AppSettings
from pilot.workflows.model import graph_from_builtins

SIGNED_KINDS = frozenset({"webhook"})
HOOK_KINDS = frozenset({"webhook", "form", "chat"})


def _declared_trigger(graph: dict[str, Any]) -> tuple[str, Any] | None:
    """``(input node id, trigger)`` of a graph, or None for manual / no trigger."""
    for node in graph_from_builtins(graph).nodes:
        if node.__struct_config__.tag == "input" and node.config.trigger is not None:
            trigger = node.config.trigger
            if trigger.__struct_config__.tag != "manual":
                return node.id, trigger
    return None


def signing_secret(trigger: TriggerRow, app: AppSettings) -> str | None:
    """The webhook's HMAC key, decrypted (it is stored encrypted, like credentials)."""
    if not trigger.signing_secret:
        return None
    secret = cipher_for(app).decrypt(trigger.workspace_id, trigger.id, trigger.signing_secret)
    register_secret(secret)
    return secret


async def activate(session: AsyncSession, row: WorkflowRow, app: AppSettings, *, allow_seconds: bool = False) -> TriggerRow | None:
    """Make the trigger of a just-published workflow live (or deactivate it when it has none)."""
    declared = _declared_trigger(row.graph)
    existing = await session.scalar(sa.select(TriggerRow).where(TriggerRow.workflow_id == row.id))
    if declared is None:
        if existing is not None:
            existing.active = False
        return None
    node_id, trigger = declared
    kind = trigger.__struct_config__.tag
    config = {k: v for k, v in msgspec.to_builtins(trigger).items() if k != "kind"}
    next_fire_at = None
    if kind == "schedule":
        try:
            schedule.check(trigger.cron, trigger.timezone, allow_seconds=allow_seconds)
        except schedule.ScheduleError as exc:
            field = f"nodes.{node_id}.config.trigger"
            raise UnprocessableError(f"{field}: {exc}", extra={"field": field}) from exc
        next_fire_at = schedule.next_after(trigger.cron, trigger.timezone, utcnow())
    if existing is None:
        existing = TriggerRow(id=new_id("trg"), workspace_id=row.workspace_id, workflow_id=row.id, created_at=utcnow())
        session.add(existing)
    existing.kind, existing.config, existing.workflow_version = kind, config, row.version
    existing.active, existing.next_fire_at, existing.updated_at = True, next_fire_at, utcnow()
    if kind in HOOK_KINDS and not existing.hook_id:
        existing.hook_id = secrets.token_urlsafe(24)  # 192 bits: the URL is unguessable
    if kind in SIGNED_KINDS and config.get("signature") != "none" and not existing.signing_secret:
        secret = "whsec_" + secrets.token_urlsafe(32)
        register_secret(secret)
        existing.signing_secret = cipher_for(app).encrypt(existing.workspace_id, existing.id, secret)
    await session.flush()
    return existing


async def deactivate(session: AsyncSession, workflow_id: str) -> None:
    await session.execute(sa.update(TriggerRow).where(TriggerRow.workflow_id == workflow_id).values(active=False))


async def list_triggers(session: AsyncSession, workspace_id: str, workflow_id: str, app: AppSettings) -> TriggerList:
    """The workflow's trigger: state, next fire time, hook URL and its last 20 fires."""
    exists = await session.scalar(
        sa.select(WorkflowRow.id).where(WorkflowRow.id == workflow_id, WorkflowRow.workspace_id == workspace_id)
    )
    if exists is None:
        raise NotFoundError(f"workflow {workflow_id!r} not found")
    rows = (await session.scalars(sa.select(TriggerRow).where(TriggerRow.workflow_id == workflow_id))).all()
    items = []
    for row in rows:
        fires = (await session.scalars(
            sa.select(TriggerFireRow).where(TriggerFireRow.trigger_id == row.id)
            .order_by(TriggerFireRow.fired_at.desc(), TriggerFireRow.id.desc()).limit(20)
        )).all()
        hook_path = f"/hooks/{row.hook_id}" if row.hook_id else None
        items.append(TriggerInfo(
            id=row.id, kind=row.kind, active=row.active, workflow_version=row.workflow_version, config=row.config,
            next_fire_at=aware(row.next_fire_at), hook_path=hook_path,
            hook_url=(app.public_url.rstrip("/") + hook_path) if hook_path and app.public_url else None,
            form_url=(f"{hook_path}/form" if hook_path and row.kind == "form" else None),
            signing_secret=signing_secret(row, app),
            fires=[TriggerFire(scheduled_for=aware(f.scheduled_for), fired_at=aware(f.fired_at),
                               execution_id=f.execution_id, error=f.error) for f in fires],
        ))
    return TriggerList(items=items)
