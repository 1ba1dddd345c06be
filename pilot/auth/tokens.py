"""Access tokens (JWT, HS256, short-lived) and opaque refresh/invitation tokens.

An access token's claims: ``sub`` (user id), ``sid`` (login session id), ``iat``, ``exp``,
``typ: "access"``. Its signature and expiry are checked on every request; whether its session
is still alive is checked through the principal cache (:mod:`pilot.auth.principals`), which
logout invalidates — so a logged-out token stops working on the next request in this process,
and within ``PILOT_AUTH_CACHE_TTL_S`` in others.

The signing key, in order: ``PILOT_JWT_SECRET``; else derived (HKDF-SHA256) from
``PILOT_SECRET_KEY``, so processes sharing that secret accept each other's tokens; else the key
file ``<data_dir>/jwt.key``, made once (mode 600) like the credential key file. Changing it
signs everyone out.

Refresh and invitation tokens are random strings; only their sha256 is stored.
"""

from __future__ import annotations

import hashlib
import math
import time
import threading
from pathlib import Path

import jwt
import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pilot.auth.service import KEY_PREFIX
from pilot.core.errors import AuthenticationError
from pilot.core.ids import new_token
from pilot.core.redaction import register_secret
from pilot.settings import Settings

ALGORITHM = "HS256"
KEY_FILE = "jwt.key"
REFRESH_PREFIX = "prt_"
INVITATION_PREFIX = "pinv_"

_secrets: dict[tuple[str, str], str] = {}
_lock = threading.Lock()


class AccessClaims(msgspec.Struct, frozen=True):
    sub: str
    sid: str
    exp: int


def signing_secret(settings: Settings) -> str:
    """The HS256 key of these settings (cached per source; the key file is made if needed)."""
    auth, app = settings.auth, settings.app
    if auth.jwt_secret:
        source = ("env", auth.jwt_secret)
    elif app.secret_key:
        source = ("derived", app.secret_key)
    else:
        source = ("file", str((Path(app.data_dir) / KEY_FILE).absolute()))
    secret = _secrets.get(source)
    if secret is None:
        with _lock:
            secret = _secrets.get(source)
            if secret is None:
                secret = _secrets[source] = _load(source)
                register_secret(secret)
    return secret


def _load(source: tuple[str, str]) -> str:
    kind, value = source
    if kind == "env":
        return value
    if kind == "derived":
        raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"pilot.auth.v1", info=b"jwt-hs256").derive(value.encode())
        return raw.hex()
    from pilot.credentials.crypto import key_file_secret  # one implementation of "a key file made once"

    return key_file_secret(Path(value))


def issue_access_token(settings: Settings, user_id: str, session_id: str) -> tuple[str, int]:
    """A signed access token for the session and its lifetime in seconds."""
    ttl = settings.auth.access_token_ttl_s
    now = time.time()
    # the expiry rounds up: a token lives at least its TTL (int() cut up to a second off it)
    claims = {"sub": user_id, "sid": session_id, "iat": int(now), "exp": math.ceil(now + ttl), "typ": "access"}
    return jwt.encode(claims, signing_secret(settings), algorithm=ALGORITHM), max(1, round(ttl))


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """The claims of a valid, unexpired access token, or a 401 saying what to do."""
    try:
        claims = jwt.decode(token, signing_secret(settings), algorithms=[ALGORITHM],
                            options={"require": ["exp", "iat", "sub", "sid"]})
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("access token expired: get a new one with POST /api/auth/refresh") from None
    except jwt.InvalidTokenError:
        raise AuthenticationError("invalid access token") from None
    if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str) or not isinstance(claims.get("sid"), str):
        raise AuthenticationError("invalid access token")
    return AccessClaims(sub=claims["sub"], sid=claims["sid"], exp=int(claims["exp"]))


def looks_like_access_token(token: str) -> bool:
    """A JWT (three dot-separated parts), as opposed to an API key (``pk_…``)."""
    return not token.startswith(KEY_PREFIX) and token.count(".") == 2


def new_refresh_token() -> str:
    return REFRESH_PREFIX + new_token(32)


def new_invitation_token() -> str:
    return INVITATION_PREFIX + new_token(32)


def token_hash(raw: str) -> str:
    """What is stored of a refresh or invitation token."""
    return hashlib.sha256(raw.encode()).hexdigest()
