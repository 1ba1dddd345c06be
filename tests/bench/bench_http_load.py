"""Per-request overhead over a real socket: one ``pilot serve`` worker driven by a separate load client.

Run: ``uv run python -m tests.bench.bench_http_load [--routes health,generate,tools,connectors,sse]
[--duration 5] [--procs 2] [--conns 8] [--sse-opens 300] [--repeat 1] [--root PATH] [--profile FILE]
[--generation-processes 0,2]``.

It starts ``pilot serve`` (one uvicorn worker, embedded SQLite in a throw-away data directory,
offline planner) in a subprocess, takes the dev key it writes, creates what the routes need over
HTTP (a workflow run to the end for the SSE replay, a few tool instances), then drives each route
at concurrency ``procs × conns`` (default 2 × 8 = 16) from a pool of **separate processes**, each
holding raw keep-alive HTTP/1.1 connections on asyncio streams with pre-encoded requests, for a
fixed duration after a warm-up. Per route it prints requests/s, latency p50/p99, the server's CPU
per request (``/proc/<pid>/stat`` before/after the window) and the load processes' own CPU share,
which shows the client is not the bottleneck.

Routes: ``health`` (``GET /health``), ``generate`` (``POST /api/workflows/generate``, the structure
eval's 215 dev prompts over and over, ``save: false``: after the first round every prompt is one the
server has generated before), ``generate-new`` (the same route over every distinct prompt of the
eval splits, ~1,950: more than the server's 512-entry generation cache holds, so every request is
a prompt it has not got cached, as for users typing new requests; measured once per value of
``--generation-processes``: 0 plans on the event loop, N in N generation processes, and the
server CPU per request then counts those processes too), ``tools`` (``GET /api/tools``: the workspace's
tool instances plus the connectors' descriptions), ``connectors`` (``GET /api/tools/connectors``),
``sse`` (open ``GET /api/executions/{id}/stream`` of a finished run and read its whole replay to
the end). ``--sse-opens N`` also opens the stream N times one after another on one connection
and prints the wall time and server CPU per open.

``--root`` serves another checkout (e.g. ``git archive <commit> | tar -x -C /tmp/base``) with this
client, so two versions are compared on the same machine; ``--profile FILE`` runs the server under
cProfile (written when it stops; read it with ``python -m pstats FILE``).
Figures are only comparable on an otherwise idle machine: repeat and take min/median.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]
PROMPTS = HERE / "evals" / "data" / "structure_dev.jsonl"
TICK = os.sysconf("SC_CLK_TCK")
ROUTES = ("health", "generate", "generate-new", "tools", "connectors", "sse")
DATA = HERE / "evals" / "data"


# ------------------------------------------------------------------ raw HTTP/1.1


def encode_request(method: str, path: str, key: str | None = None, body: object = None) -> bytes:
    """One pre-encoded keep-alive request."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if key:
        head.append(f"Authorization: Bearer {key}")
    payload = b""
    if body is not None:
        payload = json.dumps(body).encode()
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one response; chunked bodies (SSE) are read to their end."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    keep = b"connection: close" not in lower
    marker = lower.find(b"content-length:")
    if marker >= 0:
        length = int(lower[marker + 15:lower.index(b"\r\n", marker)])
        return status, await reader.readexactly(length), keep
    if b"transfer-encoding: chunked" in lower:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, b"".join(parts), keep
            parts.append((await reader.readexactly(size + 2))[:-2])
    return status, await reader.read(), False


async def _connection(port: int, requests: list[bytes], expect: int, start: float, stop: float, lat: list[float],
                      counts: list[int], offset: int, stride: int) -> None:
    """One keep-alive connection sending requests ``offset``, ``offset + stride``, … (each connection
    its own residue class, so no two connections send the same request in the same round)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while True:
            t0 = time.time()
            if t0 >= stop:
                return
            writer.write(requests[i % len(requests)])
            i += stride
            counts[2] += 1
            status, _, keep = await read_response(reader)
            t1 = time.time()
            if t0 >= start:
                lat.append(t1 - t0)
                counts[0] += 1
                counts[1] += status != expect
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def _load_process(port: int, requests: list[bytes], expect: int, conns: int, start: float, stop: float, index: int,
                  stride: int, out) -> None:
    """One load process: ``conns`` connections until ``stop``; counts what starts after ``start``."""
    lat: list[float] = []
    counts = [0, 0, 0]  # measured, measured with another status, sent (warm-up included)

    async def run() -> float:
        tasks = [asyncio.ensure_future(_connection(port, requests, expect, start, stop, lat, counts, index * conns + c, stride))
                 for c in range(conns)]
        await asyncio.sleep(max(0.0, start - time.time()))
        cpu0 = time.process_time()
        await asyncio.gather(*tasks)
        return time.process_time() - cpu0

    cpu = asyncio.run(run())
    out.send((lat, counts[0], counts[1], cpu, counts[2]))
    out.close()


def _probe_process(port: int, request: bytes, start: float, stop: float, out) -> None:
    """Send ``request`` every 10 ms on its own connection (paced: it adds ~100 requests/s) and
    report the latencies in the window: how long any other request waits while the load runs."""
    lat: list[float] = []

    async def run() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        tick = time.time()
        while time.time() < stop:
            began = time.perf_counter()
            writer.write(request)
            status, _, _ = await read_response(reader)
            if time.time() >= start and status == 200:
                lat.append(time.perf_counter() - began)
            tick += 0.01
            await asyncio.sleep(max(0.0, tick - time.time()))
        writer.close()

    asyncio.run(run())
    out.send(lat)
    out.close()


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds so far of a process and every live process under it (the
    generation, render and code-sandbox processes the server starts work for its requests)."""
    return proc_cpus(pid)[0]


def proc_cpus(pid: int) -> tuple[float, float]:
    """(CPU seconds of ``pid`` and every live process under it, of ``pid`` alone)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICK
    if pid not in cpu:
        raise ProcessLookupError(pid)
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(cpu[p] for p in tree), cpu[pid]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def drive(port: int, server_pid: int, requests: list[bytes], expect: int, *, procs: int, conns: int,
          warmup: float, duration: float, probe: bytes | None = None) -> dict:
    """Load the server from ``procs`` processes for ``warmup + duration`` seconds; measure the
    window. With ``probe``, one more process sends that request every 10 ms meanwhile."""
    ctx = mp.get_context("fork")
    start = time.time() + 0.5 + warmup
    stop = start + duration
    pipes, workers = [], []
    if probe is not None:
        probe_in, probe_out = ctx.Pipe(duplex=False)
        prober = ctx.Process(target=_probe_process, args=(port, probe, start, stop, probe_out))
        prober.start()
    for index in range(procs):
        receive, send = ctx.Pipe(duplex=False)
        worker = ctx.Process(target=_load_process, args=(port, requests, expect, conns, start, stop, index, procs * conns, send))
        worker.start()
        pipes.append(receive)
        workers.append(worker)
    time.sleep(max(0.0, start - time.time()))
    cpu0, own0 = proc_cpus(server_pid)
    time.sleep(max(0.0, stop - time.time()))
    cpu1, own1 = proc_cpus(server_pid)
    results = [pipe.recv() for pipe in pipes]
    for worker in workers:
        worker.join()
    probed = probe_in.recv() if probe is not None else []
    if probe is not None:
        prober.join()
    lat = [x for r in results for x in r[0]]
    done = sum(r[1] for r in results)
    return {
        "probe_p50_ms": pct(probed, 0.5) * 1000, "probe_p99_ms": pct(probed, 0.99) * 1000, "probes": len(probed),
        "rps": done / duration, "sent": sum(r[4] for r in results), "p50_ms": pct(lat, 0.5) * 1000, "p99_ms": pct(lat, 0.99) * 1000,
        "errors": sum(r[2] for r in results), "server_cpu_ms": (cpu1 - cpu0) * 1000 / max(done, 1),
        "server_cpu_share": (cpu1 - cpu0) / duration, "api_process_cpu_ms": (own1 - own0) * 1000 / max(done, 1), "client_cpu_share": [r[3] / duration for r in results],
    }


async def sequential_opens(port: int, server_pid: int, request: bytes, n: int) -> dict:
    """Open the stream ``n`` times one after another (one keep-alive connection): wall and server CPU per open."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    walls: list[float] = []
    events = 0
    for i in range(n + 20):  # 20 warm-up opens
        if i == 20:
            cpu0 = proc_cpu(server_pid)
        t0 = time.perf_counter()
        writer.write(request)
        status, body, keep = await read_response(reader)
        assert status == 200 and b"run.finished" in body, (status, body[:200])
        if i >= 20:
            walls.append(time.perf_counter() - t0)
            events = body.count(b"\nevent: ")
        if not keep:
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
    cpu1 = proc_cpu(server_pid)
    writer.close()
    return {"opens": n, "events": events, "wall_p50_ms": pct(walls, 0.5) * 1000, "wall_p99_ms": pct(walls, 0.99) * 1000,
            "server_cpu_ms": (cpu1 - cpu0) * 1000 / n}


# ------------------------------------------------------------------ the server and its data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: str, data: str, port: int, profile: str | None, processes: int | None = None) -> subprocess.Popen:
    env = {**os.environ, "PILOT_DATA_DIR": data, "PYTHONDONTWRITEBYTECODE": "1"}
    if processes is not None:
        env["PILOT_GENERATION_PROCESSES"] = str(processes)
    for name in ("OPENAI_API_KEY", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    command = [sys.executable, *(["-m", "cProfile", "-o", profile] if profile else []), "-m", "pilot.cli", "serve",
               "--host", "127.0.0.1", "--port", str(port)]
    log = open(Path(data) / "server.log", "wb")  # noqa: SIM115 - closed with the directory
    return subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)


def call(port: int, method: str, path: str, key: str, body: object = None) -> tuple[int, object]:
    async def once() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(encode_request(method, path, key, body))
        status, payload, _ = await read_response(reader)
        writer.close()
        return status, payload

    status, payload = asyncio.run(once())
    return status, json.loads(payload) if payload else None


def wait_ready(port: int, key_file: Path, server: subprocess.Popen) -> str:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            if key_file.exists() and call(port, "GET", "/health", "")[0] == 200:
                return key_file.read_text().strip()
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start within 90 s")


def wait_quiet(pid: int, *, window_s: float = 0.5, windows: int = 3, share: float = 0.05, limit_s: float = 90.0) -> float:
    """Wait until the server has finished its start-up warm-up (template library, generation tables,
    render and generation processes: seconds of CPU on a slow machine): ``windows`` windows in a
    row of ``window_s`` in which it and its processes used under ``share`` of a core (longer
    than the warm-up's delay after start-up). Returns the seconds waited. Without it the first
    route measured would share the machine with the warm-up."""
    began, quiet = time.monotonic(), 0
    while time.monotonic() - began < limit_s and quiet < windows:
        before = proc_cpu(pid)
        time.sleep(window_s)
        quiet = quiet + 1 if proc_cpu(pid) - before < share * window_s else 0
    return time.monotonic() - began


def prepare(port: int, key: str) -> str:
    """A finished run to replay (its id) and three tool instances for the listing."""
    for name, connector in (("hooks", "webhook"), ("fetch", "http"), ("notify", "slack")):
        status, body = call(port, "POST", "/api/tools", key, {"name": name, "connector": connector})
        assert status in (201, 409), (status, body)
    workflow = {
        "name": "Replay", "nodes": [
            {"id": "inp", "type": "input", "config": {"fields": [{"name": "topic"}]}},
            {"id": "write", "type": "llm", "config": {"model": "offline", "prompt": "Write about {{ inputs.topic }}"}},
            {"id": "out", "type": "output", "config": {"outputs": {"text": "{{ nodes.write.output }}"}}}],
        "edges": [{"id": "e1", "source": "inp", "target": "write"}, {"id": "e2", "source": "write", "target": "out"}]}
    status, created = call(port, "POST", "/api/workflows", key, workflow)
    assert status == 201, created
    status, run = call(port, "POST", f"/api/workflows/{created['id']}/execute", key, {"input_data": {"topic": "load"}})
    assert status == 202, run
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, execution = call(port, "GET", f"/api/executions/{run['execution_id']}", key)
        if execution["status"] in ("succeeded", "failed", "cancelled"):
            assert execution["status"] == "succeeded", execution
            return run["execution_id"]
        time.sleep(0.1)
    raise SystemExit("the run did not finish")


def _generate_prompts(route: str) -> list[str]:
    files = [PROMPTS] if route == "generate" else sorted(DATA.glob("structure_[bd]*.jsonl"))
    rows = [json.loads(x) for f in files for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]
    return list(dict.fromkeys(r["prompt"] for r in rows))


def route_requests(route: str, key: str, execution_id: str) -> tuple[list[bytes], int]:
    if route == "health":
        return [encode_request("GET", "/health")], 200
    if route in ("generate", "generate-new"):
        prompts = _generate_prompts(route)
        return [encode_request("POST", "/api/workflows/generate", key, {"prompt": p, "save": False}) for p in prompts], 201
    if route == "tools":
        return [encode_request("GET", "/api/tools", key)], 200
    if route == "connectors":
        return [encode_request("GET", "/api/tools/connectors", key)], 200
    return [encode_request("GET", f"/api/executions/{execution_id}/stream", key)], 200


class _Server:
    """A ``pilot serve`` process on a throw-away data directory, with the dev key and a finished run."""

    def __init__(self, root: str, profile: str | None, processes: int | None = None) -> None:
        self.root, self.profile, self.processes = root, profile, processes

    def __enter__(self) -> _Server:
        self._data = tempfile.TemporaryDirectory()
        self.port = free_port()
        self.process = start_server(self.root, self._data.name, self.port, self.profile, self.processes)
        try:
            self.key = wait_ready(self.port, Path(self._data.name) / "dev-key", self.process)
            self.execution_id = prepare(self.port, self.key)
            wait_quiet(self.process.pid)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.send_signal(signal.SIGINT)  # uvicorn re-raises it after shutdown: cProfile still writes
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._data.cleanup()


def prime(server: _Server, measured: set[str]) -> int:
    """Serve the template eval's requests (none of the measured prompts) once, one after another,
    so the process has seen other users' requests: the service-alias patterns it compiles on first
    use are warm, while every measured prompt's own text (its templates, labels, cache entry) is new."""
    rows = [json.loads(x) for x in (DATA / "requests.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    prompts = [r["prompt"] for r in rows if r["prompt"] not in measured]
    for prompt in prompts:
        status, _ = call(server.port, "POST", "/api/workflows/generate", server.key, {"prompt": prompt, "save": False})
        assert status == 201, status
    return len(prompts)


def report(route: str, r: dict) -> None:
    print(f"  {route:<12} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
          f"server CPU {r['server_cpu_ms']:.3f} ms/req ({r['server_cpu_share']:.0%} of a core"
          + (f"; API process {r['api_process_cpu_ms']:.3f} ms/req" if r['api_process_cpu_ms'] < r['server_cpu_ms'] * 0.95 else "")
          + ")  "
          f"client CPU {'+'.join(f'{c:.0%}' for c in r['client_cpu_share'])}  errors {r['errors']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routes", default=",".join(ROUTES), help=f"comma-separated, of {', '.join(ROUTES)}")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per route")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--procs", type=int, default=2, help="load processes")
    parser.add_argument("--conns", type=int, default=8, help="keep-alive connections per load process")
    parser.add_argument("--sse-opens", type=int, default=300, help="sequential SSE opens (0: skip)")
    parser.add_argument("--repeat", type=int, default=1, help="measure each route this many times (min/median rps)")
    parser.add_argument("--root", default=str(HERE), help="checkout to serve (default: this one)")
    parser.add_argument("--profile", default=None, help="run the server under cProfile, writing this file")
    parser.add_argument("--generation-processes", default="0,2",
                        help="generate-new: PILOT_GENERATION_PROCESSES values to compare (0: generation on the event loop)")
    args = parser.parse_args()
    routes = [r.strip() for r in args.routes.split(",") if r.strip()]
    unknown = set(routes) - set(ROUTES)
    if unknown:
        parser.error(f"unknown routes: {', '.join(sorted(unknown))}")
    profile = os.path.abspath(args.profile) if args.profile else None
    print(f"{args.root}: one uvicorn worker, concurrency {args.procs}×{args.conns}, {args.duration:g} s per run")
    load = {"procs": args.procs, "conns": args.conns, "warmup": args.warmup, "duration": args.duration}
    shared = [r for r in routes if r != "generate-new"]
    if shared:
        with _Server(args.root, profile) as server:
            for route in shared:
                requests, expect = route_requests(route, server.key, server.execution_id)
                runs = [drive(server.port, server.process.pid, requests, expect, **load) for _ in range(args.repeat)]
                for r in runs:
                    report(route, r)
                if args.repeat > 1:
                    rps = sorted(r["rps"] for r in runs)
                    print(f"  {route:<12} min {rps[0]:.1f}  median {statistics.median(rps):.1f} req/s")
                if route == "sse" and args.sse_opens:
                    seq = asyncio.run(sequential_opens(server.port, server.process.pid, requests[0], args.sse_opens))
                    print(f"  sse open, sequential: {seq['opens']} opens of a {seq['events']}-event replay: wall p50 "
                          f"{seq['wall_p50_ms']:.2f} ms, p99 {seq['wall_p99_ms']:.2f} ms, server CPU "
                          f"{seq['server_cpu_ms']:.3f} ms/open")
    if "generate-new" in routes:
        for processes in [int(x) for x in args.generation_processes.split(",") if x.strip()]:
            generate_new(args, load, profile, processes)


def generate_new(args: argparse.Namespace, load: dict, profile: str | None, processes: int) -> None:
    """The generate-new route with ``processes`` generation processes (server CPU counts them)."""
    label = f"generate-new, {processes} generation process{'es' if processes != 1 else ''}" if processes else \
        "generate-new, generation on the event loop"
    print(f"  {label}:")
    # A new server per repetition: a prompt measured once is never measured again by the same
    # process (its templates and labels would be in the process's parse and regex caches).
    runs = []
    for _ in range(args.repeat):
        with _Server(args.root, profile, processes) as server:
            requests, expect = route_requests("generate-new", server.key, server.execution_id)
            primed = prime(server, set(_generate_prompts("generate-new")))
            # a window the pool covers at 400+ requests/s: every measured request is a prompt
            # the server has never seen (it says so below, or that the pool wrapped)
            window = {**load, "warmup": min(load["warmup"], 0.5), "duration": min(load["duration"], 3.0)}
            r = drive(server.port, server.process.pid, requests, expect, **window, probe=encode_request("GET", "/health"))
            sent = r["sent"]
            report("generate-new", r)
            print(f"  {'':<12} meanwhile GET /health every 10 ms: p50 {r['probe_p50_ms']:.2f} ms, p99 {r['probe_p99_ms']:.2f} ms "
                  f"({r['probes']} probes)")
            print(f"  {'':<12} primed with {primed} other requests; {sent} sent of {len(requests)} distinct "
                  f"prompts: {'every request a new prompt' if sent <= len(requests) else 'WRAPPED: lengthen the pool'}")
            runs.append(r)
    if args.repeat > 1:
        rps = sorted(r["rps"] for r in runs)
        print(f"  {'generate-new':<12} min {rps[0]:.1f}  median {statistics.median(rps):.1f} req/s")


if __name__ == "__main__":
    main()
