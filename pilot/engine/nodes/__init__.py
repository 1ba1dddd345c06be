"""The node-runner registry: ``RUNNERS[node_type] -> NodeRunner`` for the eight node types.

Tests and benchmarks may swap a runner with ``register(runner, replace=True)`` (and put the
original back afterwards): the engine looks runners up by ``type`` at run time, so the swap
takes effect at once (see tests/support/scripted.py).
"""

from __future__ import annotations

from pilot.engine.nodes.base import EngineServices, NodeContext, NodeRunner, RunnerRegistry

RUNNERS: RunnerRegistry = RunnerRegistry()


def register(runner: NodeRunner, *, replace: bool = False) -> NodeRunner:
    """Add ``runner`` for ``runner.node_type`` (``replace=True`` to override an existing one)."""
    return RUNNERS.register(runner, replace=replace)


def unregister(node_type: str) -> None:
    RUNNERS.pop(node_type, None)


def _register_builtin() -> None:
    # Imported here (not at module top) so base.py stays importable from every runner module.
    from pilot.engine.nodes import builtin

    for runner in builtin.runners():
        RUNNERS.register(runner, replace=True)


_register_builtin()

__all__ = ["RUNNERS", "EngineServices", "NodeContext", "NodeRunner", "register", "unregister"]
