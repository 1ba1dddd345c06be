"""CPU per streamed chat completion: the openai SDK's streaming path vs πlot's provider.

    uv run python -m tests.bench.bench_llm_stream [--n 200] [--rounds 3]

Starts the fake OpenAI-compatible server (tests/support/fake_openai.py) in a *separate process*
on a real loopback socket, so ``time.process_time`` here counts only the client's CPU. Each
completion streams 23 chunks (role, 20 content deltas, finish, usage) and is consumed by

- ``sdk``: ``client.chat.completions.create(stream=True)``, iterating the SDK's ``AsyncStream``
  (one pydantic ``ChatCompletionChunk`` per chunk) — the provider's previous implementation. It
  closes the response at ``[DONE]`` before the body's end, so each call opens a new connection;
- ``pilot``: :meth:`pilot.llm.OpenAIProvider.stream_chat` (the SDK's raw request,
  ``client.post(..., cast_to=httpx2.Response, stream=True)``, ``data:`` lines decoded with
  msgspec, the body read to its end so the pooled connection is reused).

Both share one ``AsyncOpenAI`` client. Rounds alternate the two paths (after a warm-up) so load
from other processes affects both alike. Prints CPU ms per completion p50/p95 (min over rounds of
each round's percentile), wall ms p50, the SDK/pilot ratio and the target (pilot p50 ≤ 3 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

from pilot.llm import ChatMessage, LLMUsage, OpenAIProvider
from pilot.llm.openai_provider import shared_client
from pilot.settings import LLMSettings
from tests.support.servers import free_port

TARGET_MS = 3.0
MODEL = "gpt-4o-mini"
# The fake server echoes "Echo: <last user message>" word by word: "Echo:" + 19 words = 20 deltas,
# plus the role chunk, the finish chunk and the usage chunk = 23 chunks.
PROMPT = " ".join(f"word{i}" for i in range(19))
MESSAGES = [ChatMessage("system", "be brief"), ChatMessage("user", PROMPT)]


async def sdk_path(settings: LLMSettings) -> str:
    """The plain SDK streaming loop (what OpenAIProvider.stream_chat did before)."""
    client = shared_client(settings)
    stream = await client.chat.completions.create(
        model=MODEL, messages=[{"role": m.role, "content": m.content} for m in MESSAGES], temperature=0.7,
        stream=True, stream_options={"include_usage": True})
    parts: list[str] = []
    usage = None
    try:
        async for chunk in stream:
            if chunk.usage is not None:
                usage = LLMUsage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0,
                                 chunk.usage.total_tokens or 0)
            for choice in chunk.choices or ():
                text = choice.delta.content if choice.delta else None
                if text:
                    parts.append(text)
    finally:
        await stream.close()
    assert usage is not None
    return "".join(parts)


async def pilot_path(settings: LLMSettings) -> str:
    """OpenAIProvider.stream_chat, drained."""
    parts: list[str] = []
    usage = None
    async for item in OpenAIProvider(settings).stream_chat(model=MODEL, messages=MESSAGES):
        if isinstance(item, LLMUsage):
            usage = item
        else:
            parts.append(item)
    assert usage is not None
    return "".join(parts)


async def measure(path: Callable[[LLMSettings], Awaitable[str]], settings: LLMSettings, n: int
                  ) -> tuple[list[float], list[float]]:
    """CPU and wall milliseconds of ``n`` sequential completions."""
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(n):
        c0, w0 = time.process_time(), time.perf_counter()
        text = await path(settings)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
        assert text == f"Echo: {PROMPT}", text
    return cpu, wall


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def count_chunks(base_url: str) -> int:
    """Chunks of one streamed completion, counted on the wire."""
    body = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "stream": True,
            "stream_options": {"include_usage": True}}
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{base_url}/chat/completions", json=body)
    return sum(1 for line in r.text.splitlines() if line.startswith("data:") and "[DONE]" not in line)


async def run(base_url: str, n: int, rounds: int) -> None:
    settings = LLMSettings(api_key="sk-bench", base_url=base_url, timeout_s=30)
    chunks = await count_chunks(base_url)
    print(f"{chunks} chunks per completion, {n} completions per path per round, {rounds} rounds")
    paths = {"sdk": sdk_path, "pilot": pilot_path}
    for path in paths.values():  # warm-up: imports, pooled connection, caches
        await measure(path, settings, 20)
    results: dict[str, dict[str, list[float]]] = {name: {"p50": [], "p95": [], "wall": []} for name in paths}
    for index in range(rounds):
        order = list(paths) if index % 2 == 0 else list(reversed(paths))
        for name in order:
            cpu, wall = await measure(paths[name], settings, n)
            results[name]["p50"].append(pct(cpu, 0.5))
            results[name]["p95"].append(pct(cpu, 0.95))
            results[name]["wall"].append(statistics.median(wall))
    print(f"{'path':<6} {'cpu p50 ms':>11} {'cpu p95 ms':>11} {'wall p50 ms':>12}   (min over rounds; per-round p50s)")
    for name, r in results.items():
        rounds_txt = ", ".join(f"{v:.2f}" for v in r["p50"])
        print(f"{name:<6} {min(r['p50']):>11.2f} {min(r['p95']):>11.2f} {min(r['wall']):>12.2f}   [{rounds_txt}]")
    sdk, ours = min(results["sdk"]["p50"]), min(results["pilot"]["p50"])
    verdict = "met" if ours <= TARGET_MS else "MISSED"
    print(f"sdk/pilot CPU ratio {sdk / ours:.2f}x; target pilot p50 <= {TARGET_MS:g} ms per "
          f"{chunks}-chunk completion: {verdict} ({ours:.2f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="completions per path per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tests.support.fake_openai", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base_url}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the fake OpenAI server did not start")
            time.sleep(0.1)
        asyncio.run(run(base_url, args.n, args.rounds))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
