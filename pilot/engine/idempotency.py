"""Idempotency keys for side effects: the same logical call always carries the same key.

A node that calls an external system may run more than once for one logical call: the engine
retries it, or a worker dies after the call completed but before the result was stored and the
next attempt re-runs the node (see README "Delivery guarantees"). Connectors that support it pass
this key on (the ``Idempotency-Key`` header), so the receiver performs the side effect once.

The key is a UUID derived from the execution id and the node's *path*: its id, qualified by the
loop iterations it sits in (``each[3].notify``, ``outer[1].inner[0].post``). The attempt number
is deliberately not part of it — a retry or a resume is the same logical call — while another
node, another execution or another loop item is another call, with another key.
"""

from __future__ import annotations

import uuid
from typing import Any

# Fixed namespace: keys are stable across processes, hosts and releases.
_NAMESPACE = uuid.UUID("5d3c7c84-6a0e-4f55-9f0a-2b8d3e1c9a41")
HEADER = "Idempotency-Key"


def idempotency_key(execution_id: str, path: str) -> str:
    """The key of the call made by the node at ``path`` in ``execution_id`` (a UUID string:
    36 characters, accepted by every API that takes such a key)."""
    return str(uuid.uuid5(_NAMESPACE, f"{execution_id}\x1f{path}"))


def node_idempotency_key(ctx: Any) -> str:
    """The key for a node runner's context (:class:`pilot.engine.nodes.base.NodeContext`)."""
    path = getattr(ctx, "path", "") or ctx.node.id
    return idempotency_key(ctx.execution_id, path)


def has_header(headers: dict[str, str], name: str = HEADER) -> bool:
    lowered = name.lower()
    return any(k.lower() == lowered for k in headers)
