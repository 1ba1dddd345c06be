"""Credentials in the database, always scoped to one workspace.

Every function takes the caller's ``workspace_id`` and filters by it, so another workspace's
credential is indistinguishable from a missing one (404). The row holds only the ciphertext
(:mod:`pilot.credentials.crypto`); a value is decrypted only for a run
(:func:`credentials_for_run`), and every value this process sees — created, rotated or
decrypted — is registered for redaction first (:func:`register_value`).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import BadRequestError, ConflictError, NotFoundError
from pilot.core.ids import aware, new_id, utcnow
from pilot.core.redaction import MIN_SECRET_LEN, MIN_TOKEN_PART, register_url_secret
from pilot.credentials.crypto import CredentialCipher, CredentialDecryptError, CredentialKeyError, cipher_for
from pilot.credentials.schemas import Credential, CredentialCreate, CredentialUpdate
from pilot.credentials.scope import CredentialScope
from pilot.db.models import CredentialRow
from pilot.settings import Settings

log = logging.getLogger("pilot.credentials")

# Types whose value is a URL with the secret in its path (a bot/webhook token).
_TOKEN_PATH_TYPES = frozenset({"slack_webhook", "feishu_bot", "dingtalk_bot", "wecom_bot"})


class CredentialNotFound(NotFoundError):
    """No credential with that id or name in the workspace."""


def register_value(value: str, type_: str = "secret") -> None:
    """Redact ``value`` from now on in this process, and the parts of it that get printed on their
    own: a URL's password, its token-like query values and, for webhook and bot types, its path
    (the token) — :func:`pilot.core.redaction.register_url_secret`."""
    register_url_secret(value, min_path=MIN_TOKEN_PART if type_ in _TOKEN_PATH_TYPES else None)




def _credential(row: CredentialRow) -> Credential:
    return Credential(
        id=row.id, name=row.name, type=row.type, description=row.description,
        created_at=aware(row.created_at), updated_at=aware(row.updated_at),
    )


def _check_value(value: str) -> None:
    if len(value.strip()) < MIN_SECRET_LEN:
        message = (f"must have at least {MIN_SECRET_LEN} characters besides surrounding whitespace "
                   "(shorter values cannot be redacted from run events and logs)")
        raise BadRequestError(f"body field 'value': {message}", extra=[{"key": "value", "message": message, "source": "body"}])


def _conflict(name: str) -> ConflictError:
    message = f"a credential named {name!r} already exists"
    return ConflictError(message, extra=[{"key": "name", "message": message, "source": "body"}])


async def create_credential(
    session: AsyncSession, workspace_id: str, data: CredentialCreate, cipher: CredentialCipher
) -> Credential:
    _check_value(data.value)
    register_value(data.value, data.type)
    exists = await session.scalar(
        sa.select(CredentialRow.id).where(CredentialRow.workspace_id == workspace_id, CredentialRow.name == data.name)
    )
    if exists:
        raise _conflict(data.name)
    credential_id = new_id("cred")
    now = utcnow()
    row = CredentialRow(
        id=credential_id, workspace_id=workspace_id, name=data.name, type=data.type, description=data.description,
        ciphertext=cipher.encrypt(workspace_id, credential_id, data.value), created_at=now, updated_at=now,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create with the same name
        raise _conflict(data.name) from exc
    return _credential(row)


async def workspace_credential_names(session: AsyncSession, workspace_id: str) -> set[str]:
    """The names of the workspace's credentials (one query, no values: what readiness checks against)."""
    return set((await session.scalars(sa.select(CredentialRow.name).where(CredentialRow.workspace_id == workspace_id))).all())


async def list_credentials(
    session: AsyncSession, workspace_id: str, *, limit: int = 50, offset: int = 0, type_: str | None = None
) -> tuple[list[Credential], int]:
    where = [CredentialRow.workspace_id == workspace_id]
    if type_ is not None:
        where.append(CredentialRow.type == type_)
    total = await session.scalar(sa.select(sa.func.count()).select_from(CredentialRow).where(*where)) or 0
    rows = (
        await session.scalars(
            sa.select(CredentialRow).where(*where).order_by(CredentialRow.name, CredentialRow.id).limit(limit).offset(offset)
        )
    ).all()
    return [_credential(r) for r in rows], total


async def _row(session: AsyncSession, workspace_id: str, ref: str) -> CredentialRow:
    """Find by id, else by exact name, inside the workspace."""
    for column in (CredentialRow.id, CredentialRow.name):
        row = await session.scalar(
            sa.select(CredentialRow).where(CredentialRow.workspace_id == workspace_id, column == ref)
        )
        if row is not None:
            return row
    raise CredentialNotFound(f"credential {ref!r} not found")


async def get_credential(session: AsyncSession, workspace_id: str, ref: str) -> Credential:
    return _credential(await _row(session, workspace_id, ref))


async def update_credential(
    session: AsyncSession, workspace_id: str, ref: str, data: CredentialUpdate, cipher: CredentialCipher
) -> Credential:
    """Rotate the value and/or change the description (the next run uses the new value)."""
    if data.value is None and data.description is None:
        message = "nothing to change: give 'value' and/or 'description'"
        raise BadRequestError(f"request body: {message}", extra=[{"key": "value", "message": message, "source": "body"}])
    if data.value is not None:
        _check_value(data.value)
    row = await _row(session, workspace_id, ref)
    if data.value is not None:
        register_value(data.value, row.type)
        row.ciphertext = cipher.encrypt(workspace_id, row.id, data.value)
    if data.description is not None:
        row.description = data.description
    row.updated_at = utcnow()
    await session.flush()
    return _credential(row)


async def delete_credential(session: AsyncSession, workspace_id: str, ref: str) -> None:
    row = await _row(session, workspace_id, ref)
    await session.delete(row)
    await session.flush()


def _mentions_credentials(graph: Any) -> bool:
    """Whether any template of ``graph`` can read ``credentials``: jinja2 has no dynamic variable
    lookup, so a template that does spells the name out, and a graph that never does needs none."""
    try:
        return b"credentials" in msgspec.json.encode(graph)
    except (TypeError, ValueError, OverflowError):
        return True


async def credentials_for_run(sessions: Any, settings: Settings, workspace_id: str, graph: Any = None) -> CredentialScope:
    """The workspace's credentials for one run, decrypted once at its start (each value registered
    for redaction before anything can render it). A value that does not decrypt is kept as a
    reason, so only a node that refers to it fails, naming it. ``graph`` (the run's snapshot)
    lets runs whose graph never mentions ``credentials`` skip the query."""
    if graph is not None and not _mentions_credentials(graph):
        return CredentialScope()
    async with sessions() as session:
        rows = (
            await session.execute(
                sa.select(CredentialRow.id, CredentialRow.name, CredentialRow.type, CredentialRow.ciphertext)
                .where(CredentialRow.workspace_id == workspace_id)
            )
        ).all()
    if not rows:
        return CredentialScope()
    values: dict[str, str] = {}
    broken: dict[str, str] = {}
    try:
        cipher = cipher_for(settings.app)
    except (CredentialKeyError, OSError) as exc:
        log.error("credentials of workspace %s are unavailable: %s", workspace_id, exc)
        return CredentialScope(broken={row.name: f"the credential key is unavailable: {exc}" for row in rows})
    for row in rows:
        try:
            value = cipher.decrypt(workspace_id, row.id, row.ciphertext)
        except CredentialDecryptError as exc:
            log.warning("credential %r of workspace %s does not decrypt with the current key", row.name, workspace_id)
            broken[row.name] = str(exc)
            continue
        register_value(value, row.type)
        values[row.name] = value
    return CredentialScope(values, broken)
