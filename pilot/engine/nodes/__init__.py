"""The node-runner registry: ``RUNNERS[node_type] -> NodeRunner`` for the eight node types.

Tests may add runners for fake node types with :func:`register` / :func:`unregister`
(the engine looks runners up by ``type`` at run time, so a registered runner is used at once).
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
