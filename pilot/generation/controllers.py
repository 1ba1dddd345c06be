"""HTTP API of generation: ``POST /api/workflows/generate`` and ``POST /api/templates/recommend``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from litestar import Controller, post
from litestar.params import JSONBody

from pilot.dependencies import CurrentWorkspace, DbSession, RuntimeDep
from pilot.generation.recommend import Recommendation  # noqa: F401 - OpenAPI schema
from pilot.generation.schemas import GenerateRequest, GenerateResponse, RecommendRequest, RecommendResponse
from pilot.readiness import check_graph
from pilot.runtime import Runtime
from pilot.workflows.model import WorkflowGraph
from pilot.workflows.service import WorkflowService

if TYPE_CHECKING:
    from pilot.generation.service import GenerationService


def generation_service(runtime: Runtime) -> GenerationService:
    # Imported at first use: the offline generator's modules and the service table compile ~1,000
    # patterns (~0.5 s of a cold start); the warm-up (pilot.startup.warm_up) loads them once the
    # server answers.
    from pilot.generation.service import GenerationService
    from pilot.templates.catalog import default_catalog

    catalog = runtime.templates if runtime.templates is not None else default_catalog()
    return GenerationService(catalog, runtime.settings, pool=runtime.generation_pool)


class GenerateController(Controller):
    path = "/api/workflows/generate"
    tags = ("generation",)

    @post("/", status_code=201)
    async def generate(self, data: JSONBody[GenerateRequest], db: DbSession, workspace: CurrentWorkspace,
                       runtime: RuntimeDep) -> GenerateResponse:
        """Turn a request (English or Chinese) into a validated workflow; saved unless ``save`` is false."""
        service = generation_service(runtime)
        response = await service.generate(data.prompt, preferences=data.preferences, save=data.save,
                                          workflows=WorkflowService(db, workspace.id), knowledge=runtime.knowledge_snapshots)
        # what a run of it still needs (pilot.readiness), in the request's language; advisory, so
        # the workspace's credentials, knowledge bases, tools and tables come from the caches
        graph = WorkflowGraph(nodes=response.workflow.nodes, edges=response.workflow.edges, settings=response.workflow.settings)
        readiness = await check_graph(db, workspace.id, graph, runtime.settings, response.blueprint.language,
                                      names=runtime.credential_names, knowledge=runtime.knowledge_snapshots,
                                      resources=runtime.resource_lookups)
        return msgspec.structs.replace(response, readiness=readiness)


class RecommendController(Controller):
    path = "/api/templates/recommend"
    tags = ("templates",)

    @post("/", status_code=200)
    async def recommend(self, data: JSONBody[RecommendRequest], workspace: CurrentWorkspace,
                        runtime: RuntimeDep) -> RecommendResponse:
        """The best-matching templates with a score (0..1) and a reason in the prompt's language."""
        items = await generation_service(runtime).recommend(data.prompt, data.limit)
        return RecommendResponse(items=items)
