"""A raw HTTP/1.1 client for the benchmarks that drive SSE streams (bench_sse, bench_background).

Pre-encoded requests on asyncio streams, keep-alive connections for plain requests, and an SSE
reader that undoes the chunked transfer encoding and splits messages by hand. It costs a fraction
of httpx + httpx-sse per event, so on a shared machine the load client takes little of the CPU the
server under test needs (the figures are the server's, not the client's).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator


def encode_request(method: str, path: str, *, key: str | None = None, body: object = None,
                   headers: dict[str, str] | None = None) -> bytes:
    """One keep-alive HTTP/1.1 request (JSON body if given)."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if key:
        head.append(f"Authorization: Bearer {key}")
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    payload = b""
    if body is not None:
        payload = json.dumps(body).encode()
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


def status_of(head: bytes) -> int:
    return int(head[9:12])


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one complete response (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lower = head.lower()
    keep = b"connection: close" not in lower
    marker = lower.find(b"content-length:")
    if marker >= 0:
        length = int(lower[marker + 15:lower.index(b"\r\n", marker)])
        return status_of(head), await reader.readexactly(length), keep
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return status_of(head), b"".join(parts), keep
        parts.append((await reader.readexactly(size + 2))[:-2])


class Pool:
    """Keep-alive connections to 127.0.0.1 ports, reused one request at a time."""

    def __init__(self) -> None:
        self._idle: dict[int, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}

    async def request(self, port: int, raw: bytes) -> tuple[int, bytes]:
        idle = self._idle.setdefault(port, [])
        reader, writer = idle.pop() if idle else await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(raw)
            status, body, keep = await read_response(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            idle.append((reader, writer))
        else:
            writer.close()
        return status, body

    def close(self) -> None:
        for idle in self._idle.values():
            for _, writer in idle:
                writer.close()
        self._idle.clear()


class Stream:
    """An open streaming GET on a connection of its own (see :func:`open_stream`)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        self.reader, self.writer, self.head = reader, writer, head

    async def messages(self) -> AsyncIterator[tuple[float, list[bytes]]]:
        """(arrival time, complete SSE messages) per socket read, pings (comments) left out; ends
        with the body. One clock read per socket read: every message in it arrived then. A stream
        that had already ended is answered with a plain body (Content-Length), a live one chunked."""
        lower = self.head.lower()
        marker = lower.find(b"content-length:")
        if marker >= 0:
            body = await self.reader.readexactly(int(lower[marker + 15:lower.index(b"\r\n", marker)]))
            yield time.time(), [m for m in body.split(b"\r\n\r\n") if m.startswith(b"id: ")]
            return
        body, text, ended = b"", b"", False
        while not ended:
            data = await self.reader.read(65536)
            if not data:
                return
            now = time.time()
            body += data
            while True:  # undo the chunked transfer encoding
                eol = body.find(b"\r\n")
                if eol < 0:
                    break
                size = int(body[:eol].split(b";", 1)[0], 16)
                if size == 0:
                    ended = True
                    break
                if len(body) < eol + 2 + size + 2:
                    break
                text += body[eol + 2:eol + 2 + size]
                body = body[eol + 4 + size:]
            *complete, text = text.split(b"\r\n\r\n")
            messages = [m for m in complete if m.startswith(b"id: ")]
            if messages:
                yield now, messages

    def close(self) -> None:
        self.writer.close()


async def open_stream(port: int, raw: bytes) -> Stream:
    """Send a streaming GET on a connection of its own; returns once its 200 head is read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    if status_of(head) != 200:
        writer.close()
        raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
    return Stream(reader, writer, head)


def parse_message(message: bytes) -> tuple[int, str, bytes]:
    """(id, event, data) of one SSE message as πlot writes it (``id``, ``event``, one ``data`` line)."""
    seq = event = data = None
    for line in message.split(b"\r\n"):
        if line.startswith(b"id: "):
            seq = int(line[4:])
        elif line.startswith(b"event: "):
            event = line[7:].decode()
        elif line.startswith(b"data: "):
            data = line[6:]
    return seq or 0, event or "", data or b""
