"""The wire format between the parent (:mod:`pilot.sandbox.pool`) and a sandbox process.

All messages are UTF-8 JSON; the child speaks on its stdout, the parent on the child's stdin.

1. child → parent, once booted and locked down, one line::

       {"hello": 1, "layers": {name: detail}, "missing": {name: reason}, "fatal": null | "why"}

   ``layers`` are the isolation layers in force (see :data:`LAYERS`); ``missing`` the optional
   ones that could not be applied, with the kernel's reason. ``fatal`` set: a *required* layer
   failed; the child exits and runs nothing.
2. parent → child: one job, the whole of stdin (the parent closes it)::

       {"code": str, "inputs": {…}, "cpu_time_s": float, "memory_mb": int, "max_output_bytes": int}

3. child → parent, one line, then the child exits::

       {"ok": true,  "result": <JSON>, "stdout": str, "started_ns": int}
       {"ok": false, "error": "ValueError: bad (line 3)", "line": 3 | null, "stdout": str, "started_ns": int}

   ``started_ns`` is ``time.monotonic_ns()`` just before the user code starts (the clock is
   system-wide, so the parent can measure the cold start from it).

The node's output is built from 3 (see :mod:`pilot.engine.nodes.code`):
``{"result": <the JSON value main(inputs) returned, or the global ``result``>, "stdout": "<what
the code printed, at most max_output_bytes, with a truncation note>"}``.
"""

from __future__ import annotations

import json

# Isolation layers, strongest first; "seccomp", "rlimits" and "process" are required.
LAYERS = ("process", "rlimits", "seccomp", "uid", "userns", "netns", "landlock", "chroot")
REQUIRED = ("process", "rlimits", "seccomp")
MAX_JOB_BYTES = 8 << 20  # code + rendered inputs


def line(message: dict[str, object]) -> bytes:
    """One message as a JSON line (non-ASCII kept; NaN/Infinity refused)."""
    return json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode() + b"\n"
