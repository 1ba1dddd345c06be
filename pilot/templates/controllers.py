"""HTTP API of the template library: ``/api/templates`` (global catalogue, authenticated).

``POST /api/templates/recommend`` is owned by the generation domain (it ranks templates with the
prompt analyzer) and is registered there, not here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from litestar import Controller, get
from litestar.params import FromPath, FromQuery, Parameter

from pilot.dependencies import CurrentWorkspace, RuntimeDep
from pilot.runtime import Runtime
from pilot.templates.schemas import Template, TemplateList

if TYPE_CHECKING:
    from pilot.templates.catalog import TemplateCatalog

TagFilter = Annotated[str | None, Parameter(max_length=64, description="only templates with this tag")]
TextFilter = Annotated[
    str | None,
    Parameter(
        max_length=200, description="case-insensitive match on id, names, descriptions (en/zh) and tags"
    ),
]


def catalog_of(runtime: Runtime) -> TemplateCatalog:
    """The runtime's catalogue (loaded and validated on first use: :class:`pilot.runtime.OnFirstUse`)."""
    return runtime.templates


class TemplateController(Controller):
    """Browse the workflow templates (the same for every workspace)."""

    path = "/api/templates"
    tags = ("templates",)

    @get("/")
    async def list_templates(
        self,
        runtime: RuntimeDep,
        workspace: CurrentWorkspace,
        tag: FromQuery[TagFilter] = None,
        q: FromQuery[TextFilter] = None,
    ) -> TemplateList:
        """Template summaries (no graphs), optionally filtered by ``tag`` and text ``q``."""
        items = catalog_of(runtime).summaries(tag=tag, q=q)
        return TemplateList(items=items, total=len(items))

    @get("/{template_id:str}")
    async def get_template(
        self, template_id: FromPath[str], runtime: RuntimeDep, workspace: CurrentWorkspace
    ) -> Template:
        """One template with its parameters, example requests and default graph (laid out)."""
        return catalog_of(runtime).get(template_id)
