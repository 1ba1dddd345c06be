"""Starting sandbox processes (parent side): forked by the zygote, or started directly.

Both give a :class:`Sandbox`: the child's stdin (a StreamWriter), its stdout+stderr (a
StreamReader), ``kill()`` and ``wait()``. :class:`Zygote` is the fast path (a fork of a
prepared template, ~2 ms: see :mod:`pilot.sandbox.zygote`); :func:`start_direct` starts a new
interpreter (~60 ms of CPU) and is used when the zygote cannot run here (no ``pidfd_open``).
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import socket
import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding the `pilot` package
_PYTHON = (sys.executable, "-I", "-S", "-B", "-X", "utf8", "-c")
DIRECT = (*_PYTHON, f"import sys; sys.path.insert(0, {_ROOT!r}); from pilot.sandbox import child; child.main()")
ZYGOTE = (*_PYTHON, f"import sys; sys.path.insert(0, {_ROOT!r}); from pilot.sandbox import zygote; zygote.main()")


class Sandbox:
    """One sandbox process. ``kill`` is idempotent; ``wait`` returns its exit status (negative:
    killed by that signal)."""

    def __init__(self, pid: int, stdin: asyncio.StreamWriter, stdout: asyncio.StreamReader) -> None:
        self.pid, self.stdin, self.stdout = pid, stdin, stdout
        self.returncode: int | None = None

    @property
    def running(self) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def kill(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def wait(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        self.stdin.close()


class _DirectSandbox(Sandbox):
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        super().__init__(proc.pid, proc.stdin, proc.stdout)
        self.proc = proc

    @property
    def running(self) -> bool:
        return self.proc.returncode is None

    def kill(self) -> None:
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the group id is its pid
            except ProcessLookupError:
                pass

    async def wait(self) -> int:
        self.returncode = await self.proc.wait()
        return self.returncode


async def start_direct(scratch: str, skip: tuple[str, ...]) -> Sandbox:
    proc = await asyncio.create_subprocess_exec(
        *DIRECT, ",".join(skip), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, cwd=scratch, env={}, start_new_session=True, close_fds=True,
    )
    return _DirectSandbox(proc)


class _ForkedSandbox(Sandbox):
    def __init__(self, pid: int, pidfd: int, stdin, stdout, exited: asyncio.Future) -> None:
        super().__init__(pid, stdin, stdout)
        self.pidfd, self.exited = pidfd, exited

    @property
    def running(self) -> bool:
        return not self.exited.done()

    def kill(self) -> None:
        if self.pidfd >= 0 and not self.exited.done():
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass

    async def wait(self) -> int:
        self.returncode = await self.exited
        return self.returncode

    def close(self) -> None:
        super().close()
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1


class ZygoteGone(OSError):
    """The zygote exited (or could not start): no fork is possible through it."""


class Zygote:
    """The parent's handle on one zygote process (start it with :meth:`start`)."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.sock: socket.socket | None = None
        self._ready: asyncio.Future | None = None
        self._forks: collections.deque[asyncio.Future] = collections.deque()
        self._exits: dict[int, asyncio.Future] = {}
        self.alive = False

    async def start(self, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *ZYGOTE, str(child.fileno()), pass_fds=(child.fileno(),), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd="/", env={}, start_new_session=True,
            )
        finally:
            child.close()
        parent.setblocking(False)
        self.sock, self._ready, self.alive = parent, loop.create_future(), True
        loop.add_reader(parent.fileno(), self._readable)
        try:
            ready = await asyncio.wait_for(asyncio.shield(self._ready), timeout_s)
        except (asyncio.TimeoutError, ZygoteGone) as exc:
            await self.close()
            raise ZygoteGone(f"the sandbox zygote did not start: {exc or 'timeout'}") from exc
        if not ready.get("pidfd"):
            await self.close()
            raise ZygoteGone("os.pidfd_open is not available (Linux ≥ 5.3 needed to fork through the zygote)")

    def _exit_future(self, pid: int) -> asyncio.Future:
        if pid not in self._exits:
            self._exits[pid] = asyncio.get_running_loop().create_future()
        return self._exits[pid]

    def _readable(self) -> None:
        while self.sock is not None:
            try:
                message, fds, _flags, _addr = socket.recv_fds(self.sock, 1 << 16, 3)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                message, fds = b"", []
            if not message:
                self._gone()
                return
            data = json.loads(message)
            if "ready" in data and self._ready is not None and not self._ready.done():
                self._ready.set_result(data)
            elif "pid" in data:
                self._forked(data["pid"], fds)
            elif "error" in data:
                while self._forks:
                    future = self._forks.popleft()
                    if not future.done():
                        future.set_exception(ZygoteGone(data["error"]))
                        break
            elif "exit" in data:
                future = self._exit_future(data["exit"])
                if not future.done():
                    future.set_result(data["rc"])
            else:
                for fd in fds:
                    os.close(fd)

    def _forked(self, pid: int, fds: list[int]) -> None:
        while self._forks:
            future = self._forks.popleft()
            if not future.done():  # not cancelled meanwhile
                future.set_result((pid, fds))
                return
        if len(fds) == 3:  # nobody waits for it any more
            signal.pidfd_send_signal(fds[2], signal.SIGKILL)
        for fd in fds:
            os.close(fd)

    def _gone(self) -> None:
        self.alive = False
        if self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
        for future in [self._ready, *self._forks]:
            if future is not None and not future.done():
                future.set_exception(ZygoteGone("the sandbox zygote exited"))
        self._forks.clear()
        for future in self._exits.values():  # its children die with it (parent-death signal)
            if not future.done():
                future.set_result(-signal.SIGKILL)

    async def fork(self, scratch: str, skip: tuple[str, ...]) -> Sandbox:
        if not self.alive or self.sock is None:
            raise ZygoteGone("the sandbox zygote is not running")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._forks.append(future)
        try:
            self.sock.send(json.dumps({"scratch": scratch, "skip": list(skip)}).encode())
        except OSError as exc:  # it died and we have not read the end of the channel yet
            self._forks.remove(future)
            self._gone()
            raise ZygoteGone(f"the sandbox zygote is gone: {exc}") from exc
        pid, (job_w, out_r, pidfd) = await future
        exited = self._exit_future(pid)
        exited.add_done_callback(lambda _f: self._exits.pop(pid, None))
        reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(out_r, "rb", 0))
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, os.fdopen(job_w, "wb", 0))
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
        return _ForkedSandbox(pid, pidfd, writer, reader, exited)

    async def close(self) -> None:
        if self.sock is not None:
            self._gone()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
