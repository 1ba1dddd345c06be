"""SSE benchmarks (a script, not a test): ``uv run python tests/bench/bench_sse.py``.

Against a real API server process (``pilot.app`` under uvicorn, embedded SQLite and in-memory
bus, a throw-away data directory), with the stream clients spread over several client processes
(raw sockets, HTTP/1.1 chunked parsing by hand: a client costs next to nothing, so it is never
what is measured):

1. Latency publish → client: a run's ``tick`` node publishes ``--events`` ``node.delta`` events
   10 ms apart, each carrying its publish time (``time.time()``, one clock: one machine), to
   ``--clients`` concurrent streams of that run (``--procs`` processes); each client notes the
   arrival time of every delta. Prints p50/p99/max over all deliveries per round, the server's
   CPU, and each client process's CPU share (it must stay well below a core). Target (issue 14):
   p99 ≤ 20 ms with 100 clients.
2. Memory per idle stream: a run that publishes nothing until told; ``--idle-streams`` streams
   of it are opened (spread over the client processes), and the server's RSS after they settle
   minus its RSS before, divided by their number, is the cost of one idle stream. Target: ≤ 50 kB
   at 3,000 streams. Also prints the server's CPU while they sit idle.

Options: ``--clients 100 --procs 4 --events 200 --repeats 3 --idle-streams 3000`` (a comma list
measures each), ``--skip-latency``, ``--skip-idle``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench import gclog  # noqa: E402 - after the path
from tests.bench.rawhttp import encode_request, open_stream  # noqa: E402

TARGET_P99_MS = 20.0
TARGET_IDLE_KB = 50.0


# ------------------------------------------------------------------ the server (--serve)
class TickTool:
    """A ``tool`` node that waits until the file ``go`` exists (the clients are connected), then
    emits ``n`` node.delta events ``every`` seconds apart, each carrying its publish time."""

    node_type = "tool"

    async def run(self, ctx) -> Any:
        args = ctx.node.config.arguments
        while not os.path.exists(args["go"]):
            await asyncio.sleep(0.01)
        for _ in range(args["n"]):
            await ctx.emit("node.delta", {"node_id": ctx.node.id, "text": repr(time.time())})
            await asyncio.sleep(args["every"])
        return None


def serve(port: int, data_dir: str) -> None:
    """``--serve PORT DATA_DIR``: the API, every ``tool`` node run by TickTool, on a real socket."""
    import uvicorn

    from pilot.app import create_app
    from pilot.engine.nodes import register
    from pilot.settings import Settings

    register(TickTool(), replace=True)
    if os.environ.get("PILOT_BENCH_TRACE_DIR"):  # --trace-memory: SIGUSR1 writes a tracemalloc snapshot
        import signal
        import tracemalloc

        tracemalloc.start(12)
        taken = iter(range(1_000_000))
        signal.signal(signal.SIGUSR1, lambda *_: tracemalloc.take_snapshot().dump(
            os.path.join(os.environ["PILOT_BENCH_TRACE_DIR"], f"snapshot-{next(taken)}")))
    # WARNING: not a log line per stream on the bench's output (the server's default logs each).
    settings = Settings.from_env({"PILOT_DATA_DIR": data_dir, "PILOT_LOG_LEVEL": "warning"})
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning", backlog=8192)


# ------------------------------------------------------------------ a client process (--client)
async def _stream(port: int, request: bytes, connect: asyncio.Semaphore, latencies: list[float],
                  connected: Any) -> int:
    """One stream until ``run.finished``: its events counted, each node.delta's latency noted."""
    async with connect:
        stream = await open_stream(port, request)
    events, ready = 0, False
    try:
        async for now, messages in stream.messages():
            for message in messages:
                events += 1
                if not ready:
                    ready = True
                    connected()
                if b"event: node.delta" in message:
                    sent = float(message.split(b'"text":"', 1)[1].split(b'"', 1)[0])
                    latencies.append(now - sent)
                elif b"event: run.finished" in message:
                    return events
        raise RuntimeError("the stream ended before run.finished")
    finally:
        stream.close()


async def client_main(port: int, key: str, execution_id: str, count: int) -> None:
    """Open ``count`` streams; print ``ready`` once each has its first event, then one JSON line."""
    request = encode_request("GET", f"/api/executions/{execution_id}/stream", key=key,
                             headers={"Accept": "text/event-stream"})
    latencies: list[float] = []
    state = {"ready": 0, "cpu": 0.0, "t": 0.0}

    def connected() -> None:
        state["ready"] += 1
        if state["ready"] == count:
            state["cpu"], state["t"] = time.process_time(), time.perf_counter()
            print("ready", flush=True)

    connect = asyncio.Semaphore(64)  # connection attempts in flight (the listen backlog)
    async with asyncio.timeout(600):
        done = await asyncio.gather(*(_stream(port, request, connect, latencies, connected) for _ in range(count)),
                                    return_exceptions=True)
    errors = [f"{type(e).__name__}: {e}" for e in done if isinstance(e, BaseException)]
    print(json.dumps({"latencies": latencies, "events": sum(e for e in done if isinstance(e, int)), "errors": errors[:5],
                      "cpu_s": time.process_time() - state["cpu"], "wall_s": time.perf_counter() - state["t"]}), flush=True)


# ------------------------------------------------------------------ the orchestrator
def cpu_seconds(pid: int) -> float:
    """user+system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))]


class Bench:
    """The server process, its key and the two workflows."""

    def __init__(self, procs: int, trace: bool = False) -> None:
        self.procs = procs
        self.trace = trace
        self.tmp = Path(tempfile.mkdtemp(prefix="pilot-bench-sse-"))

    def start(self) -> None:
        import httpx

        from pilot.auth.service import create_api_key
        from pilot.db.migrate import upgrade
        from pilot.runtime import Runtime
        from pilot.settings import Settings
        from tests.support.servers import free_port

        data_dir = str(self.tmp / "data")
        settings = Settings.from_env({"PILOT_DATA_DIR": data_dir})
        upgrade(settings.db.url)

        async def make_key() -> str:
            runtime = Runtime.build(settings)
            async with runtime.sessions() as s:
                key = await create_api_key(s, "bench")
                await s.commit()
            await runtime.aclose()
            return key

        self.key = asyncio.run(make_key())
        self.port = free_port()
        env = gclog.enable(self.tmp / "gclog", dict(os.environ))  # the server logs its GC pauses
        if self.trace:
            env["PILOT_BENCH_TRACE_DIR"] = str(self.tmp)
        self.log = self.tmp / "server.log"
        with self.log.open("ab") as log:
            self.server = subprocess.Popen([sys.executable, __file__, "--serve", str(self.port), data_dir], cwd=ROOT, env=env,
                                           stdout=log, stderr=subprocess.STDOUT)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers={"Authorization": f"Bearer {self.key}"},
                                 timeout=60)
        deadline = time.monotonic() + (180 if self.trace else 60)
        while True:
            try:
                if self.http.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)

    def start_run(self, n: int, every: float) -> tuple[str, Path]:
        """Start a run whose tick node waits for a go file; returns (execution id, go file)."""
        go = self.tmp / f"go-{time.time_ns()}"
        graph = {
            "name": "bench sse",
            "nodes": [
                {"id": "start", "type": "input", "config": {"fields": []}},
                {"id": "tick", "type": "tool", "config": {"tool": "bench", "arguments": {"n": n, "every": every, "go": str(go)}}},
                {"id": "out", "type": "output", "config": {"outputs": {"done": "yes"}}},
            ],
            "edges": [{"id": "a", "source": "start", "target": "tick"}, {"id": "b", "source": "tick", "target": "out"}],
        }
        created = self.http.post("/api/workflows", json=graph)
        created.raise_for_status()
        started = self.http.post(f"/api/workflows/{created.json()['id']}/execute", json={})
        started.raise_for_status()
        return started.json()["execution_id"], go

    def clients(self, execution_id: str, total: int) -> list[subprocess.Popen]:
        """``total`` streams of the run over ``self.procs`` client processes; returns once all are
        connected and have received their first event."""
        counts = [total // self.procs + (1 if i < total % self.procs else 0) for i in range(self.procs)]
        procs = [subprocess.Popen([sys.executable, __file__, "--client", str(self.port), self.key, execution_id, str(c)],
                                  cwd=ROOT, stdout=subprocess.PIPE, text=True) for c in counts if c]
        for proc in procs:
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"client process did not connect: {line[:500]!r}")
        return procs

    @staticmethod
    def collect(procs: list[subprocess.Popen]) -> list[dict]:
        out = []
        for proc in procs:
            stdout, _ = proc.communicate(timeout=600)
            out.append(json.loads(stdout.strip().splitlines()[-1]))
        return out

    def snapshot(self):
        """A tracemalloc snapshot of the server (``--trace-memory``)."""
        import signal
        import tracemalloc

        before = set(self.tmp.glob("snapshot-*"))
        os.kill(self.server.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 60
        while True:
            new = set(self.tmp.glob("snapshot-*")) - before
            if new:
                path = new.pop()
                size = -1
                while size != path.stat().st_size:  # still being written
                    size = path.stat().st_size
                    time.sleep(0.5)
                return tracemalloc.Snapshot.load(str(path))
            if time.monotonic() > deadline:
                raise RuntimeError("no snapshot")
            time.sleep(0.1)

    def gc_pauses(self, offset: int) -> str:
        """The server's GC pauses logged after ``offset`` (of :attr:`log`)."""
        return gclog.describe(gclog.pauses(self.log, offset))

    def stop(self) -> None:
        if hasattr(self, "server"):
            self.server.terminate()
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def latency_round(bench: Bench, clients: int, events: int) -> dict:
    execution_id, go = bench.start_run(events, 0.01)
    procs = bench.clients(execution_id, clients)
    time.sleep(0.3)  # every stream subscribed
    log_at = bench.log.stat().st_size
    cpu0, t0 = cpu_seconds(bench.server.pid), time.perf_counter()
    go.touch()
    results = bench.collect(procs)
    server_cpu, wall = cpu_seconds(bench.server.pid) - cpu0, time.perf_counter() - t0
    latencies = [x * 1000 for r in results for x in r["latencies"]]
    errors = [e for r in results for e in r["errors"]]
    return {"count": len(latencies), "expected": clients * events, "p50": pct(latencies, 50), "p99": pct(latencies, 99),
            "max": max(latencies), "server_cpu": server_cpu / wall, "errors": errors, "gc": bench.gc_pauses(log_at),
            "client_cpu": [r["cpu_s"] / r["wall_s"] for r in results]}


def idle_round(bench: Bench, streams: int) -> dict:
    execution_id, go = bench.start_run(1, 0.0)
    time.sleep(1.0)
    snap = bench.snapshot() if bench.trace else None
    before = rss_kb(bench.server.pid)
    procs = bench.clients(execution_id, streams)
    time.sleep(3.0)  # settled: every stream past its opening read and subscribed
    if snap is not None:
        print(f"  tracemalloc, {streams} idle streams: bytes per stream by allocation site (top 25)")
        diff = bench.snapshot().compare_to(snap, "lineno")
        print(f"    total {sum(d.size_diff for d in diff) / streams:8.0f} B")
        for d in diff[:25]:
            frame = d.traceback[0]
            print(f"    {d.size_diff / streams:8.0f} B  {d.count_diff / streams:5.1f} blocks  "
                  f"{frame.filename.split('site-packages/')[-1].replace(str(ROOT) + '/', '')}:{frame.lineno}")
    cpu0 = cpu_seconds(bench.server.pid)
    time.sleep(5.0)
    idle_cpu = (cpu_seconds(bench.server.pid) - cpu0) / 5.0
    after = rss_kb(bench.server.pid)
    go.touch()
    results = bench.collect(procs)
    errors = [e for r in results for e in r["errors"]]
    ended = sum(r["events"] > 0 for r in results)
    return {"before_kb": before, "after_kb": after, "per_stream_kb": (after - before) / streams, "idle_cpu": idle_cpu,
            "errors": errors, "ended": ended}


def main(args: argparse.Namespace) -> int:
    bench = Bench(args.procs, trace=args.trace_memory)
    ok = True
    try:
        bench.start()
        if not args.skip_latency:
            print(f"== latency publish → SSE client: {args.clients} streams over {args.procs} client processes, "
                  f"{args.events} deltas 10 ms apart per round ==")
            warm = latency_round(bench, args.clients, 50)  # first-time costs (imports, caches) are no round's
            print(f"  warm-up (50 deltas, not counted): p99 {warm['p99']:.2f} ms; server GC pauses >= 5 ms: {warm['gc']}")
            p99s = []
            for i in range(args.repeats):
                r = latency_round(bench, args.clients, args.events)
                p99s.append(r["p99"])
                ok &= not r["errors"] and r["count"] == r["expected"]
                print(f"  round {i + 1}: {r['count']}/{r['expected']} deliveries, p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, "
                      f"max {r['max']:.2f} ms; server CPU {r['server_cpu'] * 100:.0f} % of a core; client processes "
                      + ", ".join(f"{c * 100:.0f} %" for c in r["client_cpu"]) + f"; server GC pauses >= 5 ms: {r['gc']}"
                      + (f"  errors: {r['errors']}" if r["errors"] else ""))
            print(f"  p99 min {min(p99s):.2f} ms, median {statistics.median(p99s):.2f} ms   target <= {TARGET_P99_MS:g} ms  "
                  f"{'met' if statistics.median(p99s) <= TARGET_P99_MS else 'MISSED'} (median)")
        if not args.skip_idle:
            print(f"== memory per idle stream (server RSS delta / streams, {args.procs} client processes) ==")
            if args.skip_latency:  # the first streams' one-time costs (imports, caches) are no stream's
                idle_round(bench, 100)
            for n in [int(x) for x in args.idle_streams.split(",") if x.strip()]:
                r = idle_round(bench, n)
                ok &= not r["errors"] and r["ended"] == args.procs
                print(f"  {n} idle streams: RSS {r['before_kb'] / 1024:.1f} → {r['after_kb'] / 1024:.1f} MB, "
                      f"{r['per_stream_kb']:.1f} kB per stream (target <= {TARGET_IDLE_KB:g} kB); "
                      f"server CPU while idle {r['idle_cpu'] * 100:.0f} % of a core"
                      + (f"  errors: {r['errors']}" if r["errors"] else ""))
    finally:
        bench.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3])
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        asyncio.run(client_main(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--procs", type=int, default=4, help="client processes the streams are spread over")
    parser.add_argument("--events", type=int, default=200, help="node.delta events per latency round")
    parser.add_argument("--repeats", type=int, default=3, help="latency rounds")
    parser.add_argument("--idle-streams", default="3000", help="comma list of idle stream counts")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--trace-memory", action="store_true",
                        help="run the server under tracemalloc and print where an idle stream's memory goes "
                             "(RSS figures then include tracemalloc's own overhead)")
    parser.add_argument("--skip-idle", action="store_true")
    sys.exit(main(parser.parse_args()))
