"""``GenerationService``: prompt → blueprint → workflow (+ recommendations, estimate, optional save).

Shared by the HTTP controllers, the CLI and the chat domain. Prompt rules (one place):
empty or whitespace-only → 400 naming ``prompt``; longer than 8,000 characters → 400 (we
refuse rather than silently cut: a truncated request would build the wrong workflow); control
characters are dropped; a prompt with no letters or digits at all (binary garbage) → 400.

Without an LLM key a generation is a pure function of the cleaned prompt, the preferences and the
template catalog (offline analyzer, offline planner, compiler, ranking, estimate: ~5 ms of CPU),
so :meth:`GenerationService.generate` keeps the last ``CACHE_SIZE`` results per catalog; what
depends on the workspace (fitting its knowledge bases, the save) is done on every call, the bases
read through :class:`pilot.knowledge.listing.KnowledgeSnapshots` when the caller passes one.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import msgspec

from pilot.core.errors import BadRequestError, UnprocessableError
from pilot.core.pasted_secrets import find_pasted_secret, refusal
from pilot.generation.blueprint import WorkflowBlueprint
from pilot.generation.estimate import estimate
from pilot.generation.knowledge_fit import fit_knowledge_bases, has_knowledge_steps
from pilot.generation.offline_analyzer import OfflineAnalyzer
from pilot.generation.offline_result import OfflineGeneration, finish, with_plan
from pilot.generation.pipeline import Planner
from pilot.generation.recommend import recommendations
from pilot.generation.schemas import (
    MAX_PROMPT_CHARS,
    GeneratedWorkflow,
    GeneratePreferences,
    GenerateResponse,
)
from pilot.generation.text import clean, detect_language, readable_chars
from pilot.knowledge.listing import SNAPSHOT_LIMIT, KnowledgeSnapshots
from pilot.knowledge.store import knowledge_summaries
from pilot.settings import Settings

if TYPE_CHECKING:
    from pilot.generation.offload import GenerationPool


def check_prompt(prompt: Any, *, field: str = "prompt") -> str:
    """The cleaned prompt, or a 400 naming ``field`` and the problem."""
    if not isinstance(prompt, str):
        raise BadRequestError(f"{field}: must be a string", extra={"field": field})
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequestError(f"{field}: must be at most {MAX_PROMPT_CHARS} characters (got {len(prompt)})",
                              extra={"field": field, "max_length": MAX_PROMPT_CHARS})
    text = clean(prompt)
    if not text:
        raise BadRequestError(f"{field}: must not be empty", extra={"field": field})
    if readable_chars(text) == 0:
        raise BadRequestError(f"{field}: contains no readable text", extra={"field": field})
    found = find_pasted_secret(text)
    if found is not None:  # never copied into a graph, a blueprint or the chat history
        raise UnprocessableError(refusal(found, field=field, zh=detect_language(text) == "zh"),
                                 extra={"field": field, "secret": found[0], "credential_name": found[1]})
    return text


CACHE_SIZE = 512  # offline generations kept per catalog (~20 KiB each: ~11 MiB when full)


class _Results:
    """A bounded LRU of offline generations, keyed by (cleaned prompt, encoded preferences)."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[str, bytes], OfflineGeneration] = OrderedDict()
        self._lock = threading.Lock()  # the CLI and evals may generate from threads

    def get(self, key: tuple[str, bytes]) -> OfflineGeneration | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, bytes], value: OfflineGeneration) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > CACHE_SIZE:
                self._items.popitem(last=False)


_results: weakref.WeakKeyDictionary[Any, _Results] = weakref.WeakKeyDictionary()


class GenerationService:
    def __init__(self, catalog: Any, settings: Settings | None = None, *, pool: GenerationPool | None = None) -> None:
        self.catalog = catalog
        self.settings = settings
        # offline generations in worker processes once it is ready (pilot.generation.offload), when
        # its processes load this catalog (a runtime given another catalog generates inline)
        self.pool = pool if pool is not None and pool.serves(catalog) else None
        # Template candidates (recommendations, recipes) come from the offline analyzer; with a
        # key the one LLM call of a generation goes to planning the workflow itself.
        self.analyzer = OfflineAnalyzer(catalog)
        self.planner = Planner(settings.llm if settings else None)

    async def analyze(self, prompt: str) -> WorkflowBlueprint:
        """The blueprint (template candidates, entities) with the request's plan attached."""
        text = check_prompt(prompt)
        if self.pool is not None and self._offline:
            made = await self.pool.generate(text, None)
            if made is not None:
                return made.blueprint
        return await self._analyzed(text)

    @property
    def _offline(self) -> bool:
        return self.settings is not None and not self.settings.llm.enabled

    async def _analyzed(self, text: str) -> WorkflowBlueprint:
        return with_plan(self.analyzer.analyze(text), await self.planner.plan(text), self.catalog)

    async def generate(self, prompt: str, *, preferences: GeneratePreferences | None = None, save: bool = True,
                       workflows: Any = None, knowledge: KnowledgeSnapshots | None = None) -> GenerateResponse:
        """Analyse, generate, rank, estimate and (with ``workflows``, a WorkflowService) save.
        With ``knowledge`` the workspace's knowledge bases are read through that cache."""
        text = check_prompt(prompt)
        made = await self._generated(text, preferences)
        blueprint, graph = made.blueprint, made.graph
        if workflows is not None and has_knowledge_steps(graph):  # point them at a base the workspace has, when one fits
            session, workspace_id = workflows.session, workflows.workspace_id
            if knowledge is not None:
                bases = list((await knowledge.get(session, workspace_id)).bases)
            else:
                bases, _ = await knowledge_summaries(session, workspace_id, limit=SNAPSHOT_LIMIT)
            graph = fit_knowledge_bases(graph, text, bases)
        if save and workflows is not None:
            stored = await workflows.create(name=blueprint.title, graph=graph, description=made.description,
                                            template_id=blueprint.template_id)
            workflow, wid = GeneratedWorkflow.from_stored(stored), stored.id
        else:
            workflow = GeneratedWorkflow(id=None, name=blueprint.title, description=made.description,
                                         template_id=blueprint.template_id, nodes=graph.nodes, edges=graph.edges,
                                         settings=graph.settings)
            wid = None
        return GenerateResponse(workflow_id=wid, workflow=workflow, blueprint=blueprint,
                                recommendations=made.recommendations,
                                estimate=made.estimate if graph is made.graph else estimate(graph, self.settings))

    async def _generated(self, text: str, preferences: GeneratePreferences | None) -> OfflineGeneration:
        """The workspace-independent part of :meth:`generate`, from the cache when it is pure
        (offline planner; the estimate then prices nothing, so the settings do not matter)."""
        offline = self._offline
        results = None
        if offline:
            try:
                results = _results.setdefault(self.catalog, _Results())
            except TypeError:  # a catalog that cannot be weakly referenced: not cached
                results = None
        key = (text, msgspec.json.encode(preferences) if preferences is not None else b"")
        found = results.get(key) if results is not None else None
        if found is not None:
            return found
        made = await self.pool.generate(text, preferences) if offline and self.pool is not None else None
        if made is None:  # with an LLM, without a pool, or before the pool has started
            made = finish(self.catalog, await self._analyzed(text), preferences, self.settings, offline=offline)
        if results is not None:
            results.put(key, made)
        return made

    def rank(self, prompt: str) -> WorkflowBlueprint:
        """The template candidates for a request, without a plan (offline, a few ms)."""
        return self.analyzer.analyze(check_prompt(prompt))

    async def recommend(self, prompt: str, limit: int = 3):
        blueprint = self.rank(prompt)
        return recommendations(blueprint, self.catalog, limit)


def timed(fn, *args) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t0) * 1000
