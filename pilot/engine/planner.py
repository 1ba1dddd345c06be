"""The pure scheduling core: which nodes are ready, which are skipped, when the run is over.

No asyncio, no I/O: the runner feeds completions in and starts whatever comes out, so every
scheduling rule is unit-testable with plain calls.

Rules
- A node is *resolved* when it succeeded (including failures absorbed by ``on_error`` =
  continue/default) or was skipped. A node becomes ready as soon as **all** its predecessors are
  resolved — per node, never per "level", so a slow branch never delays an unrelated one.
- An edge is *live* when its source succeeded and, for a ``condition`` source, the edge's
  ``source_handle`` is the branch the condition took (an edge without a handle is always live).
  A node whose incoming edges are all dead (untaken branch, skipped source) is **skipped**, and
  the skip propagates to its exclusive descendants; a join that still has one live input runs.
- A node failure with ``on_error = fail`` fails the run: nothing new becomes ready.

Cost: each completion touches only the node's outgoing edges (O(edges) per run overall).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Literal

NodeState = Literal["pending", "ready", "running", "succeeded", "skipped", "failed"]


class Update:
    """What a completion unlocked: nodes to start now, nodes skipped as a consequence."""

    __slots__ = ("ready", "skipped")

    def __init__(self) -> None:
        self.ready: list[str] = []
        self.skipped: list[str] = []

    def __repr__(self) -> str:
        return f"Update(ready={self.ready}, skipped={self.skipped})"


class Planner:
    """Scheduling state of one (sub)graph run.

    ``nodes``: node ids in a stable order; ``edges``: ``(source, target, source_handle)``;
    ``conditions``: ids of condition nodes (their edges are filtered by the taken branch).
    """

    __slots__ = ("order", "state", "_out", "_waiting", "_live", "_conditions", "_branch", "_open", "failed_node")

    def __init__(
        self,
        nodes: Iterable[str],
        edges: Iterable[tuple[str, str, str | None]],
        conditions: Iterable[str] = (),
    ) -> None:
        self.order: list[str] = list(nodes)
        self.state: dict[str, NodeState] = dict.fromkeys(self.order, "pending")
        self._out: dict[str, list[tuple[str, str | None]]] = {n: [] for n in self.order}
        self._waiting: dict[str, int] = dict.fromkeys(self.order, 0)
        self._live: dict[str, int] = dict.fromkeys(self.order, 0)
        for source, target, handle in edges:
            if source not in self.state or target not in self.state:
                raise ValueError(f"edge {source}->{target} references an unknown node")
            self._out[source].append((target, handle))
            self._waiting[target] += 1
        self._conditions = frozenset(conditions)
        self._branch: dict[str, str | None] = {}
        self._open = len(self.order)  # nodes not yet succeeded/skipped/failed
        self.failed_node: str | None = None

    # ------------------------------------------------------------------ queries

    @property
    def finished(self) -> bool:
        """Nothing is left to run: every node resolved, or the run failed and nothing is running."""
        if self.failed_node is not None:
            return not any(s == "running" for s in self.state.values())
        return self._open == 0

    @property
    def failed(self) -> bool:
        return self.failed_node is not None

    def count(self, state: NodeState) -> int:
        return sum(1 for s in self.state.values() if s == state)

    # ------------------------------------------------------------------ transitions

    def start(self) -> list[str]:
        """The entry nodes (no predecessors), now ready."""
        ready = [n for n in self.order if self._waiting[n] == 0 and self.state[n] == "pending"]
        for node in ready:
            self.state[node] = "ready"
        return ready

    def running(self, node: str) -> None:
        self.state[node] = "running"

    def succeeded(self, node: str, branch: str | None = None) -> Update:
        """``node`` produced an output; ``branch`` is the handle a condition node took."""
        self._expect(node, ("ready", "running"))
        self.state[node] = "succeeded"
        self._open -= 1
        if node in self._conditions:
            self._branch[node] = branch
        update = Update()
        if self.failed_node is None:
            self._release(node, update)
        return update

    def failed_run(self, node: str) -> None:
        """``node`` failed and its policy is ``fail``: the run fails, nothing new is started."""
        self._expect(node, ("ready", "running"))
        self.state[node] = "failed"
        self._open -= 1
        if self.failed_node is None:
            self.failed_node = node

    def park(self, node: str) -> None:
        """A running node paused (a ``wait`` node not yet due): not running, not resolved; a
        resumed run starts it again."""
        self._expect(node, ("running",))
        self.state[node] = "ready"

    def abandon(self, node: str) -> None:
        """A running node was stopped (cancel, deadline, run failure): no longer running."""
        if self.state.get(node) in ("ready", "running"):
            self.state[node] = "failed"
            self._open -= 1

    def replay(self, done: Mapping[str, tuple[str, str | None]]) -> tuple[list[str], list[str]]:
        """Restore a resumed run from persisted results ``{node: (status, branch)}``.

        Completed nodes are fed in dependency order; returns ``(ready, skipped)``: nodes to run
        now and nodes whose skip was derived (the caller records skips it has not stored yet).
        """
        ready_now: list[str] = []
        skipped: list[str] = []
        queue = deque(self.start())
        while queue:
            node = queue.popleft()
            status = done.get(node)
            if status is not None and status[0] == "succeeded":
                update = self.succeeded(node, status[1])
                queue.extend(update.ready)
                skipped.extend(update.skipped)
            else:
                ready_now.append(node)
        return ready_now, skipped

    # ------------------------------------------------------------------ internals

    def _release(self, source: str, update: Update) -> None:
        """Resolve ``source``'s outgoing edges; iterate (not recurse) over derived skips."""
        stack = [source]
        while stack:
            node = stack.pop()
            alive = self.state[node] == "succeeded"
            taken = self._branch.get(node) if node in self._conditions else None
            check_branch = node in self._conditions
            for target, handle in self._out[node]:
                if alive and (not check_branch or handle is None or handle == taken):
                    self._live[target] += 1
                self._waiting[target] -= 1
                if self._waiting[target] == 0 and self.state[target] == "pending":
                    if self._live[target] > 0:
                        self.state[target] = "ready"
                        update.ready.append(target)
                    else:
                        self.state[target] = "skipped"
                        self._open -= 1
                        update.skipped.append(target)
                        stack.append(target)

    def _expect(self, node: str, allowed: tuple[str, ...]) -> None:
        state = self.state.get(node)
        if state not in allowed:
            raise ValueError(f"node {node!r} is {state}, expected one of {allowed}")


class LoopPlan:
    """Bookkeeping of a loop node: which item indices to start next under ``max_concurrency``,
    and the ordered results (one per item, in item order whatever the completion order)."""

    __slots__ = ("length", "max_concurrency", "next_index", "active", "results", "done")

    def __init__(self, length: int, max_concurrency: int) -> None:
        self.length = length
        self.max_concurrency = max(1, max_concurrency)
        self.next_index = 0
        self.active = 0
        self.done = 0
        self.results: list[object] = [None] * length

    def to_start(self) -> list[int]:
        """Indices to start now (fills free concurrency slots)."""
        start: list[int] = []
        while self.active < self.max_concurrency and self.next_index < self.length:
            start.append(self.next_index)
            self.next_index += 1
            self.active += 1
        return start

    def item_done(self, index: int, result: object) -> list[int]:
        """Record item ``index``'s result; returns the indices that may start now."""
        self.results[index] = result
        self.active -= 1
        self.done += 1
        return self.to_start()

    @property
    def finished(self) -> bool:
        return self.done == self.length


__all__ = ["Planner", "LoopPlan", "Update", "NodeState"]
