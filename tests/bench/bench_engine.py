"""Engine benchmarks (a script, not a test): ``uv run python tests/bench/bench_engine.py``.

1. Engine overhead per node: no-op nodes in chains and wide fan-outs of 10/100/1,000 nodes,
   run by the real GraphRunner with the real event path (EventRecorder → InMemoryBus), µs/node;
   and the same through the full executor with SQLite persistence (write-behind); the persisted
   path's fixed cost per run on SQLite and PostgreSQL, and side by side with LangGraph + its
   SQLite checkpointer on the same graphs (``uv sync --group bench``; skipped without it).
2. Makespan / critical path for random DAGs of sleeping nodes (target ≤ 1.05).

Event latency publish → SSE client and memory per idle stream: ``tests/bench/bench_sse.py``.

Options: ``--quick`` (smaller repeats).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
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


class PersistedRuns:
    """The full executor on a real database (a SQLite file, or PostgreSQL): its execution row,
    node results and events are written. Each run's queued row is inserted before the clock starts
    (the API request that starts a run writes it); the clock times ``execute()`` alone."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.count = 0

    async def __aenter__(self) -> "PersistedRuns":
        from pilot.db.migrate import upgrade
        from pilot.db.models import WorkflowRow, WorkspaceRow
        from pilot.engine.executor import EngineDeps
        from pilot.runtime import Runtime

        register(NoopTool(), replace=True)
        await asyncio.to_thread(upgrade, self.settings.db.url)
        self.runtime = Runtime.build(self.settings)
        self.deps = EngineDeps(settings=self.settings, sessions=self.runtime.sessions, bus=InMemoryBus(),
                               services=EngineServices(settings=self.settings))
        self.prefix = f"bench{time.time_ns()}"
        async with self.runtime.sessions() as s:
            s.add(WorkspaceRow(id=f"ws_{self.prefix}", name=self.prefix))
            await s.flush()
            s.add(WorkflowRow(id=f"wf_{self.prefix}", workspace_id=f"ws_{self.prefix}", name="b", graph={"nodes": []}))
            await s.commit()
        return self

    async def run(self, graph) -> float:
        """One run of ``graph``; returns its seconds."""
        import msgspec

        from pilot.db.models import ExecutionRow
        from pilot.engine.executor import execute

        self.count += 1
        exe = f"exe_{self.prefix}_{self.count}"
        async with self.runtime.sessions() as s:
            s.add(ExecutionRow(id=exe, workspace_id=f"ws_{self.prefix}", workflow_id=f"wf_{self.prefix}", workflow_version=1,
                               graph=msgspec.to_builtins(graph), input_data={}, usage={}))
            await s.commit()
        t0 = time.perf_counter()
        status = await execute(exe, self.deps)
        elapsed = time.perf_counter() - t0
        assert status == "succeeded", status
        return elapsed

    async def __aexit__(self, *exc: object) -> None:
        await self.runtime.aclose()


async def bench_overhead_persisted(settings: Settings, repeats: int) -> list[tuple[str, int, float]]:
    """The full executor: execution row, node results and events written to SQLite (write-behind)."""
    rows = []
    async with PersistedRuns(settings) as runs:
        for shape, build in (("chain", chain), ("fan-out", fanout)):
            for n in (10, 100, 1000):
                graph = build(n)
                times = [await runs.run(graph) for _ in range(repeats + 1)]
                rows.append((shape, n, statistics.median(times[1:]) / n * 1e6))
    return rows


# ------------------------------------------------------------------ persisted runs: fixed cost, vs LangGraph


async def bench_fixed_cost(settings: Settings, repeats: int) -> tuple[list[float], list[float]]:
    """ms of persisted 1-node and 10-node chains, interleaved (the fixed cost per run is the
    intercept of the line through them: ``t1 - (t10 - t1) / 9``)."""
    one, ten = chain(1), chain(10)
    t1: list[float] = []
    t10: list[float] = []
    async with PersistedRuns(settings) as runs:
        for i in range(repeats + 3):
            a, b = await runs.run(one), await runs.run(ten)
            if i >= 3:  # warm-up
                t1.append(a * 1000)
                t10.append(b * 1000)
    return t1, t10


def pg_settings() -> tuple[Settings, str] | None:
    """Settings on a throw-away PostgreSQL database (``PILOT_TEST_PG_DSN``, as the tests), or None."""
    from tests.support.db import create_database

    try:
        name, url = create_database()
    except Exception as exc:  # noqa: BLE001 - no server: that section is skipped
        print(f"  (PostgreSQL unavailable: {type(exc).__name__}: {exc})")
        return None
    return Settings.from_env({"PILOT_DATA_DIR": tempfile.mkdtemp(prefix="pilot-bench-"), "DATABASE_URL": url}), name


def langgraph_graph(shape: str, n: int):
    """The same chain / fan-out of ``n`` no-op nodes as a LangGraph StateGraph."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class State(TypedDict, total=False):
        x: int

    async def noop(state: State) -> dict:
        return {}

    g = StateGraph(State)
    if shape == "chain":
        names = [f"n{i}" for i in range(n)]
        for name in names:
            g.add_node(name, noop)
        for a, b in zip([START, *names], [*names, END]):
            g.add_edge(a, b)
    else:
        mids = [f"m{i}" for i in range(n - 2)]
        for name in ("src", *mids, "sink"):
            g.add_node(name, noop)
        g.add_edge(START, "src")
        for mid in mids:
            g.add_edge("src", mid)
            g.add_edge(mid, "sink")
        g.add_edge("sink", END)
    return g


async def bench_vs_langgraph(settings: Settings, quick: bool) -> list[tuple[str, int, list[float], list[float]]] | None:
    """Per shape and size: the ms of πlot's persisted executor (SQLite file) and of LangGraph
    with its SQLite checkpointer (AsyncSqliteSaver, a file database), runs interleaved in this
    process, garbage collected before each timed run (one side's garbage is not the other's
    pause). Both databases at πlot's durability setting (WAL, ``synchronous=NORMAL``, as
    :mod:`pilot.db.engine` sets it; the checkpointer's default FULL would fsync every checkpoint).
    None when langgraph is not installed."""
    try:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    except ImportError:
        return None
    rows = []
    path = str(Path(tempfile.mkdtemp(prefix="langgraph-bench-")) / "checkpoints.db")
    async with PersistedRuns(settings) as runs, AsyncSqliteSaver.from_conn_string(path) as saver:
        await saver.conn.execute("PRAGMA synchronous=NORMAL")
        for shape, build in (("chain", chain), ("fan-out", fanout)):
            for n in (10, 100, 1000):
                graph, app = build(n), langgraph_graph(shape, n).compile(checkpointer=saver)
                repeats = {10: 25, 100: 9, 1000: 3}[n] // (3 if quick else 1) or 1
                ours: list[float] = []
                theirs: list[float] = []
                for i in range(repeats + 1):
                    runs.count += 1
                    config = {"configurable": {"thread_id": f"t{runs.count}"}, "recursion_limit": n + 10}
                    gc.collect()
                    a = await runs.run(graph)
                    gc.collect()
                    t0 = time.perf_counter()
                    await app.ainvoke({"x": 1}, config)
                    b = time.perf_counter() - t0
                    if i:  # the first of each is a warm-up
                        ours.append(a * 1000)
                        theirs.append(b * 1000)
                rows.append((shape, n, ours, theirs))
    return rows


async def print_persisted_vs_langgraph(settings: Settings, quick: bool) -> None:
    """The persisted path's fixed cost per run (SQLite, PostgreSQL; target ≤ 5 ms) and the ratio
    to LangGraph + SQLite checkpointer (target ≥ 2× at every size)."""
    print("== persisted run, fixed cost per run (execute() of 1- and 10-node chains; target <= 5 ms) ==")
    targets = [("SQLite", settings, None)]
    pg = pg_settings()
    if pg is not None:
        targets.append(("PostgreSQL", *pg))
    for label, target, pg_name in targets:
        try:
            t1, t10 = await bench_fixed_cost(target, 10 if quick else 40)
        finally:
            if pg_name is not None:
                from tests.support.db import drop_database

                drop_database(pg_name)
        for stat, f in (("median", statistics.median), ("min", min)):
            a, b = f(t1), f(t10)
            fixed = a - (b - a) / 9
            print(f"  {label:10s} {stat:6s}: 1 node {a:6.2f} ms, 10 nodes {b:6.2f} ms -> fixed {fixed:5.2f} ms/run, "
                  f"{(b - a) / 9 * 1000:4.0f} µs/node{'' if fixed <= 5 else '  ABOVE TARGET'}")
    print("== persisted πlot vs LangGraph + AsyncSqliteSaver, SQLite files (WAL, synchronous=NORMAL), ms/run; "
          "ratio of medians, target >= 2x ==")
    rows = await bench_vs_langgraph(settings, quick)
    if rows is None:
        print("  skipped: langgraph is not installed (uv sync --group bench)")
        return
    for shape, n, ours, theirs in rows:
        ratio = statistics.median(theirs) / statistics.median(ours)
        print(f"  {shape:8s} {n:5d} nodes: πlot {statistics.median(ours):8.2f} (min {min(ours):8.2f}) ms, "
              f"LangGraph {statistics.median(theirs):8.2f} (min {min(theirs):8.2f}) ms, "
              f"ratio {ratio:5.2f}x{'' if ratio >= 2 else '  BELOW TARGET'}")


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


async def main(args) -> None:
    settings = Settings.from_env({"PILOT_DATA_DIR": tempfile.mkdtemp(prefix="pilot-bench-")})
    repeats = 3 if args.quick else 7
    print("== engine overhead per node (no-op nodes, in-memory bus, no persistence) ==")
    for shape, n, us in await bench_overhead(settings, repeats):
        print(f"  {shape:8s} {n:5d} nodes: {us:7.1f} µs/node")
    print("== same through the full executor with SQLite persistence (write-behind) ==")
    for shape, n, us in await bench_overhead_persisted(settings, max(1, repeats // 2)):
        print(f"  {shape:8s} {n:5d} nodes: {us:7.1f} µs/node")
    await print_persisted_vs_langgraph(settings, args.quick)
    print("== makespan / critical path (random DAGs of sleeping nodes, 20-200 ms) ==")
    for n, critical, makespan, ratio in await bench_makespan(settings, 4):
        print(f"  {n:4d} nodes: critical path {critical * 1000:7.1f} ms, makespan {makespan * 1000:7.1f} ms, ratio {ratio:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    asyncio.run(main(parser.parse_args()))
