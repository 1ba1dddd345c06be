"""A loopback TCP proxy whose open connections can be cut at once: a forced network drop.

Browser tests point the page at the proxy; ``drop()`` resets every connection through it (the
browser sees its streams fail, as after a Wi-Fi drop or a laptop sleep), while new connections
keep working. (Chromium's offline emulation alone blocks new requests but leaves an open
response stream running, so it cannot simulate a drop mid-stream.)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.drops = 0
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        pair = {client_writer, server_writer}
        self._writers |= pair
        try:
            await asyncio.gather(self._pipe(client_reader, server_writer), self._pipe(server_reader, client_writer))
        finally:
            self._writers -= pair

    def _abort_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()  # RST, not a clean close: the peer sees the connection fail
        self._writers.clear()

    def drop(self) -> None:
        """Reset every connection open right now (thread-safe; returns once done)."""
        done = threading.Event()

        def abort() -> None:
            self._abort_all()
            done.set()

        self._loop.call_soon_threadsafe(abort)
        done.wait(5)
        self.drops += 1

    @contextmanager
    def running(self) -> Iterator[TcpProxy]:
        """Serve on a free loopback port (``self.port``) until the block exits."""
        started = threading.Event()
        stop = asyncio.Event()

        async def main() -> None:
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            started.set()
            await stop.wait()
            server.close()
            self._abort_all()
            others = asyncio.all_tasks() - {asyncio.current_task()}
            await asyncio.gather(*others, return_exceptions=True)  # the pipes end once reset

        thread = threading.Thread(target=lambda: self._loop.run_until_complete(main()), daemon=True)
        thread.start()
        started.wait(10)
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(stop.set)
            thread.join(timeout=5)
            self._loop.close()
