"""The code-node ESCAPE SUITE: hostile code in real sandbox processes (no mocks).

Each attempt must fail the node with a clear NodeError, leave no side effect (no file written,
no connection accepted, no process started or killed), and leave this process (the sandbox's
parent, standing in for the server) healthy. Python-level guards are bypassed on purpose: most
attacks first walk ``__subclasses__`` / ``__globals__`` to the real ``os``, ``sys``, ``ctypes``
and ``__import__``, so what is tested is the kernel layers (seccomp, Landlock or chroot,
namespaces, rlimits) and the parent's limits.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

from pilot.engine.errors import NodeError
from pilot.engine.nodes.code import CodeRunner
from pilot.sandbox import pool as pool_module
from pilot.sandbox.pool import SandboxPool, shutdown_pool
from pilot.settings import Settings
from tests.support.node_ctx import make_ctx, services

pytestmark = pytest.mark.security
RUN = CodeRunner()
ROOT = Path(__file__).resolve().parents[2]
REFUSED = (r"PermissionError|Permission denied|Operation not permitted|not available in the code sandbox"
           r"|No such file or directory")  # the last: outside a chroot nothing exists
# Reach the real sys / os / ctypes / __import__ without importing anything.
WALK = '''
def _sys():
    for cls in ().__class__.__base__.__subclasses__():
        g = getattr(getattr(cls, "__init__", None), "__globals__", None)
        if g and type(g.get("sys")).__name__ == "module":
            return g["sys"]
sys = _sys()
os = sys.modules["os"]
ctypes = sys.modules["ctypes"]
real_import = [g for g in (getattr(getattr(c, "__init__", None), "__globals__", None)
                           for c in ().__class__.__base__.__subclasses__()) if g and "__builtins__" in g][0]["__builtins__"]
real_import = real_import["__import__"] if isinstance(real_import, dict) else real_import.__import__
libc = ctypes.CDLL(None, use_errno=True)
def check(rc, what):
    if rc < 0:
        raise PermissionError(f"{what}: {os.strerror(ctypes.get_errno())}")
    return rc
'''


# The suite runs once with every layer this machine has, and again with the optional layers
# turned off, so that each fallback is shown to hold on its own (see pilot/sandbox/lockdown.py).
MODES = {"all-layers": (), "no-landlock": ("landlock",), "seccomp-files-off": ("landlock", "userns")}


@pytest.fixture(scope="module", autouse=True, params=list(MODES))
async def sandbox_mode(request):
    await shutdown_pool()
    pool = pool_module._pools[asyncio.get_running_loop()] = SandboxPool(skip=MODES[request.param])
    yield pool
    await shutdown_pool()


async def test_the_mode_has_the_layers_it_claims(sandbox_mode: SandboxPool) -> None:
    await attack("result = 1")
    layers = sandbox_mode.layers
    assert {"process", "rlimits", "seccomp"} <= set(layers)
    for skipped in sandbox_mode.skip:
        assert skipped not in layers
    if "landlock" not in layers and "chroot" not in layers:
        assert "every file-system call refused" in layers["seccomp"]


async def attack(code: str, inputs: dict | None = None, **config) -> dict:
    scope = {"inputs": inputs or {}, "nodes": {}}
    node_inputs = {k: "{{ inputs.%s }}" % k for k in (inputs or {})}
    ctx = make_ctx({"type": "code", "config": {"code": WALK + code, "inputs": node_inputs, **config}},
                   services(Settings.from_env({})), scope=scope)
    return await RUN.run(ctx)


async def refused(code: str, match: str = REFUSED, inputs: dict | None = None, **config) -> str:
    with pytest.raises(NodeError, match=match) as info:
        await attack(code, inputs, **config)
    assert not info.value.retryable
    return info.value.message


# ------------------------------------------------------------------ files
@pytest.mark.parametrize("path", ["/etc/passwd", "/etc/shadow", "/proc/1/cmdline"])
async def test_reading_system_files_is_refused(path: str) -> None:
    await refused(f"result = open({path!r}).read()")
    await refused(f"result = check(os.open({path!r}, os.O_RDONLY), 'open')")


async def test_reading_the_apps_own_files_and_data_dir_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / ".pilot"
    data_dir.mkdir()
    (data_dir / "secret.key").write_text("top-secret-key")
    (data_dir / "secret.key").chmod(0o644)
    for path in (ROOT / "pilot" / "settings.py", ROOT / "pyproject.toml", data_dir / "secret.key"):
        await refused(f"result = open({str(path)!r}).read()")
    await refused(f"result = os.listdir({str(data_dir)!r})")
    await refused(f"result = os.listdir({str(ROOT)!r})")
    message = await refused("def main(inputs):\n    return [open(p).read() for p in inputs['paths']]", inputs={"paths": [str(data_dir / "secret.key")]})
    assert "top-secret-key" not in message


async def test_listing_directories_outside_the_scratch_dir_shows_nothing() -> None:
    for path in ("/", "..", sys.prefix):
        try:
            out = await attack(f"result = os.listdir({path!r})")
        except NodeError as exc:
            assert re.search(REFUSED, exc.message)
        else:  # a chroot shows the (empty) scratch directory as "/"
            assert out["result"] == []


async def test_writing_outside_the_scratch_dir_is_refused(tmp_path: Path) -> None:
    targets = [Path("/tmp") / f"pilot-escape-{uuid.uuid4().hex}", tmp_path / "escaped.txt", ROOT / f"escaped-{uuid.uuid4().hex}"]
    for target in targets:
        await refused(f"open({str(target)!r}, 'w').write('pwned')\nresult = 1")
        assert not target.exists()
    await refused("os.symlink('/etc/passwd', 'link'); result = open('link').read()")
    name = f"escape-relative-{uuid.uuid4().hex}"
    try:  # ".." of the scratch directory: refused, or (in a chroot) the scratch directory itself
        await attack(f"open('../{name}', 'w').write('x')\nresult = 1")
    except NodeError as exc:
        assert re.search(REFUSED, exc.message)
    assert not (Path(tempfile.gettempdir()) / name).exists()
    await refused("os.mkdir('/tmp/pilot-escape-dir')\nresult = 1")
    assert not Path("/tmp/pilot-escape-dir").exists()


# ------------------------------------------------------------------ network
class _Listener:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


async def test_opening_a_socket_to_a_local_server_is_refused() -> None:
    server = _Listener()
    try:
        port = server.port
        stdlib = sysconfig.get_paths()["stdlib"]
        # 1. import socket through a restored import system (files of the stdlib are unreadable)
        await refused(f"importlib = sys.modules['importlib']\nsys.path[:] = [{stdlib!r}, {stdlib + '/lib-dynload'!r}]\n"
                      "sys.meta_path.append(sys.modules['_frozen_importlib_external'].PathFinder)\n"
                      f"s = importlib.import_module('socket').create_connection(('127.0.0.1', {port}))\nresult = 1",
                      match=REFUSED + "|No module named")
        # 2. raw socket(2) + connect(2) through ctypes
        sockaddr = "bytes([2, 0]) + (%d).to_bytes(2, 'big') + bytes([127, 0, 0, 1]) + bytes(8)" % port
        await refused(f"fd = check(libc.socket(2, 1, 0), 'socket')\n"
                      f"addr = {sockaddr}\ncheck(libc.connect(fd, addr, 16), 'connect')\nresult = 1")
        # 3. the raw syscall numbers (x86-64: socket = 41)
        if os.uname().machine == "x86_64":
            await refused("check(libc.syscall(41, 2, 1, 0), 'syscall socket')\nresult = 1")
    finally:
        server.close()
    assert server.accepted == 0


# ------------------------------------------------------------------ processes
@pytest.mark.parametrize("spawn", [
    "os.fork()",
    "os.execv('/bin/sh', ['sh', '-c', 'touch MARKER'])",
    "os.posix_spawn('/bin/sh', ['sh', '-c', 'touch MARKER'], {})",
    "rc = os.system('touch MARKER')\nraise PermissionError(f'os.system refused: {rc}') if rc else None",
    "check(libc.fork(), 'libc fork')",
    "check(libc.syscall(57) if os.uname().machine == 'x86_64' else -1, 'raw fork')",
    "sys.modules['_thread'].start_new_thread(print, ('thread',))",
    "real_import('subprocess')",
    "os.popen('touch MARKER').read()",
])
async def test_new_processes_and_threads_are_refused(spawn: str) -> None:
    marker = f"/tmp/pilot-marker-{uuid.uuid4().hex}"
    code = spawn.replace("MARKER", marker) + "\nresult = 1"
    await refused(code, match=REFUSED + "|can't start new thread|No module named")
    assert not Path(marker).exists()


async def test_ctypes_and_importlib_tricks_are_refused() -> None:
    await refused("import ctypes")
    await refused("import importlib")
    await refused("result = sys.modules['importlib'].import_module('socket')", match="No module named")
    await refused(f"spec = sys.modules['_frozen_importlib_external'].spec_from_file_location('s', {str(ROOT / 'pilot' / 'settings.py')!r})\n"
                  "mod = sys.modules['_frozen_importlib'].module_from_spec(spec)\nspec.loader.exec_module(mod)",
                  match=REFUSED + "|No module named")
    await refused("check(libc.ptrace(16, os.getppid(), 0, 0), 'ptrace attach')")  # PTRACE_ATTACH


async def test_subclasses_and_builtins_walks_reach_nothing() -> None:
    await refused("o = real_import('os')\nresult = o.read(o.open('/etc/passwd', 0), 100).decode()")
    await refused("o = real_import('os')\nresult = o.system('id')\nraise PermissionError(f'system: {result}') if result else None")
    await refused("def every(c):\n    for s in type.__subclasses__(c):\n        yield s\n        yield from every(s)\n"
                  "b = [c for c in every(object) if c.__name__ == 'FileIO'][0]\n"
                  "result = b('/etc/passwd').read().decode()")


async def test_fork_bomb_is_refused() -> None:
    await refused("while True:\n    os.fork()")
    await refused("while True:\n    check(libc.fork(), 'fork')")


# ------------------------------------------------------------------ resources
async def test_memory_bomb_hits_the_memory_limit() -> None:
    await refused("x = bytearray(8 * 1024 ** 3)\nresult = len(x)", match=r"MemoryError.*limit 64 MB", memory_mb=64)
    await refused("xs = []\nwhile True:\n    xs.append(bytearray(1024 * 1024))", match=r"MemoryError.*limit 64 MB", memory_mb=64)


async def test_infinite_loop_hits_the_cpu_limit() -> None:
    await refused("while True:\n    pass", match="CPU time limit exceeded", cpu_time_s=1, wall_time_s=30)
    # ignoring SIGXCPU does not help: the hard limit kills one second later
    await refused("sys.modules['signal'].signal(24, sys.modules['signal'].SIG_IGN)\nwhile True:\n    pass",
                  match="CPU time limit exceeded", cpu_time_s=1, wall_time_s=30)


async def test_sleeping_forever_hits_the_wall_time_limit() -> None:
    await refused("import time\ntime.sleep(3600)", match="wall-time limit exceeded", wall_time_s=1)


async def test_a_1gb_print_hits_the_output_cap() -> None:
    await refused("print('x' * 1024 ** 3)", match="MemoryError")
    await refused("for _ in range(1024):\n    print('x' * 1024 ** 2)", match="stdout is over the max_output_bytes limit")
    await refused("while True:\n    os.write(1, b'x' * 1024 ** 2)", match="output limit exceeded", max_output_bytes=65536)


# ------------------------------------------------------------------ environment, signals
async def test_the_environment_holds_no_secrets(monkeypatch) -> None:
    secret = f"sk-escape-{uuid.uuid4().hex}"
    monkeypatch.setenv("PILOT_ESCAPE_SECRET", secret)
    code = ("def attempt(f):\n    try:\n        return f()\n    except Exception as exc:\n        return 'refused: ' + type(exc).__name__\n"
            "result = {'environ': dict(os.environ),\n"
            "          'self': attempt(lambda: open('/proc/self/environ', 'rb').read().decode()),\n"
            "          'parent': attempt(lambda: open(f'/proc/{os.getppid()}/environ', 'rb').read().decode()),\n"
            "          'getenv': os.getenv('PILOT_ESCAPE_SECRET')}")
    out = (await attack(code))["result"]
    assert secret not in json.dumps(out)
    assert out["getenv"] is None and not any(k.startswith(("PILOT", "OPENAI", "DATABASE")) for k in out["environ"])
    assert out["self"].startswith("refused") and out["parent"].startswith("refused")


async def test_signals_to_the_parent_and_others_are_refused() -> None:
    victim = subprocess.Popen(["sleep", "60"])
    try:
        await refused("os.kill(os.getppid(), 9)")
        await refused("os.kill(-1, 9)")
        await refused("os.killpg(os.getpgid(os.getppid()), 9)", match=REFUSED + "|No such process")
        await refused(f"os.kill({victim.pid}, 9)")
        await refused(f"check(libc.kill({os.getpid()}, 15), 'libc kill')")
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


async def test_the_parent_stays_healthy_after_the_suite() -> None:
    out = await attack("def main(inputs):\n    return {'pid_visible': os.getppid() > 0, 'sum': sum(range(10))}")
    assert out["result"]["sum"] == 45
    os.kill(os.getpid(), 0)  # still here
    assert sys.modules["pilot.sandbox.pool"] is not None and signal.getsignal(signal.SIGTERM) is not None
