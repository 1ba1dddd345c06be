"""API Structs of the credentials domain. The value is write-only: no response Struct has it."""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from pilot.core.redaction import MIN_SECRET_LEN

CredentialType = Literal[
    "slack_webhook", "feishu_bot", "dingtalk_bot", "wecom_bot", "smtp", "http_header", "bearer_token",
    "openai_key", "secret",
]
CREDENTIAL_TYPES: tuple[str, ...] = typing.get_args(CredentialType)
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
MAX_VALUE_CHARS = 16_384

CredentialName = Annotated[
    str,
    Meta(pattern=NAME_PATTERN, description="an identifier, referenced in node fields as {{ credentials.<name> }}"),
]
# Shorter values could not be redacted (pilot.core.redaction ignores them: they are ordinary words).
CredentialValue = Annotated[
    str,
    Meta(min_length=MIN_SECRET_LEN, max_length=MAX_VALUE_CHARS, description="the secret; write-only, never returned"),
]
Description = Annotated[str, Meta(max_length=2_000)]


class CredentialCreate(Struct, forbid_unknown_fields=True):
    name: CredentialName
    type: CredentialType
    value: CredentialValue
    description: Description = ""


class CredentialUpdate(Struct, forbid_unknown_fields=True):
    """Rotation: a new ``value`` (workflows referencing the name use it from their next run on)
    and/or a new ``description``. The name and type are fixed."""

    value: CredentialValue | None = None
    description: Description | None = None


class Credential(Struct, frozen=True):
    id: str
    name: str
    type: str
    description: str
    created_at: datetime
    updated_at: datetime


class CredentialPage(Struct, frozen=True):
    items: list[Credential]
    total: int
    limit: int
    offset: int
