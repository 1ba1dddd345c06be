"""Driving the /panel page in the browser tests (Playwright, async API)."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

# Installed in the page before an action: records, per node, the sequence of run states it showed
# (data-state changes) and the order in which nodes were added to the drawing.
_RECORDER = """() => {
  const layer = document.querySelector('#canvas .nodes');
  window.stateLog = {};
  window.addedOrder = [];
  const log = (g) => {
    const states = (window.stateLog[g.dataset.nodeId] ||= []);
    if (g.dataset.state && states[states.length - 1] !== g.dataset.state) states.push(g.dataset.state);
  };
  new MutationObserver((changes) => changes.forEach((c) => log(c.target)))
    .observe(layer, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach((n) => window.addedOrder.push(n.dataset.nodeId))))
    .observe(layer, { childList: true });
}"""


async def sign_in(page: Page, url: str, key: str) -> None:
    """Open the panel at ``url`` and give it the API key (asked once, kept in sessionStorage)."""
    await page.goto(url)
    await page.locator("#key-dialog[open]").wait_for()
    await page.fill("#key-input", key)
    await page.click("#key-form button")
    await page.locator("#key-dialog:not([open])").wait_for(state="attached")


async def say(page: Page, text: str) -> None:
    """Send a chat message and wait for its reply stream to end."""
    await page.fill("#prompt", text)
    await page.click("#send")  # the chat turns busy before the click returns
    await page.locator("#chat[data-state=idle]").wait_for(state="attached", timeout=20_000)


async def record(page: Page) -> None:
    await page.evaluate(_RECORDER)


async def state_log(page: Page) -> dict[str, list[str]]:
    return await page.evaluate("() => window.stateLog")


async def added_order(page: Page) -> list[str]:
    return await page.evaluate("() => window.addedOrder")


async def nodes(page: Page) -> dict[str, dict[str, Any]]:
    """Every drawn node: state, count of final events applied, position, texts, handle labels."""
    return await page.evaluate("""() => Object.fromEntries([...window.pilotPanel.graph.nodes].map(([id, r]) => [id, {
      state: r.g.dataset.state || 'idle', finals: Number(r.g.dataset.finals || 0), x: r.x, y: r.y,
      transform: r.g.getAttribute('transform'), kind: r.g.querySelector('.kind').textContent,
      status: r.statusEl.textContent, text: r.text + r.pending,
      handles: [...r.g.querySelectorAll('.handle-label')].map((h) => h.textContent),
    }]))""")


async def edges(page: Page) -> set[tuple[str, str, str | None]]:
    found = await page.evaluate(
        "() => [...window.pilotPanel.graph.edges.values()].map(({edge}) => [edge.source, edge.target, edge.source_handle ?? null])"
    )
    return {tuple(e) for e in found}


async def run_attr(page: Page, name: str) -> str:
    return await page.get_attribute("#run", f"data-{name}") or ""


async def wait_run_over(page: Page, timeout_ms: int = 30_000) -> str:
    """Wait until the run panel leaves ``running``; its final status."""
    await page.locator("#run:not([data-status=running]):not([data-status=idle])").wait_for(state="attached", timeout=timeout_ms)
    return await run_attr(page, "status")


def graph_of(workflow: dict[str, Any]) -> tuple[dict[str, tuple[float, float]], set[tuple[str, str, str | None]]]:
    """A saved workflow's node positions and edges, in the shapes the page helpers return."""
    positions = {n["id"]: (n["position"]["x"], n["position"]["y"]) for n in workflow["nodes"]}
    return positions, {(e["source"], e["target"], e.get("source_handle")) for e in workflow["edges"]}


async def settled(page: Page) -> None:
    """Wait until no node is still sliding to a new position."""
    await page.wait_for_function("() => [...window.pilotPanel.graph.nodes.values()].every((r) => !r.move)")
