"""msgspec encoders/decoders built once and shared (building them per call is wasteful)."""

from __future__ import annotations

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


def to_builtins(obj: Any) -> Any:
    return msgspec.to_builtins(obj)
