"""Running the user's Python inside the (already locked-down) sandbox process: child side.

Contract: the code defines ``main(inputs)`` returning a JSON value, or assigns a global
``result``. ``print`` (stdout and stderr) is captured, up to ``max_output_bytes``. The result
must be JSON (dict with string keys, list, str, number, bool, None; tuples become lists) and
at most ``max_output_bytes`` once encoded.

Imports are limited to :data:`MODULES`, all imported at boot, before the file system closes (a
lazy import could not read its file afterwards, and the same code must behave the same whether
Landlock, a chroot or seccomp alone closes it). This Python-level import rule is for clear
errors, not for security: ``__subclasses__`` walks can still reach ``os``, ``ctypes`` and
friends, and what they reach is refused by the kernel layers (:mod:`pilot.sandbox.lockdown`,
:mod:`pilot.sandbox.seccomp`).
"""

from __future__ import annotations

import builtins
import importlib
import json
import linecache
import sys
import traceback

FILENAME = "<code>"
MODULES = (
    "json", "math", "cmath", "re", "datetime", "time", "calendar", "random", "statistics",
    "collections", "collections.abc", "itertools", "functools", "operator", "string", "textwrap",
    "decimal", "fractions", "numbers", "hashlib", "hmac", "base64", "binascii", "uuid", "copy",
    "heapq", "bisect", "enum", "unicodedata", "html", "urllib.parse", "csv", "io",
    "struct", "array", "_strptime",
)
_HIDDEN_BUILTINS = ("breakpoint", "input", "help", "exit", "quit", "copyright", "credits", "license")


def preload() -> None:
    """Import every allowed module now (boot, before lockdown)."""
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - an interpreter built without one of them
            pass


def _allowed(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in MODULES if not m.startswith("_")) and name in sys.modules


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level != 0 or not _allowed(name):
        raise ImportError(f"module {name!r} is not available in the code sandbox (available: "
                          f"{', '.join(m for m in MODULES if not m.startswith('_'))})")
    return _real_import(name, globals, locals, fromlist, level)


_real_import = builtins.__import__


class OutputLimitExceeded(Exception):
    """Printed more than ``max_output_bytes``."""


class Capture:
    """A text stream keeping at most ``limit`` UTF-8 bytes. A write past the limit keeps what
    fits and raises :class:`OutputLimitExceeded` (printing a gigabyte is an error, not a log)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size, self.parts, self.dropped = limit, 0, [], 0

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        data = text.encode("utf-8", "replace")
        room = self.limit - self.size
        if len(data) > room:
            self.parts.append(data[:max(room, 0)])
            self.size = self.limit
            self.dropped += len(data) - max(room, 0)
            raise OutputLimitExceeded(f"stdout is over the max_output_bytes limit ({self.limit} bytes)")
        self.parts.append(data)
        self.size += len(data)
        return len(text)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        out = b"".join(self.parts).decode("utf-8", "ignore")
        if self.dropped:
            out += f"\n…[stdout truncated: {self.dropped} more bytes over the {self.limit}-byte limit]"
        return out


def _user_builtins() -> dict[str, object]:
    names = {k: v for k, v in vars(builtins).items() if k not in _HIDDEN_BUILTINS}
    names["__import__"] = _guarded_import
    return names


def _where(exc: BaseException) -> int | None:
    if isinstance(exc, SyntaxError) and exc.filename == FILENAME:
        return exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == FILENAME]
    return frames[-1].lineno if frames else None


def _describe(exc: BaseException, memory_mb: int) -> str:
    if isinstance(exc, MemoryError):
        return f"MemoryError: the code ran out of memory (limit {memory_mb} MB)"
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg}"
    if isinstance(exc, RecursionError):
        return f"RecursionError: {exc}"
    text = str(exc)
    return f"{type(exc).__name__}: {text[:2000]}" if text else type(exc).__name__


def run(code: str, inputs: object, *, max_output_bytes: int, memory_mb: int, started: list[int]) -> dict[str, object]:
    """Execute ``code`` and return the result message (protocol step 3, without ``started_ns``).

    ``started`` receives ``time.monotonic_ns()`` when the user code starts."""
    import time

    capture = Capture(max_output_bytes)
    sys.stdout = sys.stderr = capture
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    namespace: dict[str, object] = {"__name__": "__main__", "__builtins__": _user_builtins()}
    try:
        started.append(time.monotonic_ns())
        exec(compile(code, FILENAME, "exec", dont_inherit=True), namespace)
        main = namespace.get("main")
        if callable(main):
            value = main(inputs)
        elif "result" in namespace:
            value = namespace["result"]
        else:
            raise NameError("the code must define main(inputs) or assign a global named 'result'")
        try:
            encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            return {"ok": False, "error": f"the result is not JSON: {exc}", "line": None, "stdout": capture.text()}
        if len(encoded.encode()) > max_output_bytes:
            return {"ok": False, "error": f"the result is {len(encoded.encode())} bytes, over max_output_bytes "
                                          f"({max_output_bytes})", "line": None, "stdout": capture.text()}
        return {"ok": True, "result": value, "stdout": capture.text()}
    except BaseException as exc:  # noqa: BLE001 - everything the user code raises is its result
        try:
            line = _where(exc)
            message = _describe(exc, memory_mb) + (f" (line {line})" if line else "")
        except BaseException:  # noqa: BLE001 - a user exception whose __str__ fails
            line, message = None, f"{type(exc).__name__} (its message could not be shown)"
        return {"ok": False, "error": message, "line": line, "stdout": capture.text()}
