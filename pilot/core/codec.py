"""msgspec encoders/decoders built once and shared (building them per call is wasteful)."""

from __future__ import annotations

import json
from typing import Any

import msgspec

json_encoder = msgspec.json.Encoder()
_any_decoder = msgspec.json.Decoder()


def dumps(obj: Any) -> bytes:
    return json_encoder.encode(obj)


def dumps_str(obj: Any) -> str:
    return json_encoder.encode(obj).decode()


def loads(data: bytes | str) -> Any:
    return _any_decoder.decode(data)


def loads_stored(data: bytes | str) -> Any:
    """A stored JSON column's value: msgspec, or the stdlib parser for what msgspec refuses (a
    ``NaN`` token an older writer may have left in a row), so no stored row becomes unreadable."""
    try:
        return _any_decoder.decode(data)
    except msgspec.DecodeError:
        return json.loads(data)


def to_builtins(obj: Any) -> Any:
    return msgspec.to_builtins(obj)


# ---------------------------------------------------------------- values produced at run time

class NotJSONError(TypeError):
    """A run-time value (an expression result, a node output) has no JSON form."""


_NUL = "\x00"
_REPLACEMENT = "\ufffd"
_SCALARS = (bool, int, float, type(None))
# Lazily-iterable results of sandboxed expressions that have an obvious JSON form.
_SEQUENCES = (list, tuple, set, frozenset, range, type({}.keys()), type({}.values()), type({}.items()))


def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON data, safe to publish and store (see :func:`_convert`).

    Fast path: most outputs already are JSON (msgspec encodes them in C, non-finite floats as
    null, exactly as the database serializer does); only values that fail to encode or carry a
    NUL character take the recursive conversion."""
    try:
        encoded = json_encoder.encode(value)
    except (TypeError, ValueError, RecursionError):
        return _convert(value, 200)
    return _convert(value, 200) if b"\\u0000" in encoded else value


def _convert(value: Any, max_depth: int) -> Any:
    """``value`` as plain JSON data (dict/list/str/number/bool/None), safe to publish and store.

    Expressions can return values JSON has no form for (``range(3)``, ``inputs.keys()``, the
    ``lipsum`` function). This is the one conversion applied where run-time values enter events
    and rows: sequences and dict views become lists, keys become strings, non-finite floats
    become null (PostgreSQL's JSONB refuses NaN) and NUL characters become U+FFFD (JSONB and
    TEXT refuse ``\\u0000``, so both databases store the same text). Anything else (functions,
    generators, arbitrary objects) raises :class:`NotJSONError` with the type's name.
    """
    if max_depth < 0:
        raise NotJSONError("value is nested too deeply")
    if isinstance(value, str):
        return value.replace(_NUL, _REPLACEMENT) if _NUL in value else value
    if isinstance(value, _SCALARS):
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            return None
        return value
    if isinstance(value, dict):
        return {
            (k if isinstance(k, str) else str(k)).replace(_NUL, _REPLACEMENT): _convert(v, max_depth - 1)
            for k, v in value.items()
        }
    if isinstance(value, _SEQUENCES):
        return [_convert(v, max_depth - 1) for v in value]
    if isinstance(value, msgspec.Struct):
        return _convert(msgspec.to_builtins(value), max_depth)
    if isinstance(value, bytes):
        return _convert(value.decode("utf-8", "replace"), max_depth)
    if hasattr(value, "isoformat"):  # date / datetime / time
        return value.isoformat()
    raise NotJSONError(f"a value of type {type(value).__name__!r} has no JSON form")


def storable(value: Any) -> Any:
    """:func:`to_json_value`, falling back to a description for values with no JSON form, for
    the last line of defence in persistence (a record of what happened beats no record)."""
    try:
        return to_json_value(value)
    except NotJSONError as exc:
        return {"unstorable": str(exc)}
