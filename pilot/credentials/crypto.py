"""Encryption at rest of credential values.

Values are encrypted with Fernet (``cryptography``: AES-128-CBC + HMAC-SHA256, authenticated).
The Fernet key is derived with HKDF-SHA256 from one secret:

- ``PILOT_SECRET_KEY`` (``AppSettings.secret_key``, at least 32 characters, e.g. the output of
  ``python -c 'import secrets; print(secrets.token_urlsafe(32))'``): set it in production, the
  same in every process (API replicas, workers) — a value encrypted under one key does not
  decrypt under another;
- unset (embedded default): the key file ``<data_dir>/secret.key``, created on first use with
  mode 600 (atomically: processes starting together agree on one key) and reused afterwards.
  Losing it loses every stored value (the credentials must then be set again).

A token encrypts ``{"w": workspace_id, "i": credential_id, "v": value}``, and decryption checks
both ids, so a ciphertext copied onto another row or into another workspace does not decrypt.
The secret itself is registered for redaction (it must never show up in a log either).
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import threading
from pathlib import Path

import msgspec
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pilot.core.redaction import register_secret
from pilot.settings import AppSettings

log = logging.getLogger("pilot.credentials")

KEY_FILE = "secret.key"
MIN_KEY_CHARS = 32  # the settings field enforces the same minimum on PILOT_SECRET_KEY
_HKDF_SALT = b"pilot.credentials.v1"
_HKDF_INFO = b"fernet-key"


class CredentialKeyError(RuntimeError):
    """The key file is unusable (a configuration problem, not bad input)."""


class CredentialDecryptError(Exception):
    """A stored value does not decrypt with the current key (or belongs to another row)."""


class _Sealed(msgspec.Struct, frozen=True):
    w: str  # workspace id
    i: str  # credential id
    v: str  # the value


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Sealed).decode


def derive_fernet_key(secret: str) -> bytes:
    """The urlsafe-base64 Fernet key for ``secret`` (HKDF-SHA256, fixed salt and info)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


class CredentialCipher:
    """Encrypts and decrypts credential values under one key."""

    __slots__ = ("_fernet",)

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_KEY_CHARS:
            raise CredentialKeyError(f"the credential key must have at least {MIN_KEY_CHARS} characters")
        self._fernet = Fernet(derive_fernet_key(secret))

    def encrypt(self, workspace_id: str, credential_id: str, value: str) -> str:
        return self._fernet.encrypt(_encode(_Sealed(workspace_id, credential_id, value))).decode("ascii")

    def decrypt(self, workspace_id: str, credential_id: str, token: str) -> str:
        try:
            sealed = _decode(self._fernet.decrypt(token.encode("ascii")))
        except (InvalidToken, UnicodeEncodeError, msgspec.DecodeError) as exc:
            raise CredentialDecryptError(
                "its stored value does not decrypt with the current key (was PILOT_SECRET_KEY or the "
                "key file changed?); set the value again with PUT /api/credentials/{id}"
            ) from exc
        if sealed.w != workspace_id or sealed.i != credential_id:
            raise CredentialDecryptError("its stored value belongs to another credential; set the value again")
        return sealed.v

    def __repr__(self) -> str:
        return "CredentialCipher(***)"


_ciphers: dict[tuple[str, str], CredentialCipher] = {}
_lock = threading.Lock()


def cipher_for(app: AppSettings) -> CredentialCipher:
    """The cipher of these settings (cached per key source); creates the key file if needed."""
    source = ("env", app.secret_key) if app.secret_key else ("file", str((Path(app.data_dir) / KEY_FILE).absolute()))
    cipher = _ciphers.get(source)
    if cipher is not None:
        return cipher
    with _lock:
        cipher = _ciphers.get(source)
        if cipher is None:
            secret = app.secret_key or key_file_secret(Path(source[1]))
            register_secret(secret)
            cipher = _ciphers[source] = CredentialCipher(secret)
    return cipher


def key_file_secret(path: Path) -> str:
    """The secret in the key file at ``path``, which is created (mode 600) if it does not exist."""
    if not path.exists():
        _create_key_file(path)
    return _read_key_file(path)


def _read_key_file(path: Path) -> str:
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < MIN_KEY_CHARS:
        raise CredentialKeyError(
            f"the key file {path} holds no usable key (at least {MIN_KEY_CHARS} characters expected); restore it, "
            "or remove it to have a new one made (values encrypted with the old key are then lost)"
        )
    if path.stat().st_mode & 0o077:
        log.warning("the credential key file %s is readable by other users: chmod 600 it", path)
    return secret


def _create_key_file(path: Path) -> None:
    """Write a new random key to ``path`` unless another process did first: the key is written to a
    private temporary file that is then hard-linked into place, which fails if ``path`` exists, so
    concurrent first starts agree on one key and nobody reads a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    _write_private(tmp, secret)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return  # another process made it first: use theirs
    except OSError:  # a filesystem without hard links: exclusive create (O_EXCL) instead
        try:
            _write_private(path, secret)
        except FileExistsError:
            return
    finally:
        tmp.unlink(missing_ok=True)
    log.warning(
        "created the credential key file %s (PILOT_SECRET_KEY is unset). Back it up with the database; "
        "with several processes or hosts set PILOT_SECRET_KEY instead, the same everywhere", path
    )


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)  # exactly 600 whatever the umask
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
