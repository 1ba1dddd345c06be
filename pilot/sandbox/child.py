"""Entry point of a sandbox process (child side): boot, lock down, say hello, run one job, exit.

Forked by the zygote (:mod:`pilot.sandbox.zygote`) or started directly as ``python -I -S -B -X
utf8 -c BOOT``; either way with an empty environment, its scratch directory as working directory
and only stdin/stdout/stderr open. The
order matters: everything that needs the file system (imports, ``/proc`` writes for the
namespace id maps) happens before Landlock / chroot close it, and the seccomp allowlist is
installed last, so the process that waits for a job is already locked down. The job's own
limits (CPU, memory) are applied when it arrives, then a second seccomp filter removes the
calls that applied them. See :mod:`pilot.sandbox.protocol` for the messages.
"""

from __future__ import annotations

import json
import os
import sys
import time

from pilot.sandbox import lockdown, seccomp, usercode
from pilot.sandbox.protocol import MAX_JOB_BYTES, line

# Codecs are looked up lazily by name; load the usual ones while files can still be read.
_CODECS = ("latin_1", "ascii", "utf_16", "utf_32", "cp1252", "idna", "unicode_escape", "raw_unicode_escape",
           "gbk", "gb2312", "gb18030", "big5", "shift_jis", "euc_kr", "hex_codec", "base64_codec")


def _write(data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]


def _read_job() -> bytes:
    chunks, size = [], 0
    while True:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_JOB_BYTES:
            raise ValueError(f"the job is over {MAX_JOB_BYTES} bytes")


def boot(scratch: str, skip: frozenset[str] = frozenset()) -> tuple[dict[str, str], dict[str, str], str | None]:
    """Apply the boot-time layers, except the optional ones in ``skip`` (to exercise the
    fallbacks). Returns ``(layers, missing, fatal)``."""
    layers = {"process": "fresh interpreter (-I -S), empty environment, scratch working directory",
              "rlimits": "CPU time, address space, file size, no processes, 32 fds (applied per job)"}
    missing: dict[str, str] = {}
    layers["uid"] = "root dropped to nobody" if lockdown.drop_privileges() else f"uid {os.geteuid()} (not root)"
    lockdown.set_dumpable(True)  # a uid change made it non-dumpable; the id maps need it
    ns_error = "skipped by PILOT_SANDBOX_SKIP" if "userns" in skip else lockdown.enter_namespaces()
    lockdown.set_dumpable(False)
    if ns_error:
        missing["userns"] = missing["netns"] = ns_error
    else:
        layers["userns"] = "own user namespace"
        layers["netns"] = "own network namespace (no interfaces up)"
    abi, landlock_error = (0, "skipped by PILOT_SANDBOX_SKIP") if "landlock" in skip else lockdown.landlock(scratch)
    if abi:
        extra = (", TCP bind/connect refused" if abi >= 4 else "") + (", signals and abstract sockets scoped" if abi >= 6 else "")
        layers["landlock"] = f"ABI {abi}: file system limited to the scratch directory{extra}"
    else:
        missing["landlock"] = landlock_error or "unavailable"
        chroot_error = "needs a user namespace" if ns_error else "skipped by PILOT_SANDBOX_SKIP" if "chroot" in skip else lockdown.chroot(scratch)
        if chroot_error:
            missing["chroot"] = chroot_error
        else:
            layers["chroot"] = "root directory = the scratch directory"
    files = "landlock" in layers or "chroot" in layers
    try:
        seccomp.install(seccomp.allowlist_program(files=files, boot=True))
    except (OSError, ValueError) as exc:
        return layers, missing, f"seccomp-bpf could not be installed: {exc}"
    layers["seccomp"] = "syscall allowlist" + ("" if files else "; every file-system call refused (no Landlock or chroot)")
    return layers, missing, None


def prepare() -> None:
    """Everything that reads files and is the same for every execution: imports, codecs."""
    usercode.preload()
    for codec in _CODECS:
        try:
            __import__(f"encodings.{codec}")
        except ImportError:  # pragma: no cover - an interpreter built without it
            pass


def serve_one(scratch: str, skip: frozenset[str]) -> None:
    """Lock down, say hello, run one job from stdin, answer on stdout, exit. Never returns."""
    baseline = lockdown.address_space_now()
    layers, missing, fatal = boot(scratch, skip)
    _write(line({"hello": 1, "layers": layers, "missing": missing, "fatal": fatal}))
    if fatal:
        os._exit(3)
    data = _read_job()
    if not data:  # the parent shut down (or discarded this spare) before giving it a job
        os._exit(0)
    job = json.loads(data)
    memory = int(job["memory_mb"]) << 20
    lockdown.apply_rlimits(cpu_s=float(job["cpu_time_s"]), address_space=baseline + 4 * len(data) + memory)
    seccomp.install(seccomp.denylist_program(seccomp.BOOT_ONLY))
    sys.path.clear()
    sys.path_hooks.clear()
    sys.path_importer_cache.clear()
    sys.meta_path.clear()
    del data
    started: list[int] = []
    result = usercode.run(job["code"], job["inputs"], max_output_bytes=int(job["max_output_bytes"]),
                          memory_mb=int(job["memory_mb"]), started=started)
    result["started_ns"] = started[0] if started else time.monotonic_ns()
    try:
        payload = line(result)
    except (TypeError, ValueError, RecursionError, MemoryError) as exc:
        payload = line({"ok": False, "error": f"the result could not be encoded: {type(exc).__name__}", "line": None,
                        "stdout": "", "started_ns": result["started_ns"]})
    _write(payload)
    os._exit(0)


def main() -> None:
    """A sandbox process started directly (no zygote): ``-c BOOT [skip,list]``."""
    prepare()
    serve_one(os.getcwd(), frozenset(sys.argv[1].split(",")) if len(sys.argv) > 1 and sys.argv[1] else frozenset())
