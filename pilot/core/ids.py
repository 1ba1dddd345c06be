"""Identifier and clock helpers, so every table and event uses the same formats."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import overload


def new_id(prefix: str = "") -> str:
    """A sortable-enough random id: ``<prefix>_<uuid4 hex>`` (prefix optional)."""
    raw = uuid.uuid4().hex
    return f"{prefix}_{raw}" if prefix else raw


def new_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


def utcnow() -> datetime:
    """Timezone-aware UTC now; the database stores UTC."""
    return datetime.now(UTC)


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """A stored timestamp as aware UTC: SQLite hands them back without their zone (they are UTC),
    and every timestamp πlot returns is RFC 3339 with an offset."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
