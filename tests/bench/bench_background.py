"""Load test of background runs: N concurrent runs across worker and API processes.

    uv run python -m tests.bench.bench_background [--runs 200] [--workers 2] [--apis 2]
        [--llm-nodes 8] [--min-ms 50] [--max-ms 200] [--rate 0]

Sets up a throw-away PostgreSQL database, a unique Redis key prefix on 127.0.0.1:6379, the fake
OpenAI-compatible server (every chat completion delayed 50–200 ms), ``--workers`` arq worker
processes and ``--apis`` API processes (uvicorn). Each run's workflow has 10 nodes: input → 4
parallel branches of 2 llm nodes each → output. For every run the client POSTs ``execute``
(``mode: background``) to one API process and reads the SSE stream from ANOTHER one.

Prints throughput, time to first event (from sending ``execute`` to receiving ``run.started``
over SSE) p50/p95/p99, end-to-end p50/p95, and checks that every run reached a terminal state
with every event delivered exactly once (seq 1..N without gaps or repeats, identical to the
events persisted in ``stream_events``). ``--rate R`` spreads run starts at R per second
(default 0: all at once, the harshest case).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import redis as sync_redis
from httpx_sse import aconnect_sse

from pilot.auth.service import create_api_key
from pilot.db.engine import create_engine, create_session_factory
from pilot.db.migrate import upgrade
from pilot.settings import Settings
from tests.support.background import _spawn, spawn_api, spawn_worker, stop, wait_api, wait_worker
from tests.support.db import create_database, drop_database
from tests.support.servers import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class RunResult:
    index: int
    execution_id: str = ""
    t_sent: float = 0.0
    wall_sent: float = 0.0
    t_accepted: float = 0.0
    t_first: float | None = None
    t_end: float | None = None
    seqs: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    status: str | None = None
    error: str | None = None


def workflow(llm_nodes: int) -> dict:
    """input → ``branches`` parallel chains of llm nodes → output (10 nodes with 8 llm nodes)."""
    branches = max(1, llm_nodes // 2)
    nodes = [{"id": "start", "type": "input", "config": {"fields": [{"name": "topic", "type": "string"}]}}]
    edges, tails = [], []
    n = 0
    for b in range(branches):
        prev = "start"
        for _ in range(llm_nodes // branches + (1 if b < llm_nodes % branches else 0)):
            n += 1
            nid = f"llm{n}"
            nodes.append({"id": nid, "type": "llm", "config": {"model": "gpt-4o-mini", "prompt": f"step {n} about {{{{ inputs.topic }}}}"}})
            edges.append({"id": f"e{n}", "source": prev, "target": nid})
            prev = nid
        tails.append(prev)
    nodes.append({"id": "out", "type": "output", "config": {"outputs": {t: f"{{{{ nodes.{t}.output }}}}" for t in tails}}})
    edges += [{"id": f"o{i}", "source": t, "target": "out"} for i, t in enumerate(tails)]
    return {"name": "bench background", "nodes": nodes, "edges": edges}


async def one_run(i: int, execute_url: str, stream_url: str, key: str, workflow_id: str, client: httpx.AsyncClient) -> RunResult:
    result = RunResult(i)
    headers = {"Authorization": f"Bearer {key}"}
    try:
        result.t_sent = time.perf_counter()
        result.wall_sent = time.time()
        response = await client.post(f"{execute_url}/api/workflows/{workflow_id}/execute", headers=headers,
                                     json={"input_data": {"topic": f"run {i}"}, "mode": "background"})
        result.t_accepted = time.perf_counter()
        if response.status_code != 202:
            result.error = f"execute answered {response.status_code}: {response.text[:200]}"
            return result
        result.execution_id = response.json()["execution_id"]
        async with aconnect_sse(client, "GET", f"{stream_url}/api/executions/{result.execution_id}/stream",
                                headers=headers) as source:
            async for sse in source.aiter_sse():
                # Keep-alive pings are SSE comments; httpx-sse still reports them (empty data,
                # carrying the last id), so only events with data count.
                if not sse.id or not sse.data:
                    continue
                if result.t_first is None:
                    result.t_first = time.perf_counter()
                result.seqs.append(int(sse.id))
                result.names.append(sse.event)
                if sse.event == "run.finished":
                    result.status = sse.json()["status"]
                    result.t_end = time.perf_counter()
                    break
    except Exception as exc:  # noqa: BLE001 - reported per run
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def cpu_seconds(pid: int) -> float:
    """user+system CPU time of a process (Linux /proc), 0 if unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


async def drive(args, urls: list[str], key: str, workflow_id: str) -> tuple[list[RunResult], float]:
    limits = httpx.Limits(max_connections=args.runs * 3, max_keepalive_connections=args.runs * 2)
    async with httpx.AsyncClient(timeout=httpx.Timeout(120.0), limits=limits) as client:
        # Warm-up: one run end to end (connections, caches), not counted.
        await one_run(-1, urls[0], urls[-1], key, workflow_id, client)
        start = time.perf_counter()
        tasks = []
        for i in range(args.runs):
            execute_url = urls[i % len(urls)]
            stream_url = urls[(i + 1) % len(urls)]  # a different API process than the one that enqueued
            tasks.append(asyncio.create_task(one_run(i, execute_url, stream_url, key, workflow_id, client)))
            if args.rate:
                await asyncio.sleep(1.0 / args.rate)
        results = await asyncio.gather(*tasks)
        return results, time.perf_counter() - start


def breakdown(dsn: str, results: list[RunResult]) -> dict[str, list[float]]:
    """Where time to first event goes, from database timestamps (same clock: one machine)."""
    sent = {r.execution_id: r.wall_sent for r in results if r.execution_id}
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT e.id, extract(epoch from e.created_at), extract(epoch from e.started_at), "
            "extract(epoch from s.created_at) FROM executions e JOIN stream_events s ON s.stream_id = e.id AND s.seq = 1 "
            "WHERE e.id = ANY(%s)", (list(sent),)).fetchall()
    out: dict[str, list[float]] = {"sent → row committed": [], "row → worker claimed": [], "claimed → run.started stored": []}
    if "--verbose" in sys.argv:
        for exe_id, created, started, first in sorted(rows, key=lambda r: float(r[1])):
            print(f"      {exe_id[:12]} claim +{(float(started) - float(created)) * 1000:6.1f} ms  "
                  f"run.started +{(float(first) - float(started)) * 1000:7.1f} ms")
    for exe_id, created, started, first in rows:
        out["sent → row committed"].append((float(created) - sent[exe_id]) * 1000)
        out["row → worker claimed"].append((float(started) - float(created)) * 1000)
        out["claimed → run.started stored"].append((float(first) - float(started)) * 1000)
    return out


def persisted(dsn: str, execution_ids: list[str]) -> dict[str, tuple[str, list[int]]]:
    with psycopg.connect(dsn) as conn:
        status = dict(conn.execute("SELECT id, status FROM executions WHERE id = ANY(%s)", (execution_ids,)).fetchall())
        seqs: dict[str, list[int]] = {}
        for stream_id, seq in conn.execute(
            "SELECT stream_id, seq FROM stream_events WHERE stream_id = ANY(%s) ORDER BY stream_id, seq", (execution_ids,)
        ).fetchall():
            seqs.setdefault(stream_id, []).append(seq)
    return {e: (status.get(e, "?"), seqs.get(e, [])) for e in execution_ids}


async def make_key(db_url: str) -> str:
    settings = Settings.from_env({"DATABASE_URL": db_url})
    engine = create_engine(settings.db)
    async with create_session_factory(engine)() as session:
        key = await create_api_key(session, f"bench-{uuid.uuid4().hex[:6]}")
        await session.commit()
    await engine.dispose()
    return key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--apis", type=int, default=2)
    parser.add_argument("--llm-nodes", type=int, default=8)
    parser.add_argument("--min-ms", type=float, default=50)
    parser.add_argument("--max-ms", type=float, default=200)
    parser.add_argument("--rate", type=float, default=0.0, help="run starts per second (0: all at once)")
    parser.add_argument("--verbose", action="store_true", help="per-run timing breakdown")
    parser.add_argument("--profile", default=None, help="write a cProfile of worker 0 to this file")
    parser.add_argument("--importtime", action="store_true", help="log worker imports (find lazy imports)")
    parser.add_argument("--poll-delay", type=float, default=None, help="override PILOT_WORKER_POLL_DELAY_S")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pilot-bench-bg-"))
    db_name, db_url = create_database()
    upgrade(db_url)
    prefix = f"pilot-bench-{uuid.uuid4().hex[:8]}"
    procs = []
    try:
        fake_port = free_port()
        fake = _spawn([sys.executable, "-m", "tests.support.fake_openai", str(fake_port)], {}, tmp / "fake-openai.log")
        procs.append(fake)
        fake_url = f"http://127.0.0.1:{fake_port}"
        env = {
            "DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "PILOT_REDIS_PREFIX": prefix, "PILOT_DATA_DIR": str(tmp / ".pilot"),
            "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": f"{fake_url}/v1", "PILOT_LLM_FALLBACK_MODELS": "",
            "PILOT_WORKER_MAX_JOBS": str(max(args.runs, 10)), "DATABASE_POOL_SIZE": "6", "PILOT_LOG_LEVEL": "WARNING",
        }
        if "--importtime" in sys.argv:
            env["PYTHONPROFILEIMPORTTIME"] = "1"
            env["PILOT_LOG_LEVEL"] = "INFO"
            print("logs in", tmp)
        if args.poll_delay is not None:
            env["PILOT_WORKER_POLL_DELAY_S"] = str(args.poll_delay)
        workers = [(spawn_worker(env, tmp / f"worker-{i}.log"), tmp / f"worker-{i}.log") for i in range(args.workers)]
        if args.profile:  # the first worker under cProfile (written when it stops)
            workers[0][0].kill()
            workers[0] = (_spawn([sys.executable, "-m", "cProfile", "-o", args.profile, "-m", "pilot.background"], env,
                                 tmp / "worker-0.log"), tmp / "worker-0.log")
        apis = [(*spawn_api(env, tmp / f"api-{i}.log"), tmp / f"api-{i}.log") for i in range(args.apis)]
        procs += [p for p, _ in workers] + [p for p, _, _ in apis]
        named = [("fake-openai", fake)] + [(f"worker-{i}", p) for i, (p, _) in enumerate(workers)] + [
            (f"api-{i}", p) for i, (p, _, _) in enumerate(apis)]
        for proc, log in workers:
            wait_worker(proc, env, log)
        for proc, url, log in apis:
            wait_api(proc, url, log)
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{fake_url}/v1/models", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        # Every completion waits 50–200 ms (uniform), then streams a short answer.
        rng = random.Random(7)
        actions = []
        for _ in range((args.runs + 1) * args.llm_nodes):
            actions += [{"kind": "latency", "seconds": rng.uniform(args.min_ms, args.max_ms) / 1000},
                        {"kind": "reply", "text": "a short streamed answer of several words"}]
        httpx.post(f"{fake_url}/_control/script", json={"actions": actions}, timeout=30).raise_for_status()

        key = asyncio.run(make_key(db_url))
        urls = [url for _, url, _ in apis]
        created = httpx.post(f"{urls[0]}/api/workflows", json=workflow(args.llm_nodes), headers={"Authorization": f"Bearer {key}"})
        created.raise_for_status()
        workflow_id = created.json()["id"]

        cpu_before = {name: cpu_seconds(proc.pid) for name, proc in named}
        results, wall = asyncio.run(drive(args, urls, key, workflow_id))
        cpu = {name: cpu_seconds(proc.pid) - cpu_before[name] for name, proc in named}

        dsn = db_url.replace("postgresql+psycopg://", "postgresql://")
        # Events are persisted write-behind: give the last batches a moment to land.
        settle_until = time.monotonic() + 10
        while True:
            stored = persisted(dsn, [r.execution_id for r in results if r.execution_id])
            behind = [r for r in results if r.execution_id and not set(r.seqs) <= set(stored[r.execution_id][1])]
            if not behind or time.monotonic() > settle_until:
                break
            time.sleep(0.2)
        errors = [r for r in results if r.error]
        ttfe = [(r.t_first - r.t_sent) * 1000 for r in results if r.t_first is not None]
        ttfe_accepted = [(r.t_first - r.t_accepted) * 1000 for r in results if r.t_first is not None]
        accept = [(r.t_accepted - r.t_sent) * 1000 for r in results if r.t_accepted]
        e2e = [(r.t_end - r.t_sent) * 1000 for r in results if r.t_end is not None]
        lost = dup = not_terminal = mismatched = 0
        for r in results:
            if not r.execution_id:
                continue
            status, db_seqs = stored[r.execution_id]
            if status not in ("succeeded", "failed", "cancelled") or r.status is None:
                not_terminal += 1
            dup += len(r.seqs) - len(set(r.seqs))
            lost += len(set(db_seqs) - set(r.seqs))
            if r.seqs != list(range(1, len(r.seqs) + 1)) or r.seqs != db_seqs:
                mismatched += 1
        events = sum(len(r.seqs) for r in results)
        statuses = {s: sum(1 for r in results if r.status == s) for s in {r.status for r in results}}

        print(f"background runs: {args.runs} runs × {args.llm_nodes + 2}-node workflow "
              f"({args.llm_nodes} llm nodes, {args.min_ms:g}–{args.max_ms:g} ms each), "
              f"{args.workers} workers, {args.apis} API processes, arrivals: {'burst' if not args.rate else f'{args.rate:g}/s'}")
        print(f"  wall time            {wall:8.2f} s")
        print(f"  throughput           {len(e2e) / wall:8.1f} runs/s   {events / wall:8.0f} events/s delivered")
        print(f"  execute → 202        p50 {pct(accept, 50):7.1f} ms   p95 {pct(accept, 95):7.1f} ms")
        print(f"  time to first event  p50 {pct(ttfe, 50):7.1f} ms   p95 {pct(ttfe, 95):7.1f} ms   p99 {pct(ttfe, 99):7.1f} ms  (from sending execute)")
        print(f"    from the 202       p50 {pct(ttfe_accepted, 50):7.1f} ms   p95 {pct(ttfe_accepted, 95):7.1f} ms")
        for label, values in breakdown(dsn, results).items():
            print(f"    {label:<29}p50 {pct(values, 50):7.1f} ms   p95 {pct(values, 95):7.1f} ms")
        print(f"  end to end           p50 {pct(e2e, 50):7.1f} ms   p95 {pct(e2e, 95):7.1f} ms   max {max(e2e, default=float('nan')):7.1f} ms")
        print(f"  statuses             {statuses}")
        print(f"  events delivered     {events} (mean {statistics.mean([len(r.seqs) for r in results]) if results else 0:.1f} per run)")
        print(f"  lost {lost}   duplicated {dup}   streams differing from the database {mismatched}   "
              f"not terminal {not_terminal}   client errors {len(errors)}")
        shown = 0
        for r in results:
            if r.seqs != list(range(1, len(r.seqs) + 1)) and shown < 3:
                shown += 1
                print(f"    run {r.index} ({r.execution_id}): " + " ".join(f"{q}:{n}" for q, n in zip(r.seqs, r.names))[:1500])
        for r in errors[:5]:
            print(f"    run {r.index}: {r.error}")
        print("  CPU seconds used     " + "  ".join(f"{n} {c:.1f}" for n, c in cpu.items()) + f"   (wall {wall:.1f} s, "
              f"{os.cpu_count()} cores shared with PostgreSQL, Redis and this client)")
        ok = not (lost or dup or mismatched or not_terminal or errors)
        print("  OK: every run terminal, every event exactly once" if ok else "  FAILED")
        return 0 if ok else 1
    finally:
        for proc in procs:
            stop(proc)
        client = sync_redis.Redis.from_url(REDIS_URL)
        for k in client.scan_iter(f"{prefix}:*"):
            client.delete(k)
        client.close()
        drop_database(db_name)


if __name__ == "__main__":
    sys.exit(main())
