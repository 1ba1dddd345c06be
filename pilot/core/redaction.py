"""Secret redaction: the one choke point between configured secrets and anything users or
operators can read (stream events, API responses, stored rows, logs).

A process-wide registry holds the secret *values* this process knows: the LLM API key, the SMTP
password, the Slack webhook URL, the passwords of the database and Redis URLs
(:func:`register_settings`, called at app and worker start-up and whenever an LLM client is
built) and any credential a connector loads or decrypts (:func:`register_secret`). Values
shorter than :data:`MIN_SECRET_LEN` characters are not registered: replacing "admin" everywhere
would destroy ordinary text.

- :func:`redact` replaces every registered value in a string with ``[REDACTED]`` (also a
  secret's leading part left at the end of a text that was cut short), and the
  ``[parameters: ...]`` line of SQLAlchemy error messages (the values being written: user data,
  possibly credentials).
- :func:`clip` redacts, then truncates: never cut a text that may hold a secret *before*
  redacting it, or half a key survives.
- :func:`redact_value` does the same through dicts, lists, tuples and msgspec Structs; it
  returns the very same object when there is nothing to redact (one C-speed JSON encode and a
  substring search on the hot path).
- :func:`install_log_redaction` puts a :class:`RedactingFilter` on the root logger's handlers and
  wraps the log-record factory, so every record (message, arguments, exception and stack text)
  is redacted when it is created, whichever handler later writes it (uvicorn's, arq's, pytest's).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import msgspec

REDACTED = "[REDACTED]"
MIN_SECRET_LEN = 6
# A text cut short may end with the first part of a secret: that part is redacted when it is at
# least this long (shorter fragments are indistinguishable from ordinary text).
MIN_FRAGMENT_LEN = 8
_MAX_DEPTH = 200

# SQLAlchemy's StatementError text: "...\n[SQL: ...]\n[parameters: (...)]\n(Background on ...)".
_SQL_PARAMETERS = re.compile(r"^\[parameters: .*\]$", re.MULTILINE)
_SQL_PARAMETERS_MARK = "[parameters: "
_SQL_PARAMETERS_JSON = b"\\n[parameters: "  # how the marker looks inside a JSON-encoded string
_SQL_PARAMETERS_REPLACEMENT = f"[parameters: {REDACTED}]"

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()  # longest first, so a secret containing another is replaced whole
_needles: tuple[bytes, ...] = ()  # JSON forms of each secret's leading fragment (fast path)
_longest = 0
_json = msgspec.json.Encoder()


# ------------------------------------------------------------------------------ the registry


def register_secret(value: str | None) -> bool:
    """Redact ``value`` from now on, in this process. Returns whether it was registered (values
    shorter than :data:`MIN_SECRET_LEN`, blank or already known are not)."""
    global _secrets, _needles, _longest
    if not isinstance(value, str):
        return False
    value = value.strip()
    if len(value) < MIN_SECRET_LEN or value == REDACTED:
        return False
    with _lock:
        if value in _secrets:
            return False
        secrets = tuple(sorted({*_secrets, value}, key=len, reverse=True))
        _needles = tuple(_json.encode(s[: _fragment_len(s)])[1:-1] for s in secrets)
        _longest = len(secrets[0])
        _secrets = secrets
    return True


def register_secrets(*values: str | None) -> int:
    """Register several values; returns how many were new."""
    return sum(register_secret(v) for v in values)


def register_url_password(url: str | None) -> bool:
    """Register the password of a DSN (``postgresql://user:PASSWORD@host/db``, ``redis://:PW@host``).

    A password equal to the URL's user name, host or database name (``postgres:postgres``, a
    development default) is not registered: those words are printed openly anyway, and
    replacing them everywhere would mangle ordinary text."""
    if not url:
        return False
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return False
    if not password:
        return False
    public = {parts.username or "", parts.hostname or "", parts.path.strip("/")}
    return register_secrets(*(p for p in {password, unquote(password)} if p not in public)) > 0


MIN_TOKEN_PART = 16  # a query value registered on its own must look like a token


def register_url_secret(value: str | None, *, min_path: int | None = None) -> int:
    """Register a secret value and, when it is a URL, the parts of it that get printed on their
    own: its password, its token-like query values (``access_token=…``, ``key=…``) and, with
    ``min_path``, its path when at least that long (a webhook's token). Returns how many were new.

    Only token-like parts: registering "webhooks" or "json" would mangle ordinary text everywhere."""
    if not value:
        return 0
    count = register_secret(value)
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return count
    if not (parts.scheme and parts.netloc):
        return count
    count += register_url_password(value.strip())
    for _, item in parse_qsl(parts.query):
        if len(item) >= MIN_TOKEN_PART:
            count += register_secret(item)
    path = parts.path.strip("/")
    if min_path is not None and len(path) >= min_path:
        count += register_secret(path)
    return count


def register_settings(settings: Any) -> int:
    """Register every secret a :class:`pilot.settings.Settings` holds; returns how many were new."""
    count = 0
    app = getattr(settings, "app", None)
    if app is not None:
        count += register_secret(getattr(app, "secret_key", None))  # the credential encryption key
        count += register_secret(getattr(app, "metrics_token", None))  # what scrapers of /metrics send
    llm = getattr(settings, "llm", None)
    if llm is not None:
        count += register_secret(llm.api_key)
    tools = getattr(settings, "tools", None)
    if tools is not None:
        count += register_secret(tools.smtp_password)
        # the whole URL and its token path, wherever they appear
        count += register_url_secret(tools.slack_webhook_url, min_path=MIN_SECRET_LEN)
    db = getattr(settings, "db", None)
    if db is not None:
        count += register_url_password(db.url)
    redis = getattr(settings, "redis", None)
    if redis is not None:
        count += register_url_password(redis.url)
    return count


def secret_count() -> int:
    """How many values are registered (for diagnostics; the values themselves are never exposed)."""
    return len(_secrets)


def _fragment_len(secret: str) -> int:
    return min(len(secret), MIN_FRAGMENT_LEN)


# ------------------------------------------------------------------------------ redaction


def redact(text: str | None) -> str | None:
    """``text`` with every registered secret (and SQL parameters) replaced by ``[REDACTED]``.

    Returns the same object when nothing was replaced; ``None`` and non-strings pass through."""
    if not isinstance(text, str) or not text:
        return text
    secrets = _secrets
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if secrets:
        text = _redact_cut_fragment(text, secrets)
    if _SQL_PARAMETERS_MARK in text:
        text = _SQL_PARAMETERS.sub(_SQL_PARAMETERS_REPLACEMENT, text)
    return text


def clip(text: str | None, limit: int) -> str:
    """Redact, then keep at most ``limit`` characters (the order matters: see the module doc)."""
    return (redact(text) or "")[:limit]


def _redact_cut_fragment(text: str, secrets: tuple[str, ...]) -> str:
    """A secret's first characters at the very end of ``text`` (a message truncated mid-key)."""
    tail = text[-_longest:]
    for secret in secrets:
        size = _fragment_len(secret)
        if size >= len(secret):
            continue  # a short secret is only ever replaced whole
        head = secret[:size]
        at = tail.find(head)
        while at != -1:
            rest = tail[at:]
            if len(rest) < len(secret) and secret.startswith(rest):
                return text[: len(text) - len(rest)] + REDACTED
            at = tail.find(head, at + 1)
    return text


def redact_value(value: Any) -> Any:
    """``value`` with :func:`redact` applied to every string in it (dict keys included), through
    dicts, lists, tuples and msgspec Structs (returned as builtins when something changed).

    Returns the very same object when there was nothing to redact."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return redact(value)
    needles = _needles
    try:
        encoded = _json.encode(value)
    except (TypeError, ValueError, OverflowError, RecursionError):
        return _walk(value, 0)  # not JSON-encodable: look at every string
    for needle in needles:
        if needle in encoded:
            return _walk(value, 0)
    return _walk(value, 0) if _SQL_PARAMETERS_JSON in encoded else value


def _walk(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return redact(value)
    if depth > _MAX_DEPTH or value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        changed = False
        for key, item in value.items():
            new_key = redact(key) if isinstance(key, str) else key
            new_item = _walk(item, depth + 1)
            changed = changed or new_key is not key or new_item is not item
            out[new_key] = new_item
        return out if changed else value
    if isinstance(value, (list, tuple)):
        items = [_walk(item, depth + 1) for item in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, msgspec.Struct):
        plain = msgspec.to_builtins(value)
        walked = _walk(plain, depth + 1)
        return value if walked is plain else walked
    return value


# ------------------------------------------------------------------------------ logging


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a log record in place: message, arguments, exception and stack text.

    Arguments keep their types unless redaction changed their text (formatters such as uvicorn's
    access formatter unpack ``record.args``), so ``%d`` and friends still format."""
    try:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        elif record.msg is not None and not isinstance(record.msg, (int, float)):
            text = str(record.msg)
            if redact(text) is not text:
                record.msg = redact(text)
        args = record.args
        if isinstance(args, tuple):
            new_args = tuple(_redact_arg(a) for a in args)
            if any(a is not b for a, b in zip(new_args, args)):
                record.args = new_args
        elif isinstance(args, dict):
            new_map = {k: _redact_arg(v) for k, v in args.items()}
            if any(new_map[k] is not args[k] for k in args):
                record.args = new_map
        if record.exc_info and record.exc_info[0] is not None:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            cleaned = redact(text)
            if cleaned is not text:
                # Formatters print exc_text when set; without exc_info none can print the original.
                record.exc_text, record.exc_info = cleaned, None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        message = getattr(record, "message", None)
        if isinstance(message, str):
            record.message = redact(message)
    except Exception:  # noqa: BLE001 - logging must never fail because of redaction
        pass
    return record


def _redact_arg(arg: Any) -> Any:
    if isinstance(arg, str):
        return redact(arg)
    if arg is None or isinstance(arg, (bool, int, float)):
        return arg
    try:
        text = str(arg)
    except Exception:  # noqa: BLE001
        return arg
    cleaned = redact(text)
    return arg if cleaned is text else cleaned


class RedactingFilter(logging.Filter):
    """A handler filter that redacts each record in place (and never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_FILTER = RedactingFilter()
_FACTORY_MARK = "_pilot_redacting"


def install_log_redaction() -> None:
    """Redact every log record of this process (idempotent; call after logging is configured).

    The filter goes on the root logger's current handlers; the record factory covers handlers
    added later and loggers that do not propagate to the root."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(_FILTER)
    current = logging.getLogRecordFactory()
    if getattr(current, _FACTORY_MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    setattr(factory, _FACTORY_MARK, True)
    logging.setLogRecordFactory(factory)


def install_redaction(settings: Any) -> None:
    """Start-up hook (app, worker): register the settings' secrets and redact every log record."""
    register_settings(settings)
    install_log_redaction()


__all__ = [
    "REDACTED", "RedactingFilter", "clip", "install_log_redaction", "install_redaction", "redact", "redact_record",
    "redact_value", "register_secret", "register_secrets", "register_settings", "register_url_password",
]
