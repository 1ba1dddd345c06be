"""Identifier and clock helpers, so every table and event uses the same formats."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime


def new_id(prefix: str = "") -> str:
    """A sortable-enough random id: ``<prefix>_<uuid4 hex>`` (prefix optional)."""
    raw = uuid.uuid4().hex
    return f"{prefix}_{raw}" if prefix else raw


def new_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


def utcnow() -> datetime:
    """Timezone-aware UTC now; the database stores UTC."""
    return datetime.now(UTC)
