"""What one execution gives back, and the parent-side helpers that produce it (for
:mod:`pilot.sandbox.pool`): limits, outcome, errors, capped reads, exit-status messages."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from dataclasses import dataclass
from typing import Any


class SandboxError(Exception):
    """The code could not run or did not finish: a limit, a refusal, or no usable sandbox."""


class SandboxUnavailable(SandboxError):
    """No sandbox with the required isolation can be started on this machine."""


@dataclass(frozen=True, slots=True)
class Limits:
    cpu_time_s: float = 5.0
    memory_mb: int = 256
    max_output_bytes: int = 1 << 20
    wall_time_s: float = 11.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """One execution. ``ok``: ``result`` and ``stdout`` are the code's; else ``error`` (with the
    code's ``line`` when known). ``start_ms``: call → user code running; ``total_ms``: call → done."""

    ok: bool
    result: Any
    stdout: str
    error: str | None
    line: int | None
    start_ms: float
    total_ms: float


def remove_tree(path: str) -> None:
    for root, dirs, _files in os.walk(path):
        for name in dirs:  # the code may have made directories we cannot enter (mode 000)
            try:
                os.chmod(os.path.join(root, name), 0o700)
            except OSError:
                pass
    shutil.rmtree(path, ignore_errors=True)


async def read_capped(stream: asyncio.StreamReader, cap: int) -> bytes:
    """Everything until EOF, or the first ``cap + 1`` bytes."""
    data = bytearray()
    while len(data) <= cap:
        chunk = await stream.read(1 << 16)
        if not chunk:
            break
        data += chunk
    return bytes(data)


def failure_message(rc: int | None, limits: Limits, tail: bytes, elapsed_s: float) -> str:
    """Why a sandbox process ended without a result message, from its exit status."""
    # SIGKILL is the CPU hard limit (one second after SIGXCPU) only if the code could have used
    # that much CPU; otherwise something else killed it (the OOM killer, its zygote dying).
    if rc == -signal.SIGXCPU or (rc == -signal.SIGKILL and elapsed_s >= limits.cpu_time_s):
        return f"CPU time limit exceeded: the code used more than {limits.cpu_time_s:g} s of CPU"
    if rc == -signal.SIGSYS:
        return "the code made a system call through a forbidden ABI and was killed"
    detail = tail.decode("utf-8", "replace").strip()[-300:]
    cause = f"killed by signal {-rc}" if rc is not None and rc < 0 else f"exit status {rc}"
    return f"the sandbox process ended without a result ({cause})" + (f": {detail}" if detail else "")
