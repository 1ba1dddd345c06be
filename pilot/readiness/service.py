"""What a run of a workflow's graph needs that is missing (see :mod:`pilot.readiness`).

Two steps: :func:`scan_graph` reads the graph alone (pure: credential names referred to, knowledge
bases searched, required inputs, tool calls, literal URLs), then :func:`check_graph` looks up the
workspace (credential *names* only, knowledge bases with their document counts) and the settings
(each tool's ``configured(settings)``, the outbound guard's policy) and lists what is missing, in
graph order (a loop's body right after the loop node).

Rules:

- ``credential``: ``{{ credentials.<name> }}`` / ``credentials['<name>']`` inside a template of any
  node field (expression fields — a condition's ``when``, a loop's ``items`` — are read whole),
  loop bodies included, whose name the workspace has no credential of. A name the same field
  tests with ``'<name>' in credentials`` is optional and not listed.
- ``knowledge_base``: a knowledge node's literal ``knowledge_base`` (id or name) that does not
  exist in the workspace, or has no documents. A templated one is decided at run time.
- ``input``: each required field without a default of the input node, the message naming what
  supplies it for the node's trigger. Never blocks publishing: a manual run supplies inputs.
- ``tool_config``: a tool the server does not have; a required argument that is absent (a bot's
  ``webhook_url``); a tool that is not ``configured(settings)`` (``email`` without ``SMTP_HOST``,
  ``slack`` without ``SLACK_WEBHOOK_URL``) unless a ``webhook_url`` argument supplies it. An
  argument counts as supplied when it is a literal, refers to inputs or node outputs, or refers
  only to credentials that exist; one that refers to a missing credential is listed here too.
- ``outbound_host``: a literal URL (no ``{{``/``{%``) of an api node, or a tool's ``url`` /
  ``webhook_url`` argument, whose host the outbound guard refuses (private, loopback, link-local,
  … per :mod:`pilot.outbound`, honouring ``PILOT_HTTP_ALLOW_PRIVATE`` / ``PILOT_HTTP_ALLOWLIST``).
  Host names are not resolved (no DNS): ``localhost`` and its kin count as loopback.
- ``workflow`` / ``code`` and the ``agent`` note: the v2 steps (:mod:`pilot.readiness.steps`): a
  sub-workflow that is not the workspace's (or not runnable), code in a language the server does
  not run; an agent without tools is a note (``notes``), which never blocks anything.
- ``tool_config`` / ``table`` for an agent's ``tool:``/``api:`` reference no tool instance or connector
  answers, and a ``table`` tool node's data table that does not exist (:mod:`pilot.readiness.resources`).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Set
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from pilot.core.errors import ConflictError
from pilot.credentials.names import CredentialNames
from pilot.credentials.store import workspace_credential_names
from pilot.knowledge.listing import KnowledgeSnapshots
from pilot.knowledge.schemas import KnowledgeBase, KnowledgeSummary
from pilot.knowledge.store import KnowledgeBaseNotFound, get_knowledge_base
from pilot.outbound import AccessPolicy, DestinationBlocked, blocked_reason, parse_ip_literal
from pilot.readiness.lookups import ResourceLookups
from pilot.readiness.messages import NOTE_KINDS, message, reason_text
from pilot.readiness.resources import Missing, missing_resources, resource_items
from pilot.readiness.schemas import Readiness, ReadinessItem
from pilot.readiness.steps import BLOCKING, step_items, workflow_refs, workflow_states
from pilot.settings import Settings
from pilot.tools.registry import ToolRegistry, UnknownTool, default_registry
from pilot.workflows.model import Node, WorkflowGraph, node_type
from pilot.workflows.service import WorkflowService
from pilot.workflows.validation import iter_all_nodes

log = logging.getLogger("pilot.readiness")
BLOCKING_KINDS = frozenset({"credential", "knowledge_base", "tool_config", "outbound_host", "table"}) | BLOCKING
URL_ARGUMENTS = ("url", "webhook_url")  # tool arguments that are a destination
EXPRESSION_NODES = frozenset({"condition", "loop"})  # their fields are jinja2 expressions, not templates

_SEGMENT = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)
_REFERENCE = re.compile(r"\bcredentials\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*(['\"])(.+?)\2\s*\])")
_GUARD = re.compile(r"(['\"])([^'\"]+)\1\s+(?:not\s+)?in\s+credentials\b")
# Names the guard would refuse once resolved; readiness does no DNS, so it knows these by name.
_LOCAL_NAMES = {
    "localhost": "a loopback host name",
    "localhost.localdomain": "a loopback host name",
    "ip6-localhost": "a loopback host name",
    "ip6-loopback": "a loopback host name",
    "metadata.google.internal": "a link-local host name (cloud metadata lives there)",
}


# ---------------------------------------------------------------- reading the graph (pure)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _is_templated(text: str) -> bool:
    return "{{" in text or "{%" in text


def credential_names(text: str, *, expression: bool = False) -> list[str]:
    """The credentials a template (or, with ``expression``, a bare jinja2 expression) reads, in
    order, without the ones it only tests for (``'name' in credentials``)."""
    parts = [text] if expression else [m.group(1) if m.group(1) is not None else m.group(2) for m in _SEGMENT.finditer(text)]
    found: list[str] = []
    for part in parts:
        for match in _REFERENCE.finditer(part):
            name = (match.group(1) or match.group(3) or "").strip()
            if name and name not in found:
                found.append(name)
    guarded = {m.group(2) for part in parts for m in _GUARD.finditer(part)}
    return [name for name in found if name not in guarded]


def _config_data(node: Node) -> Any:
    data = msgspec.to_builtins(node.config)
    if node_type(node) == "loop" and isinstance(data, dict):
        data.pop("body", None)  # its nodes are walked on their own
    return data


def node_credentials(node: Node) -> list[str]:
    """Every credential name a node's own fields read (not its loop body's)."""
    if b"credentials" not in msgspec.json.encode(node.config):  # most nodes: no string can name one
        return []
    expression = node_type(node) in EXPRESSION_NODES
    names: list[str] = []
    for text in _strings(_config_data(node)):
        for name in credential_names(text, expression=expression):
            if name not in names:
                names.append(name)
    return names


@dataclass
class GraphNeeds:
    """What :func:`scan_graph` found: the workspace lookups :func:`check_graph` must make."""

    credentials: set[str] = field(default_factory=set)
    knowledge_bases: set[str] = field(default_factory=set)


def scan_graph(graph: WorkflowGraph) -> GraphNeeds:
    needs = GraphNeeds()
    for node in iter_all_nodes(graph):
        needs.credentials.update(node_credentials(node))
        if node_type(node) == "knowledge":
            kb = node.config.knowledge_base.strip()
            if kb and not _is_templated(kb):
                needs.knowledge_bases.add(kb)
    return needs


def refused_host(url: Any, policy: AccessPolicy) -> tuple[str, str] | None:
    """``(host, reason)`` when ``url`` is a literal http(s) URL the outbound guard will refuse."""
    if not isinstance(url, str) or _is_templated(url):
        return None
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    if policy.allow_private or policy.host_allowed(host, port):
        return None
    ip = parse_ip_literal(host)
    if ip is None:
        name = host.lower().rstrip(".")
        reason = _LOCAL_NAMES.get(name) or ("a loopback host name" if name.endswith(".localhost") else None)
        return (host, reason) if reason else None
    try:
        policy.check(host, port, ip)
    except DestinationBlocked:
        return host, blocked_reason(ip) or "a refused address"
    return None


# ---------------------------------------------------------------- the workspace


async def _knowledge_state(session: AsyncSession, workspace_id: str, ref: str) -> str | None:
    """``missing``, ``empty`` or None (usable)."""
    try:
        kb = await get_knowledge_base(session, workspace_id, ref)
    except KnowledgeBaseNotFound:
        return "missing"
    return _state_of(kb)


def _state_of(kb: KnowledgeBase | KnowledgeSummary | None) -> str | None:
    """``missing`` (None), ``empty`` (no document) or None (usable)."""
    return "missing" if kb is None else "empty" if kb.document_count == 0 else None


async def _knowledge_states(session: AsyncSession, workspace_id: str, refs: set[str],
                            snapshots: KnowledgeSnapshots | None) -> dict[str, str | None]:
    """:func:`_knowledge_state` of each ref (sorted); from the workspace's cached snapshot when
    given one that holds all its bases (else a ref it lacks might still exist: ask the table)."""
    if snapshots is not None and refs:
        snapshot = await snapshots.get(session, workspace_id)
        if snapshot.complete:
            return {ref: _state_of(snapshot.find(ref)) for ref in sorted(refs)}
    return {ref: await _knowledge_state(session, workspace_id, ref) for ref in sorted(refs)}


# ---------------------------------------------------------------- the check


class _Checker:
    def __init__(self, settings: Settings, lang: str, credentials: Set[str], knowledge: dict[str, str | None],
                 registry: ToolRegistry, workflows: dict | None = None, missing: Missing | None = None) -> None:
        self.workflows = workflows or {}
        self.missing = missing or Missing()
        self.notes: list[ReadinessItem] = []
        self.settings = settings
        self.lang = lang
        self.credentials = credentials
        self.knowledge = knowledge
        self.registry = registry
        self.policy = AccessPolicy(allow_private=settings.engine.http_allow_private,
                                   allowlist=settings.engine.http_allowlist)
        self.items: list[ReadinessItem] = []

    def add(self, kind: str, key: str, *, node_id: str | None, name: str, **values: Any) -> None:
        text = message(key, self.lang, node=node_id or "", name=name, **values)
        item = ReadinessItem(kind=kind, message=text, node_id=node_id, name=name)  # type: ignore[arg-type]
        (self.notes if kind in NOTE_KINDS else self.items).append(item)

    def missing_credentials(self, value: Any) -> list[str]:
        return [n for text in _strings(value) for n in credential_names(text) if n not in self.credentials]

    def node(self, node: Node, *, top_level: bool) -> None:
        kind = node_type(node)
        if kind == "input" and top_level:
            self.inputs(node)
        for name in node_credentials(node):
            if name not in self.credentials:
                self.add("credential", "credential_missing", node_id=node.id, name=name)
        if kind == "knowledge":
            ref = node.config.knowledge_base.strip()
            state = self.knowledge.get(ref)
            if state is not None:
                self.add("knowledge_base", f"knowledge_base_{state}", node_id=node.id, name=ref)
        elif kind == "tool":
            self.tool(node)
        elif kind == "api":
            self.outbound(node.id, node.config.url)
        for item_kind, key, name, values in [*step_items(node, self.workflows), *resource_items(node, self.missing)]:
            self.add(item_kind, key, node_id=node.id, name=name, **values)

    def inputs(self, node: Node) -> None:
        trigger = node.config.trigger
        trigger_kind = trigger.__struct_config__.tag if trigger is not None else "manual"
        for spec in node.config.fields:
            if not spec.required or spec.default is not None:
                continue
            key = {"webhook": "input_webhook", "form": "input_form", "schedule": "input_schedule"}.get(trigger_kind, "input_manual")
            if trigger_kind == "chat":
                key = "input_chat" if spec.name == "message" else "input_chat_other"
            self.add("input", key, node_id=node.id, name=spec.name)

    def tool(self, node: Node) -> None:
        name, arguments = node.config.tool, node.config.arguments
        try:
            tool = self.registry.get(name)
        except UnknownTool:
            self.add("tool_config", "tool_unknown", node_id=node.id, name=name, available=", ".join(self.registry.names()))
            return

        def supplied(argument: str) -> bool:
            value = arguments.get(argument)
            return value is not None and value != "" and not self.missing_credentials(value)

        def unsupplied(argument: str, fallback_key: str) -> None:
            missing = self.missing_credentials(arguments.get(argument))
            if missing:
                self.add("tool_config", "tool_argument_credential", node_id=node.id, name=name, argument=argument,
                         credential=missing[0])
            else:
                self.add("tool_config", fallback_key, node_id=node.id, name=name, argument=argument)

        required = _required_arguments(tool.arguments)
        for argument in required:
            value = arguments.get(argument)
            if argument in URL_ARGUMENTS and not supplied(argument):
                unsupplied(argument, "tool_webhook_url" if argument == "webhook_url" else "tool_argument")
            elif value is None:
                self.add("tool_config", "tool_argument", node_id=node.id, name=name, argument=argument)
        if not tool.configured(self.settings) and "webhook_url" not in required and not supplied("webhook_url"):
            if "webhook_url" in arguments and self.missing_credentials(arguments["webhook_url"]):
                unsupplied("webhook_url", "tool_not_configured")
            else:
                self.add("tool_config", {"email": "tool_email", "slack": "tool_slack"}.get(name, "tool_not_configured"),
                         node_id=node.id, name=name)
        for argument in URL_ARGUMENTS:
            self.outbound(node.id, arguments.get(argument))

    def outbound(self, node_id: str, url: Any) -> None:
        refused = refused_host(url, self.policy)
        if refused is not None:
            host, reason = refused
            self.add("outbound_host", "outbound_host", node_id=node_id, name=host, reason=reason_text(reason, self.lang))


@functools.cache
def _required_arguments(arguments: type) -> tuple[str, ...]:
    """A connector's required argument names (``msgspec.structs.fields`` re-reads the type hints on
    every call: ~0.1 ms per tool node)."""
    return tuple(f.encode_name for f in msgspec.structs.fields(arguments) if f.required)


@functools.cache
def _default_registry() -> ToolRegistry:
    """The built-in connectors, built once: readiness only reads their names, argument types and
    ``configured(settings)``, none of which changes while the process runs."""
    return default_registry()


async def check_graph(session: AsyncSession, workspace_id: str, graph: WorkflowGraph, settings: Settings,
                      lang: str = "en", *, registry: ToolRegistry | None = None,
                      names: CredentialNames | None = None, knowledge: KnowledgeSnapshots | None = None,
                      resources: ResourceLookups | None = None) -> Readiness:
    """Everything a run of ``graph`` in ``workspace_id`` needs that is missing, in ``lang``.
    With ``names``, ``knowledge`` and ``resources`` (advisory reports only) the credential names,
    knowledge bases, tool instances and data tables come from those caches."""
    needs = scan_graph(graph)
    credentials: Set[str] = set()
    if needs.credentials:
        credentials = await (names.get(session, workspace_id) if names is not None else workspace_credential_names(session, workspace_id))
    states = await _knowledge_states(session, workspace_id, needs.knowledge_bases, knowledge)
    workflows = await workflow_states(session, workspace_id, refs) if (refs := workflow_refs(graph)) else {}
    registry = registry or _default_registry()
    missing = await missing_resources(session, workspace_id, graph, registry, resources)
    checker = _Checker(settings, lang, credentials, states, registry, workflows, missing)
    top_level = {id(n) for n in graph.nodes}
    for node in iter_all_nodes(graph):  # a loop's body right after the loop: items in graph order
        checker.node(node, top_level=id(node) in top_level)
    publishable = not any(item.kind in BLOCKING_KINDS for item in checker.items)
    return Readiness(ready=not checker.items, items=checker.items, publishable=publishable,
                     **({"notes": checker.notes} if checker.notes else {}))


async def check_workflow(session: AsyncSession, workspace_id: str, workflow_id: str, settings: Settings,
                         lang: str = "en") -> Readiness:
    """Readiness of the workflow's head graph (404 for another workspace's workflow, like a missing one)."""
    workflow = await WorkflowService(session, workspace_id).get(workflow_id)
    return await check_graph(session, workspace_id, workflow.graph(), settings, lang)


class NotReadyError(ConflictError):
    """Publishing was refused: ``extra`` lists the missing items (``{kind, node_id, name, message}``)."""

    def __init__(self, items: list[ReadinessItem], lang: str = "en") -> None:
        self.items = items
        detail = message("not_ready", lang, count=len(items), first=items[0].message if items else "")
        super().__init__(detail, extra=[msgspec.to_builtins(item) for item in items])


def blocking(readiness: Readiness) -> list[ReadinessItem]:
    """The items that keep a workflow from being published (all but required inputs)."""
    return [item for item in readiness.items if item.kind in BLOCKING_KINDS]


async def ensure_publishable(session: AsyncSession, workspace_id: str, graph: WorkflowGraph, settings: Settings,
                             lang: str = "en") -> Readiness:
    """Raise :class:`NotReadyError` (409) listing what blocks publishing ``graph``; else its readiness."""
    readiness = await check_graph(session, workspace_id, graph, settings, lang)
    items = blocking(readiness)
    if items:
        raise NotReadyError(items, lang)
    return readiness


async def readiness_data(runtime: Any, workspace_id: str, graph: WorkflowGraph, lang: str = "en") -> dict[str, Any] | None:
    """``{ready, items}`` as plain data for an event (chat's ``workflow.ready``), in its own
    session; None (logged) if it cannot be computed, so the caller's turn goes on."""
    try:
        async with runtime.sessions() as session:
            return msgspec.to_builtins(await check_graph(
                session, workspace_id, graph, runtime.settings, lang, names=runtime.credential_names,
                knowledge=runtime.knowledge_snapshots, resources=runtime.resource_lookups))
    except Exception:  # noqa: BLE001 - readiness is extra information, never the reason a turn fails
        log.exception("readiness of a chat workflow could not be computed")
        return None
