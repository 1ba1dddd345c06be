"""Readiness: everything a run of a workflow's head graph needs that is missing.

``GET /api/workflows/{id}/readiness`` (:mod:`.controllers`) answers ``{ready, items}``; each item
has a machine-readable ``kind`` (``credential``, ``knowledge_base``, ``input``, ``tool_config``,
``outbound_host``, ``workflow``, ``code``), the ``node_id`` and ``name`` it is about, and a ``message`` in the request's
language (:mod:`.messages`, the one table of texts); ``notes`` (kind ``agent``: an agent without
tools) are advice that never changes ``ready`` or ``publishable``. :mod:`.service` computes it from the graph,
the workspace (credential *names* and knowledge bases, never a decrypted value) and the server
settings (tool configuration, outbound guard); it does no network I/O and no DNS lookups.

The same check answers ``POST /api/workflows/generate`` (``readiness``), each chat edit
(``workflow.ready``), and guards publishing: every kind but ``input`` blocks it (a manual run
supplies inputs) unless the caller forces it (:func:`.service.ensure_publishable`).
"""

from pilot.readiness.messages import KINDS, NOTE_KINDS, language_from
from pilot.readiness.schemas import Readiness, ReadinessItem
from pilot.readiness.service import (
    BLOCKING_KINDS, NotReadyError, check_graph, check_workflow, ensure_publishable, readiness_data, scan_graph,
)

__all__ = [
    "BLOCKING_KINDS", "KINDS", "NOTE_KINDS", "NotReadyError", "Readiness", "ReadinessItem", "check_graph", "check_workflow",
    "ensure_publishable", "language_from", "readiness_data", "scan_graph",
]
