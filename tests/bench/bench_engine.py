"""Engine benchmarks (a script, not a test): ``uv run python tests/bench/bench_engine.py``.

1. Engine overhead per node: no-op nodes in chains and wide fan-outs of 10/100/1,000 nodes,
   run by the real GraphRunner with the real event path (EventRecorder → InMemoryBus), µs/node;
   and the same through the full executor with SQLite persistence (write-behind).
2. Makespan / critical path for random DAGs of sleeping nodes (target ≤ 1.05).
3. Event latency publish → SSE client, p50/p99, with 100 concurrent stream clients over a real
   socket (the API runs in a separate process: ``--serve`` mode below).

Options: ``--quick`` (smaller repeats), ``--clients N``, ``--skip-sse``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pilot.engine.nodes import register
from pilot.engine.nodes.base import EngineServices
from pilot.engine.runner import GraphRunner, RunEnv
from pilot.events.bus import InMemoryBus
from pilot.events.recorder import EventRecorder
from pilot.settings import Settings
from pilot.workflows.model import graph_from_builtins


class NoopTool:
    node_type = "tool"

    async def run(self, ctx) -> Any:
        return None


class SleepTool:
    """Sleeps ``arguments.sleep`` seconds."""

    node_type = "tool"

    async def run(self, ctx) -> Any:
        await asyncio.sleep(ctx.node.config.arguments["sleep"])
        return None


class TickTool:
    """Emits ``n`` node.delta events carrying their publish time (for the latency benchmark)."""

    node_type = "tool"

    async def run(self, ctx) -> Any:
        args = ctx.node.config.arguments
        await asyncio.sleep(args.get("wait", 0))
        for _ in range(args["n"]):
            await ctx.emit("node.delta", {"node_id": ctx.node.id, "text": repr(time.time())})
            await asyncio.sleep(args["every"])
        return None


def tool(id: str, **arguments: Any) -> dict:
    return {"id": id, "type": "tool", "config": {"tool": "bench", "arguments": arguments}}


def chain(n: int):
    nodes = [tool(f"n{i}") for i in range(n)]
    edges = [{"id": f"e{i}", "source": f"n{i}", "target": f"n{i + 1}"} for i in range(n - 1)]
    return graph_from_builtins({"nodes": nodes, "edges": edges, "settings": {"max_concurrency": 256}})


def fanout(n: int):
    # src → (n - 2) parallel nodes → sink : n nodes in total
    mids = [tool(f"m{i}") for i in range(n - 2)]
    nodes = [tool("src"), *mids, tool("sink")]
    edges = [{"id": f"a{i}", "source": "src", "target": f"m{i}"} for i in range(n - 2)]
    edges += [{"id": f"b{i}", "source": f"m{i}", "target": "sink"} for i in range(n - 2)]
    return graph_from_builtins({"nodes": nodes, "edges": edges, "settings": {"max_concurrency": 256}})


def env_for(settings: Settings, recorder: EventRecorder, concurrency: int = 256) -> RunEnv:
    return RunEnv(
        execution_id="exe_bench", workspace_id="ws", services=EngineServices(settings=settings),
        emit=recorder.emit_nowait, semaphore=asyncio.Semaphore(concurrency), default_timeout_s=300,
    )


async def run_graph(graph, settings: Settings) -> float:
    bus = InMemoryBus()
    recorder = EventRecorder("exe_bench", bus=bus, sessions=None)
    runner = GraphRunner(env_for(settings, recorder), graph.nodes, graph.edges, {"inputs": {}, "nodes": {}})
    t0 = time.perf_counter()
    await runner.run()
    elapsed = time.perf_counter() - t0
    await recorder.aclose()
    return elapsed


async def bench_overhead(settings: Settings, repeats: int) -> list[tuple[str, int, float]]:
    register(NoopTool(), replace=True)
    rows = []
    for shape, build in (("chain", chain), ("fan-out", fanout)):
        for n in (10, 100, 1000):
            graph = build(n)
            await run_graph(graph, settings)  # warm-up
            times = [await run_graph(graph, settings) for _ in range(repeats)]
            rows.append((shape, n, statistics.median(times) / n * 1e6))
    return rows


async def bench_overhead_persisted(settings: Settings, repeats: int) -> list[tuple[str, int, float]]:
    """The full executor: execution row, node results and events written to SQLite (write-behind)."""
    import msgspec

    from pilot.db.migrate import upgrade
    from pilot.db.models import ExecutionRow, WorkflowRow, WorkspaceRow
    from pilot.engine.executor import EngineDeps, execute
    from pilot.runtime import Runtime

    register(NoopTool(), replace=True)
    await asyncio.to_thread(upgrade, settings.db.url)
    runtime = Runtime.build(settings)
    deps = EngineDeps(settings=settings, sessions=runtime.sessions, bus=InMemoryBus(), services=EngineServices(settings=settings))
    async with runtime.sessions() as s:
        s.add(WorkspaceRow(id="ws_bench", name="bench"))
        await s.flush()
        s.add(WorkflowRow(id="wf_bench", workspace_id="ws_bench", name="b", graph={"nodes": []}))
        await s.commit()
    rows = []
    counter = 0
    for shape, build in (("chain", chain), ("fan-out", fanout)):
        for n in (10, 100, 1000):
            graph = build(n)
            times = []
            for _ in range(repeats + 1):
                counter += 1
                exe = f"exe_bench{counter}"
                async with runtime.sessions() as s:
                    s.add(ExecutionRow(id=exe, workspace_id="ws_bench", workflow_id="wf_bench", workflow_version=1,
                                       graph=msgspec.to_builtins(graph), input_data={}, usage={}))
                    await s.commit()
                t0 = time.perf_counter()
                status = await execute(exe, deps)
                times.append(time.perf_counter() - t0)
                assert status == "succeeded", status
            rows.append((shape, n, statistics.median(times[1:]) / n * 1e6))
    await runtime.aclose()
    return rows


def random_sleep_dag(rng: random.Random, n: int):
    nodes, edges = [], []
    sleeps = {}
    for j in range(n):
        nid = f"s{j}"
        sleeps[nid] = rng.choice([0.02, 0.05, 0.1, 0.15, 0.2])
        nodes.append(tool(nid, sleep=sleeps[nid]))
        for i in range(max(0, j - 6), j):
            if rng.random() < 0.3:
                edges.append({"id": f"e{i}-{j}", "source": f"s{i}", "target": nid})
    finish: dict[str, float] = {}
    preds: dict[str, list[str]] = {n_["id"]: [] for n_ in nodes}
    for e in edges:
        preds[e["target"]].append(e["source"])
    for n_ in nodes:  # nodes are in topological order
        nid = n_["id"]
        finish[nid] = max((finish[p] for p in preds[nid]), default=0.0) + sleeps[nid]
    graph = graph_from_builtins({"nodes": nodes, "edges": edges, "settings": {"max_concurrency": 256}})
    return graph, max(finish.values())


async def bench_makespan(settings: Settings, graphs: int) -> list[tuple[int, float, float, float]]:
    register(SleepTool(), replace=True)
    rng = random.Random(7)
    rows = []
    for n in (10, 30, 60, 100)[:graphs]:
        graph, critical = random_sleep_dag(rng, n)
        makespan = await run_graph(graph, settings)
        rows.append((n, critical, makespan, makespan / critical))
    return rows


# ------------------------------------------------------------------ SSE latency (two processes)


def serve(port: int, data_dir: str) -> None:
    """``--serve``: the API with the TickTool runner, on a real socket (run in a subprocess)."""
    import uvicorn

    from pilot.app import create_app

    register(TickTool(), replace=True)
    settings = Settings.from_env({"PILOT_DATA_DIR": data_dir})
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


async def bench_sse(clients: int, events: int) -> tuple[float, float, float, int]:
    import httpx

    from pilot.auth.service import create_api_key
    from pilot.db.migrate import upgrade
    from pilot.runtime import Runtime
    from tests.support.servers import free_port

    data_dir = tempfile.mkdtemp(prefix="pilot-bench-")
    settings = Settings.from_env({"PILOT_DATA_DIR": data_dir})
    await asyncio.to_thread(upgrade, settings.db.url)
    runtime = Runtime.build(settings)
    async with runtime.sessions() as s:
        key = await create_api_key(s, "bench")
        await s.commit()
    await runtime.aclose()
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), data_dir], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60,
                                     limits=httpx.Limits(max_connections=clients + 10)) as http:
            for _ in range(400):
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
            graph = {
                "name": "bench",
                "nodes": [
                    {"id": "start", "type": "input", "config": {"fields": []}},
                    tool("tick", n=events, every=0.01, wait=2.0),
                    {"id": "out", "type": "output", "config": {"outputs": {"done": "yes"}}},
                ],
                "edges": [{"id": "a", "source": "start", "target": "tick"}, {"id": "b", "source": "tick", "target": "out"}],
            }
            workflow_id = (await http.post("/api/workflows", json=graph)).json()["id"]
            execution_id = (await http.post(f"/api/workflows/{workflow_id}/execute", json={})).json()["execution_id"]
            latencies: list[float] = []

            async def client() -> None:
                event = None
                async with http.stream("GET", f"/api/executions/{execution_id}/stream") as response:
                    async for line in response.aiter_lines():
                        if line.startswith("event: "):
                            event = line[7:]
                        elif line.startswith("data: ") and event == "node.delta":
                            now = time.time()
                            sent = float(line.split('"text":"', 1)[1].split('"', 1)[0])
                            latencies.append(now - sent)
                        elif line.startswith("data: ") and event == "run.finished":
                            return

            await asyncio.gather(*(client() for _ in range(clients)))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return q[49] * 1000, q[98] * 1000, latencies[-1] * 1000, len(latencies)


async def main(args) -> None:
    settings = Settings.from_env({"PILOT_DATA_DIR": tempfile.mkdtemp(prefix="pilot-bench-")})
    repeats = 3 if args.quick else 7
    print("== engine overhead per node (no-op nodes, in-memory bus, no persistence) ==")
    for shape, n, us in await bench_overhead(settings, repeats):
        print(f"  {shape:8s} {n:5d} nodes: {us:7.1f} µs/node")
    print("== same through the full executor with SQLite persistence (write-behind) ==")
    for shape, n, us in await bench_overhead_persisted(settings, max(1, repeats // 2)):
        print(f"  {shape:8s} {n:5d} nodes: {us:7.1f} µs/node")
    print("== makespan / critical path (random DAGs of sleeping nodes, 20-200 ms) ==")
    for n, critical, makespan, ratio in await bench_makespan(settings, 4):
        print(f"  {n:4d} nodes: critical path {critical * 1000:7.1f} ms, makespan {makespan * 1000:7.1f} ms, ratio {ratio:.3f}")
    if not args.skip_sse:
        print(f"== event latency publish → SSE client ({args.clients} concurrent clients, real socket) ==")
        p50, p99, worst, count = await bench_sse(args.clients, 100 if args.quick else 200)
        print(f"  {count} deliveries: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {worst:.2f} ms")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-sse", action="store_true")
    parser.add_argument("--clients", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
