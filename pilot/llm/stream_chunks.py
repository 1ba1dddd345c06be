"""Chat-completion stream chunks decoded with msgspec, and the SSE framing around them.

The openai SDK builds a pydantic object per streamed chunk, about half of its CPU cost per
completion; :class:`pilot.llm.openai_provider.OpenAIProvider` reads the SDK's raw streaming
response instead and decodes each ``data:`` payload here into the few fields it uses (unknown
fields are ignored, so any openai-compatible server's extras pass through harmlessly).
"""

from __future__ import annotations

from typing import Any

import msgspec


class FunctionDelta(msgspec.Struct):
    """A piece of a streamed function call: the name comes once, the arguments in pieces."""

    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(msgspec.Struct):
    """One streamed tool-call fragment; fragments of one call share ``index``."""

    index: int | None = None
    id: str | None = None
    function: FunctionDelta | None = None


class Delta(msgspec.Struct):
    """What one chunk adds to the assistant message."""

    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class Choice(msgspec.Struct):
    """One choice of a chunk (πlot asks for one)."""

    delta: Delta | None = None
    finish_reason: str | None = None


class Usage(msgspec.Struct):
    """Token usage, sent in the last chunk when ``stream_options.include_usage`` is honoured."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class Chunk(msgspec.Struct):
    """One ``chat.completion.chunk``; ``error`` is set when a server reports a failure mid-stream."""

    choices: list[Choice] | None = None
    usage: Usage | None = None
    error: Any = None


_decoder = msgspec.json.Decoder(Chunk)


def decode_chunk(data: bytes) -> Chunk:
    """Decode one ``data:`` payload; raises ``msgspec.DecodeError`` (a ``ValueError``) if malformed."""
    return _decoder.decode(data)


def error_message(error: Any) -> str:
    """The message of a mid-stream ``error`` object, as the SDK words it."""
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message else "An error occurred during streaming"


class SSEData:
    """Splits a server-sent-events byte stream into the ``data`` of each event.

    Feed it the response body in whatever pieces the network delivers; each :meth:`feed` returns
    the events completed so far (multi-line data joined with ``\\n``). Lines end with LF or CRLF;
    comments (``: keep-alive``), ``event``/``id``/``retry`` fields and events without data are
    skipped — a chat-completion stream carries everything in ``data``. An event cut off by the end
    of the stream is dropped, as the SSE specification says.
    """

    __slots__ = ("_data", "_tail")

    def __init__(self) -> None:
        self._tail = b""
        self._data: list[bytes] = []

    def feed(self, piece: bytes) -> list[bytes]:
        """Add ``piece`` of the body; return the data of every event it completed."""
        lines = (self._tail + piece).split(b"\n") if self._tail else piece.split(b"\n")
        self._tail = lines.pop()
        events: list[bytes] = []
        data = self._data
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:  # a blank line ends the event
                if data:
                    events.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data.clear()
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
        return events
