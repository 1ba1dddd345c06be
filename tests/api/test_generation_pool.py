"""``POST /api/workflows/generate`` through the generation processes (PILOT_GENERATION_PROCESSES=1):
the app's warm-up starts them, and a new request is then planned in a process and answers what
inline generation answers. (Other tests run generation inline: see tests/conftest.py.)"""

from __future__ import annotations

import asyncio

import msgspec
from litestar.testing import AsyncTestClient

from pilot.app import create_app
from tests.conftest import new_workspace_key

PROMPT = "每天早上9点把36氪的新闻总结一下，翻译成英文后发到飞书群和 #news 的 Slack 频道"


async def test_generate_is_planned_in_a_generation_process_once_the_pool_is_ready(make_settings) -> None:
    pooled_app = create_app(make_settings(PILOT_GENERATION_PROCESSES="1"))
    async with AsyncTestClient(app=pooled_app) as client:
        pool = pooled_app.state.runtime.generation_pool
        assert pool is not None
        for _ in range(1200):  # the warm-up starts the process a second after start-up
            if pool.ready:
                break
            await asyncio.sleep(0.05)
        assert pool.ready
        used: list[str] = []
        real = pool.generate

        async def counted(text, preferences):
            used.append(text)
            return await real(text, preferences)

        pool.generate = counted  # type: ignore[method-assign]
        key = await new_workspace_key(pooled_app)
        response = await client.post("/api/workflows/generate", json={"prompt": PROMPT, "save": False},
                                     headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 201, response.text
        assert len(used) == 1
        pooled = response.json()

    inline_app = create_app(make_settings(PILOT_GENERATION_PROCESSES="0"))
    async with AsyncTestClient(app=inline_app) as client:
        assert inline_app.state.runtime.generation_pool is None
        key = await new_workspace_key(inline_app)
        response = await client.post("/api/workflows/generate", json={"prompt": PROMPT, "save": False},
                                     headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 201, response.text
        inline = response.json()
    # the same workflow and blueprint, byte for byte (readiness is per workspace: compared apart)
    for part in ("workflow", "blueprint", "recommendations", "estimate"):
        assert msgspec.json.encode(pooled[part]) == msgspec.json.encode(inline[part]), part
    assert pooled["readiness"] == inline["readiness"]
