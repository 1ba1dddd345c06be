"""Load test of background runs: bursts and paced arrivals across worker and API processes.

    uv run python -m tests.bench.bench_background [--runs 200] [--rate 0,10] [--workers 2] [--apis 2]
        [--redis-url URL] [--redis-db 13] [--database-url URL|sqlite] [--api-ports P1,P2] [--llm-port P]

Starts the fake OpenAI-compatible server (every chat completion delayed 50–200 ms, uniform),
``--workers`` arq worker processes and ``--apis`` API processes (uvicorn). Each run's workflow has
10 nodes: input → 4 parallel branches of 2 llm nodes each → output. For every run the client
POSTs ``execute`` (``mode: background``) to one API process and reads the SSE stream from ANOTHER.

For each arrival rate of ``--rate`` (runs/s; 0 = all ``--runs`` at once, the harshest case; by
default a burst, then 10 runs/s) it prints throughput, time to first event (sending ``execute`` →
``run.started`` received over SSE) p50/p95/p99, end-to-end p50/p95, CPU per run of each process,
and checks that every run reached a terminal state with every event delivered exactly once (seq
1..N without gaps or repeats, identical to the events persisted in ``stream_events``). A summary
puts the figures next to the targets (issue 14: ≥ 15 runs/s sustained for a 200-run burst on 2
workers + 2 API processes; TTFE p95 ≤ 100 ms at 10 runs/s; 0 lost or duplicated events).

Where it runs — every option also reads an environment variable:

- Redis: ``--redis-url`` (``PILOT_BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379``) and
  ``--redis-db`` (``PILOT_BENCH_REDIS_DB``, default 13: not the db 0 others use). The bench's own
  keys live under a unique prefix (``pilot-bench-<hex>:*``); arq's fixed per-job keys
  (``arq:{job,result,in-progress,retry}:<id>``) are those of this bench's executions and of its
  ``sweep:<prefix>:…`` cron jobs. On exit — also on an error, Ctrl-C or SIGTERM — exactly those keys are
  deleted (the db is never flushed: others may share it) and the count left over is printed (0).
- Database: ``--database-url`` (``PILOT_BENCH_DATABASE_URL``): unset = a throw-away PostgreSQL
  database on ``PILOT_TEST_PG_DSN`` (default ``postgresql://postgres@127.0.0.1:5432/test``'s
  server), dropped at the end; ``sqlite`` = a fresh SQLite file in a temporary directory; any
  other URL is migrated and used as is (not dropped).
- Ports: ``--api-ports`` (``PILOT_BENCH_API_PORTS``, comma-separated, one per API process) and
  ``--llm-port`` (``PILOT_BENCH_LLM_PORT``); unset or 0 = free ports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis as sync_redis
import sqlalchemy as sa

from pilot.auth.service import create_api_key
from pilot.db.engine import create_engine, create_session_factory
from pilot.db.migrate import upgrade
from pilot.db.models import ExecutionRow, StreamEventRow
from pilot.settings import Settings
from tests.bench import gclog
from tests.bench.rawhttp import Pool, encode_request, open_stream, parse_message
from tests.support.background import _spawn, spawn_api, spawn_worker, stop, wait_api, wait_worker
from tests.support.db import create_database, drop_database
from tests.support.servers import free_port

TARGET_BURST_RUNS_S = 15.0  # sustained, 200-run burst, 2 workers + 2 API processes
TARGET_TTFE_P95_MS = 100.0  # at 10 runs/s
TERMINAL = ("succeeded", "failed", "cancelled")
# A worker under cProfile timed by CPU, not wall clock: on a shared machine a wall-clock profile
# charges every preemption to whatever call was running (socket sends, libpq) and misleads.
PROFILED_WORKER = """
import cProfile, runpy, sys, time
profile = cProfile.Profile(time.process_time)
out, sys.argv = sys.argv[1], ["pilot.background"]
try:
    profile.runcall(runpy.run_module, "pilot.background", run_name="__main__", alter_sys=True)
finally:
    profile.dump_stats(out)
"""


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


# ------------------------------------------------------------------------------ options
def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=int(_env("PILOT_BENCH_RUNS", "200")), help="runs per arrival rate")
    parser.add_argument("--rate", default=_env("PILOT_BENCH_RATES", "0,10"),
                        help="comma-separated arrival rates in runs/s, each measured in turn (0: all at once)")
    parser.add_argument("--workers", type=int, default=int(_env("PILOT_BENCH_WORKERS", "2")))
    parser.add_argument("--apis", type=int, default=int(_env("PILOT_BENCH_APIS", "2")))
    parser.add_argument("--redis-url", default=_env("PILOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379"))
    parser.add_argument("--redis-db", type=int, default=int(_env("PILOT_BENCH_REDIS_DB", "13")))
    parser.add_argument("--database-url", default=_env("PILOT_BENCH_DATABASE_URL", ""),
                        help="unset: throw-away PostgreSQL database; 'sqlite': fresh SQLite file; else used as is")
    parser.add_argument("--api-ports", default=_env("PILOT_BENCH_API_PORTS", ""), help="comma-separated, one per API")
    parser.add_argument("--llm-port", type=int, default=int(_env("PILOT_BENCH_LLM_PORT", "0")))
    parser.add_argument("--llm-nodes", type=int, default=8)
    parser.add_argument("--min-ms", type=float, default=50)
    parser.add_argument("--max-ms", type=float, default=200)
    parser.add_argument("--verbose", action="store_true", help="per-run timing breakdown")
    parser.add_argument("--profile", default=None, help="write a CPU-time cProfile of worker 0 to this file")
    parser.add_argument("--importtime", action="store_true", help="log worker imports (find lazy imports)")
    parser.add_argument("--poll-delay", type=float, default=None, help="override PILOT_WORKER_POLL_DELAY_S")
    parser.add_argument("--gc-log", action="store_true", help="report GC pauses >= 5 ms per process and arrival rate")
    args = parser.parse_args(argv)
    args.rates = [float(r) for r in str(args.rate).split(",") if r.strip()]
    args.api_port_list = [int(p) for p in args.api_ports.split(",") if p.strip()]
    if args.api_port_list and len(args.api_port_list) != args.apis:
        parser.error(f"--api-ports names {len(args.api_port_list)} ports for {args.apis} API processes")
    return args


def redis_url_with_db(url: str, db: int) -> str:
    """``url`` pointing at database ``db`` (whatever database its path named)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


# ------------------------------------------------------------------------------ clean-up
def arq_job_id(key: bytes) -> str | None:
    """The job id of one of arq's per-job keys (``arq:<kind>:<job id>``), else None."""
    parts = key.decode(errors="replace").split(":", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "arq" else None


def bench_keys(client: sync_redis.Redis, prefix: str, job_ids: set[str]) -> set[bytes]:
    """Every key this bench's processes created: its prefix, and arq's keys of its jobs (runs —
    job id = execution id, or ``<execution id>:resume:…`` — and the ``sweep:<prefix>:…`` cron)."""
    found = set(client.scan_iter(f"{prefix}:*", count=1000))
    for key in client.scan_iter("arq:*", count=1000):
        job = arq_job_id(key)
        if job is not None and (job.startswith(f"sweep:{prefix}:") or job.split(":", 1)[0] in job_ids):
            found.add(key)
    return found


def clean_redis(url: str, prefix: str, job_ids: set[str]) -> tuple[int, int]:
    """Delete what :func:`bench_keys` finds (and this bench's entries of arq's shared abort set);
    returns (deleted, still there)."""
    client = sync_redis.Redis.from_url(url)
    try:
        doomed = sorted(bench_keys(client, prefix, job_ids))
        for i in range(0, len(doomed), 500):
            client.delete(*doomed[i:i + 500])
        if job_ids:
            client.zrem("arq:abort", *job_ids)
        return len(doomed), len(bench_keys(client, prefix, job_ids))
    finally:
        client.close()


# ------------------------------------------------------------------------------ database
def sync_engine(db_url: str) -> sa.Engine:
    """A synchronous engine on the bench database (for the checks after the runs)."""
    url = sa.make_url(db_url)
    if url.drivername.startswith("sqlite"):
        url = url.set(drivername="sqlite")
    return sa.create_engine(url)


def execution_ids(engine: sa.Engine, workspace_id: str | None) -> set[str]:
    query = sa.select(ExecutionRow.id)
    if workspace_id:
        query = query.where(ExecutionRow.workspace_id == workspace_id)
    with engine.connect() as conn:
        return set(conn.scalars(query))


def persisted(engine: sa.Engine, ids: list[str]) -> dict[str, tuple[str, list[int]]]:
    """Per execution: (status, stored seqs in order)."""
    with engine.connect() as conn:
        status = dict(conn.execute(sa.select(ExecutionRow.id, ExecutionRow.status).where(ExecutionRow.id.in_(ids))).all())
        seqs: dict[str, list[int]] = {}
        for stream_id, seq in conn.execute(sa.select(StreamEventRow.stream_id, StreamEventRow.seq)
                                           .where(StreamEventRow.stream_id.in_(ids))
                                           .order_by(StreamEventRow.stream_id, StreamEventRow.seq)):
            seqs.setdefault(stream_id, []).append(seq)
    return {e: (status.get(e, "?"), seqs.get(e, [])) for e in ids}


def breakdown(engine: sa.Engine, results: list[RunResult], verbose: bool) -> dict[str, list[float]]:
    """Where time to first event goes, from database timestamps (same clock: one machine)."""
    sent = {r.execution_id: r.wall_sent for r in results if r.execution_id}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(ExecutionRow.id, ExecutionRow.created_at, ExecutionRow.started_at, StreamEventRow.created_at)
            .join(StreamEventRow, sa.and_(StreamEventRow.stream_id == ExecutionRow.id, StreamEventRow.seq == 1))
            .where(ExecutionRow.id.in_(list(sent)))).all()

    def epoch(moment) -> float:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    out: dict[str, list[float]] = {"sent → row committed": [], "row → worker claimed": [], "claimed → run.started stored": []}
    for exe_id, created, started, first in sorted(rows, key=lambda r: epoch(r[1])):
        created, started, first = epoch(created), epoch(started), epoch(first)
        if verbose:
            print(f"      {exe_id[:12]} claim +{(started - created) * 1000:6.1f} ms  run.started +{(first - started) * 1000:7.1f} ms")
        out["sent → row committed"].append((created - sent[exe_id]) * 1000)
        out["row → worker claimed"].append((started - created) * 1000)
        out["claimed → run.started stored"].append((first - started) * 1000)
    return out


async def make_key(db_url: str) -> tuple[str, str]:
    """A new workspace with an API key: (key, workspace id)."""
    from pilot.db.models import ApiKeyRow

    settings = Settings.from_env({"DATABASE_URL": db_url})
    engine = create_engine(settings.db)
    async with create_session_factory(engine)() as session:
        key = await create_api_key(session, f"bench-{uuid.uuid4().hex[:6]}")
        workspace_id = await session.scalar(sa.select(ApiKeyRow.workspace_id).where(ApiKeyRow.prefix == key[:10]))
        await session.commit()
    await engine.dispose()
    return key, workspace_id


# ------------------------------------------------------------------------------ the client
async def one_run(i: int, execute_port: int, stream_port: int, key: str, workflow_id: str, pool: Pool) -> RunResult:
    """Execute one run through ``execute_port`` and read its whole stream from ``stream_port``."""
    result = RunResult(i)
    execute = encode_request("POST", f"/api/workflows/{workflow_id}/execute", key=key,
                             body={"input_data": {"topic": f"run {i}"}, "mode": "background"})
    try:
        result.t_sent = time.perf_counter()
        result.wall_sent = time.time()
        status, body = await pool.request(execute_port, execute)
        result.t_accepted = time.perf_counter()
        if status != 202:
            result.error = f"execute answered {status}: {body[:200]!r}"
            return result
        result.execution_id = json.loads(body)["execution_id"]
        stream = await open_stream(stream_port, encode_request(
            "GET", f"/api/executions/{result.execution_id}/stream", key=key, headers={"Accept": "text/event-stream"}))
        try:
            async for _, messages in stream.messages():
                for message in messages:
                    seq, event, data = parse_message(message)
                    if result.t_first is None:
                        result.t_first = time.perf_counter()
                    result.seqs.append(seq)
                    result.names.append(event)
                    if event == "run.finished":
                        result.status = json.loads(data)["status"]
                        result.t_end = time.perf_counter()
                        return result
        finally:
            stream.close()
    except Exception as exc:  # noqa: BLE001 - reported per run
        result.error = f"{type(exc).__name__}: {exc}"
    return result


async def drive(runs: int, rate: float, ports: list[int], key: str, workflow_id: str) -> tuple[list[RunResult], float]:
    """``runs`` runs, each executed through one API process and streamed from ANOTHER (raw
    HTTP/1.1: the client takes little of the CPU the processes under test share with it)."""
    pool = Pool()
    try:
        # Warm-up: one run end to end (connections, caches), not counted.
        await one_run(-1, ports[0], ports[-1], key, workflow_id, pool)
        start = time.perf_counter()
        tasks = []
        for i in range(runs):
            execute_port = ports[i % len(ports)]
            stream_port = ports[(i + 1) % len(ports)]  # a different API process than the one that enqueued
            tasks.append(asyncio.create_task(one_run(i, execute_port, stream_port, key, workflow_id, pool)))
            if rate:
                # Paced on the schedule, not after each send: arrivals stay at ``rate`` on average.
                await asyncio.sleep(max(0.0, start + (i + 1) / rate - time.perf_counter()))
        results = await asyncio.gather(*tasks)
        return results, time.perf_counter() - start
    finally:
        pool.close()


def cpu_seconds(pid: int) -> float:
    """user+system CPU time of a process (Linux /proc), 0 if unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def server_pids() -> dict[str, list[int]]:
    """PostgreSQL and Redis server processes on this machine (their CPU is shared with anyone
    else using them, so it is an upper bound of this bench's share)."""
    found: dict[str, list[int]] = {"postgres": [], "redis": []}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if name in ("postgres", "postmaster"):
                found["postgres"].append(int(entry.name))
            elif name.startswith("redis-server"):
                found["redis"].append(int(entry.name))
    return found


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


# ------------------------------------------------------------------------------ one arrival rate
@dataclass
class Scenario:
    """What one arrival rate measured (for the summary)."""

    rate: float
    throughput: float
    ttfe_p50: float
    ttfe_p95: float
    lost: int
    duplicated: int
    ok: bool


def script_llm(fake_url: str, args: argparse.Namespace, seed: int) -> None:
    """Queue ``(runs + 1) × llm nodes`` answers: each waits 50–200 ms (uniform), then streams."""
    rng = random.Random(seed)
    actions = []
    for _ in range((args.runs + 1) * args.llm_nodes):
        actions += [{"kind": "latency", "seconds": rng.uniform(args.min_ms, args.max_ms) / 1000},
                    {"kind": "reply", "text": "a short streamed answer of several words"}]
    httpx.post(f"{fake_url}/_control/script", json={"actions": actions}, timeout=30).raise_for_status()


def measure(args: argparse.Namespace, rate: float, cluster: dict, engine: sa.Engine) -> Scenario:
    """Drive ``args.runs`` runs at ``rate``, check every stream against the database, print."""
    named = cluster["named"]
    script_llm(cluster["fake_url"], args, seed=7 + int(rate))
    logs = {name: log.stat().st_size for name, log in cluster["logs"].items()} if args.gc_log else {}
    cpu_before = {name: cpu_seconds(proc.pid) for name, proc in named}
    servers_before = {pid: cpu_seconds(pid) for pids in server_pids().values() for pid in pids}
    client_before = time.process_time()
    ports = [urlsplit(url).port for url in cluster["urls"]]
    results, wall = asyncio.run(drive(args.runs, rate, ports, cluster["key"], cluster["workflow_id"]))
    cpu = {name: cpu_seconds(proc.pid) - cpu_before[name] for name, proc in named}
    cpu["client"] = time.process_time() - client_before
    for name, pids in server_pids().items():  # a backend that exited meanwhile is not counted
        cpu[f"{name} (shared)"] = sum(cpu_seconds(p) - servers_before.get(p, 0.0) for p in pids)

    # Events are persisted write-behind: give the last batches a moment to land.
    ids = [r.execution_id for r in results if r.execution_id]
    settle_until = time.monotonic() + 10
    while True:
        stored = persisted(engine, ids)
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
        if status not in TERMINAL or r.status is None:
            not_terminal += 1
        dup += len(r.seqs) - len(set(r.seqs))
        lost += len(set(db_seqs) - set(r.seqs))
        if r.seqs != list(range(1, len(r.seqs) + 1)) or r.seqs != db_seqs:
            mismatched += 1
    events = sum(len(r.seqs) for r in results)
    statuses = {s: sum(1 for r in results if r.status == s) for s in {r.status for r in results}}
    throughput = len(e2e) / wall

    print(f"== {args.runs} runs × {args.llm_nodes + 2}-node workflow ({args.llm_nodes} llm nodes, "
          f"{args.min_ms:g}–{args.max_ms:g} ms each), {args.workers} workers, {args.apis} API processes, "
          f"arrivals: {'all at once' if not rate else f'{rate:g}/s'}")
    print(f"  wall time            {wall:8.2f} s")
    print(f"  throughput           {throughput:8.1f} runs/s   {events / wall:8.0f} events/s delivered")
    print(f"  execute → 202        p50 {pct(accept, 50):7.1f} ms   p95 {pct(accept, 95):7.1f} ms")
    print(f"  time to first event  p50 {pct(ttfe, 50):7.1f} ms   p95 {pct(ttfe, 95):7.1f} ms   p99 {pct(ttfe, 99):7.1f} ms  (from sending execute)")
    print(f"    from the 202       p50 {pct(ttfe_accepted, 50):7.1f} ms   p95 {pct(ttfe_accepted, 95):7.1f} ms")
    for label, values in breakdown(engine, results, args.verbose).items():
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
    per_run = {kind: sum(c for n, c in cpu.items() if n.startswith(kind)) / max(1, len(e2e)) * 1000
               for kind in ("worker", "api", "fake", "client", "postgres", "redis")}
    print("  CPU per run          " + "   ".join(f"{k} {v:.1f} ms" for k, v in per_run.items())
          + f"   (sum {sum(per_run.values()):.0f} ms; 2 cores give {2000 / max(1.0, sum(per_run.values())):.1f} runs/s)")
    if args.gc_log:
        print_gc_pauses(cluster["logs"], logs)
    ok = not (lost or dup or mismatched or not_terminal or errors)
    print("  OK: every run terminal, every event exactly once" if ok else "  FAILED")
    return Scenario(rate, throughput, pct(ttfe, 50), pct(ttfe, 95), lost, dup, ok)


def print_gc_pauses(logs: dict[str, Path], offsets: dict[str, int]) -> None:
    """GC pauses each process logged since ``offsets`` (``--gc-log``)."""
    print("  GC pauses >= 5 ms   " + "  ".join(f"{name} {gclog.describe(gclog.pauses(log, offsets[name]))}"
                                              for name, log in logs.items()))


def summary(args: argparse.Namespace, scenarios: list[Scenario]) -> None:
    """The figures next to their targets (issue 14 part 4)."""
    print(f"== summary ({args.workers} workers, {args.apis} API processes, {args.runs} runs per rate) ==")
    for s in scenarios:
        if not s.rate:
            verdict = "met" if s.throughput >= TARGET_BURST_RUNS_S else "MISSED"
            print(f"  burst: sustained {s.throughput:5.1f} runs/s          target >= {TARGET_BURST_RUNS_S:g} runs/s  {verdict}")
        else:
            verdict = ("met" if s.ttfe_p95 <= TARGET_TTFE_P95_MS else "MISSED") if s.rate == 10 else "(target is at 10 runs/s)"
            print(f"  {s.rate:g} runs/s: TTFE p50 {s.ttfe_p50:6.1f} ms, p95 {s.ttfe_p95:6.1f} ms   "
                  f"target p95 <= {TARGET_TTFE_P95_MS:g} ms  {verdict}")
    lost, dup = sum(s.lost for s in scenarios), sum(s.duplicated for s in scenarios)
    print(f"  events: lost {lost}, duplicated {dup}           target 0 / 0  {'met' if not lost and not dup else 'MISSED'}")


# ------------------------------------------------------------------------------ processes
def start_cluster(args: argparse.Namespace, tmp: Path, env: dict[str, str], procs: list) -> dict:
    """The fake LLM, workers and API processes (appended to ``procs`` as they start)."""
    fake_port = args.llm_port or free_port()
    fake = _spawn([sys.executable, "-m", "tests.support.fake_openai", str(fake_port)], {}, tmp / "fake-openai.log")
    procs.append(fake)
    fake_url = f"http://127.0.0.1:{fake_port}"
    env = {**env, "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": f"{fake_url}/v1"}
    workers = []
    for i in range(args.workers):
        log = tmp / f"worker-{i}.log"
        if i == 0 and args.profile:  # the first worker under cProfile (written when it stops)
            proc = _spawn([sys.executable, "-c", PROFILED_WORKER, args.profile], env, log)
        else:
            proc = spawn_worker(env, log)
        procs.append(proc)
        workers.append((proc, log))
    apis = []
    for i in range(args.apis):
        log = tmp / f"api-{i}.log"
        proc, url = spawn_api(env, log, port=args.api_port_list[i] if args.api_port_list else None)
        procs.append(proc)
        apis.append((proc, url, log))
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
    named = [("fake-openai", fake)] + [(f"worker-{i}", p) for i, (p, _) in enumerate(workers)] + [
        (f"api-{i}", p) for i, (p, _, _) in enumerate(apis)]
    logs = {f"worker-{i}": log for i, (_, log) in enumerate(workers)} | {f"api-{i}": log for i, (_, _, log) in enumerate(apis)}
    return {"named": named, "fake_url": fake_url, "urls": [url for _, url, _ in apis], "logs": logs}


def open_database(args: argparse.Namespace, tmp: Path) -> tuple[str, str | None]:
    """(database URL, name of a throw-away PostgreSQL database to drop at the end, or None)."""
    if not args.database_url:
        return create_database()[::-1]
    if args.database_url == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'bench.db'}", None
    return args.database_url, None


def main() -> int:
    args = parse_args()
    # SIGTERM unwinds like Ctrl-C, so the clean-up below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="pilot-bench-bg-"))
    redis_url = redis_url_with_db(args.redis_url, args.redis_db)
    prefix = f"pilot-bench-{uuid.uuid4().hex[:8]}"
    procs: list = []
    db_url, throwaway = None, None
    engine: sa.Engine | None = None
    workspace_id: str | None = None
    passed = False
    try:
        db_url, throwaway = open_database(args, tmp)
        upgrade(db_url)
        engine = sync_engine(db_url)
        env = {
            "DATABASE_URL": db_url, "REDIS_URL": redis_url, "PILOT_REDIS_PREFIX": prefix, "PILOT_DATA_DIR": str(tmp / ".pilot"),
            "PILOT_LLM_FALLBACK_MODELS": "", "PILOT_WORKER_MAX_JOBS": str(max(args.runs, 10)), "DATABASE_POOL_SIZE": "6",
            "PILOT_LOG_LEVEL": "WARNING",
        }
        if args.importtime:
            env.update(PYTHONPROFILEIMPORTTIME="1", PILOT_LOG_LEVEL="INFO")
        if args.poll_delay is not None:
            env["PILOT_WORKER_POLL_DELAY_S"] = str(args.poll_delay)
        if args.gc_log:
            env = gclog.enable(tmp / "gclog", env)
        print(f"redis {redis_url} (keys under {prefix}:*), database {sa.make_url(db_url).render_as_string(hide_password=True)}, "
              f"logs in {tmp}")
        cluster = start_cluster(args, tmp, env, procs)
        key, workspace_id = asyncio.run(make_key(db_url))
        created = httpx.post(f"{cluster['urls'][0]}/api/workflows", json=workflow(args.llm_nodes),
                             headers={"Authorization": f"Bearer {key}"})
        created.raise_for_status()
        cluster.update(key=key, workflow_id=created.json()["id"])
        scenarios = [measure(args, rate, cluster, engine) for rate in args.rates]
        summary(args, scenarios)
        passed = all(s.ok for s in scenarios)
        return 0 if passed else 1
    finally:
        for proc in procs:
            stop(proc)
        job_ids: set[str] = set()
        # A throw-away database holds only this bench's executions; another one, only those of
        # the bench's workspace (none known: no arq key of anyone else's job is touched).
        if engine is not None and (throwaway or workspace_id):
            try:
                job_ids = execution_ids(engine, None if throwaway else workspace_id)
            except Exception as exc:  # noqa: BLE001 - still clean what the prefix finds
                print(f"  (could not list the executions: {type(exc).__name__}: {exc})")
        if engine is not None:
            engine.dispose()
        deleted, left = clean_redis(redis_url, prefix, job_ids)
        print(f"redis clean-up: deleted {deleted} keys of this bench, {left} left")
        if throwaway:
            drop_database(throwaway)
        if passed and not args.profile:
            shutil.rmtree(tmp, ignore_errors=True)  # kept (logs) when something failed


if __name__ == "__main__":
    sys.exit(main())
