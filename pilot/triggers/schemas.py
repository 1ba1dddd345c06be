"""Boundary types of triggers (msgspec)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct


class TriggerFire(Struct, frozen=True):
    scheduled_for: datetime | None  # the schedule tick (null for webhook / form fires)
    fired_at: datetime | None
    execution_id: str | None
    error: str | None = None


class TriggerInfo(Struct, frozen=True):
    id: str
    kind: str
    active: bool
    workflow_version: int
    config: dict[str, Any]
    next_fire_at: datetime | None
    hook_path: str | None  # POST (or GET) here to start a run
    hook_url: str | None  # absolute, when PILOT_PUBLIC_URL is set
    form_url: str | None
    signing_secret: str | None  # HMAC-SHA256 key for X-Pilot-Signature (webhooks)
    fires: list[TriggerFire]


class TriggerList(Struct, frozen=True):
    items: list[TriggerInfo]


class HookAccepted(Struct, frozen=True):
    execution_id: str
    status: str
    stream_url: str
    outputs: dict[str, Any] | None = None
    error: str | None = None
