"""Garbage-collection pauses of benchmark child processes, told apart from queueing.

:func:`enable` writes a ``sitecustomize`` module that every Python process started with the
returned environment imports: it prints each collection that paused the process for 5 ms or
more to stderr (``[gc] gen<n> pause <ms> ms``). :func:`pauses` reads them back from the process's
log from an offset, so a benchmark reports the pauses of one measurement window.
"""

from __future__ import annotations

import re
from pathlib import Path

SITECUSTOMIZE = """
import gc, sys, time
_start = [0.0]
def _pause(phase, info):
    if phase == "start":
        _start[0] = time.perf_counter()
    elif (time.perf_counter() - _start[0]) >= 0.005:
        print(f"[gc] gen{info['generation']} pause {(time.perf_counter() - _start[0]) * 1000:.1f} ms", file=sys.stderr, flush=True)
gc.callbacks.append(_pause)
"""
_LINE = re.compile(rb"\[gc\] gen(\d) pause ([\d.]+) ms")


def enable(directory: Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` plus what makes a child log its GC pauses (``directory`` holds the module)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return {**env, "PYTHONPATH": str(directory)}


def pauses(log: Path, offset: int = 0) -> list[tuple[int, float]]:
    """(generation, ms) of each pause logged after ``offset``."""
    with log.open("rb") as f:
        f.seek(offset)
        return [(int(m.group(1)), float(m.group(2))) for m in _LINE.finditer(f.read())]


def describe(found: list[tuple[int, float]]) -> str:
    full = [ms for gen, ms in found if gen == 2]
    return (f"{len(found)} (gen2 {len(full)}, max {max((ms for _, ms in found), default=0):.0f} ms)")
