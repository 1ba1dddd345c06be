"""Per-run budgets: how many node executions, events and event bytes one run may produce.

A 5 KB workflow with two nested 100-item loops produces ~10,000 node executions and ~90,000
events; three nested loops would produce a million. Validation cannot see this (item counts are
data), so the run itself is metered: every event passes through :meth:`RunBudget.emit`, each
``node.started`` is one node execution, and the first limit crossed sets :attr:`RunBudget.exceeded`
with a reason. The executor then stops the graph and ends the run ``failed`` with that reason.

Limits come from settings (``PILOT_RUN_MAX_*``), overridden per workspace by the operator
(``pilot workspaces limits``): a workspace's own API keys cannot raise them.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import msgspec

from pilot.core.codec import json_encoder


class RunLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The ceilings of one run. ``0`` means unlimited."""

    max_node_runs: int = 10_000
    max_events: int = 100_000
    max_event_bytes: int = 64 * 1024 * 1024

    def with_overrides(self, overrides: dict[str, Any] | None) -> "RunLimits":
        """These limits with a workspace's overrides (unknown keys are ignored)."""
        if not overrides:
            return self
        known = {k: int(v) for k, v in overrides.items() if k in self.__struct_fields__ and v is not None}
        return msgspec.structs.replace(self, **known)


class RunBudget:
    """Meters one run's events (see module docstring)."""

    def __init__(self, limits: RunLimits, emit: Callable[[str, dict[str, Any]], Any], *, events_so_far: int = 0) -> None:
        self.limits = limits
        self._emit = emit
        self.events = events_so_far
        self.event_bytes = 0
        self.node_runs = 0
        self.reason: str | None = None
        self.exceeded = asyncio.Event()

    def emit(self, event: str, data: dict[str, Any]) -> Any:
        """Count, then forward to the recorder. Events still flow after the budget is spent
        (the nodes being stopped report it); the executor ends the run promptly."""
        self.events += 1
        self.event_bytes += len(json_encoder.encode(data))
        if event == "node.started":
            self.node_runs += 1
        if self.reason is None:
            self._check()
        return self._emit(event, data)

    def _check(self) -> None:
        limits = self.limits
        for used, limit, what in (
            (self.node_runs, limits.max_node_runs, "node executions"),
            (self.events, limits.max_events, "events"),
            (self.event_bytes, limits.max_event_bytes, "bytes of events"),
        ):
            if limit and used > limit:
                self.reason = (
                    f"run budget exceeded: more than {limit:,} {what} "
                    "(raise the workspace's limits with `pilot workspaces limits`)"
                )
                self.exceeded.set()
                return
