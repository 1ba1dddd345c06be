"""Password hashes: argon2id (argon2-cffi's ``PasswordHasher``, RFC 9106 low-memory profile:
3 passes over 64 MiB). Only the hash is stored. A hash made with older parameters is replaced
at the next successful login (:func:`verify_password` returns the new hash).

Hashing costs ~0.1-0.2 s of one core by design; callers run it in a thread
(``asyncio.to_thread``) so the event loop keeps serving other requests.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024  # hashing is linear in the input: no megabyte "passwords"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string with its own salt and parameters) of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> tuple[bool, str | None]:
    """``(matches, new_hash)``: ``new_hash`` is set when the password matches but the stored hash
    was made with other parameters than the current ones (store it instead)."""
    try:
        _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False, None
    return True, (_hasher.hash(password) if _hasher.check_needs_rehash(stored_hash) else None)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not the password of anyone")


def burn_verification(password: str) -> None:
    """Spend what a real verification spends, for an email with no account: a login answers
    in the same time whether or not the account exists."""
    verify_password(_dummy_hash(), password)
