"""The template library: loads ``templates/*.yaml``, validates every template, instantiates them.

Template graphs carry two kinds of jinja2:

- run-time ``{{ inputs.x }}`` / ``{{ nodes.<id>.output }}`` in node configs (left untouched here);
- instantiation-time ``[[ params.x ]]`` / ``[% if … %]`` (rendered by
  :func:`pilot.core.templating.render_params` in the same sandbox).

A string that is exactly ``"[[ params.x ]]"`` becomes the parameter's native value (numbers stay
numbers). Any node or edge may carry ``$if: "[[ <expr> ]]"``; it is dropped when the expression is
false, which lets one template switch e.g. its notification channel between Slack, email and a
webhook.

A template's optional ``plan`` (its recipe, a :class:`~pilot.generation.plan.WorkflowPlan` in the
generation IR) uses the same parameters; at load it is rendered with the defaults, decoded and
compiled, and a plan that does not is refused naming the file, like a broken graph.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec
import yaml

from pilot.core.errors import GraphValidationError, NotFoundError, PilotError, UnprocessableError
from pilot.core.templating import TemplateError, render_params
from pilot.generation.compiler import compile_plan
from pilot.generation.plan import WorkflowPlan, plan_from_builtins
from pilot.templates.schemas import Template, TemplateParameter, TemplateSource, TemplateSummary
from pilot.workflows.layout import apply_layout
from pilot.workflows.model import WorkflowGraph, graph_decoder, node_type
from pilot.workflows.validation import ensure_valid, iter_all_nodes

MIN_EXAMPLES = 5
INSTANCE_CACHE_SIZE = 256
CONDITIONAL_KEY = "$if"
MAX_STRING_PARAM = 4_000
# Parameter values are literal text: run-time jinja2 inside them would be evaluated by the engine.
_RUNTIME_JINJA = re.compile(r"\{\{|\{%|\{#")
_PARAM_REF = re.compile(r"params\.([A-Za-z_][A-Za-z0-9_]*)")


class TemplateLoadError(PilotError):
    """A template file is broken; the message names the file and the problem."""

    status_code = 500
    default_detail = "template library is broken"


def package_templates_dir() -> Path:
    """``<repo>/templates``, resolved relative to this package."""
    return Path(__file__).resolve().parents[2] / "templates"


# ---------------------------------------------------------------- parameters


def _check_value(param: TemplateParameter, value: Any) -> str | None:
    """Why ``value`` is not acceptable for ``param`` (None if it is)."""
    kind = param.type
    if kind == "string":
        if not isinstance(value, str):
            return "must be a string"
        if len(value) > MAX_STRING_PARAM:
            return f"must be at most {MAX_STRING_PARAM} characters"
        if _RUNTIME_JINJA.search(value):
            return "must be plain text (no '{{', '{%' or '{#')"
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
    elif kind == "boolean":
        if not isinstance(value, bool):
            return "must be true or false"
    elif kind == "array":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "must be a list of strings"
        if not value:
            return "must not be empty"
        if any(_RUNTIME_JINJA.search(v) or len(v) > MAX_STRING_PARAM for v in value):
            return "items must be short plain text (no '{{', '{%' or '{#')"
    if param.choices is not None and value not in param.choices:
        return f"must be one of: {', '.join(param.choices)}"
    if kind in ("integer", "number"):
        if param.minimum is not None and value < param.minimum:
            return f"must be >= {param.minimum:g}"
        if param.maximum is not None and value > param.maximum:
            return f"must be <= {param.maximum:g}"
    return None


def _render(value: Any, params: dict[str, Any]) -> Any:
    """Render every string of raw graph data; drop list items whose ``$if`` is false."""
    if isinstance(value, str):
        return render_params(value, params)
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict) and CONDITIONAL_KEY in item:
                cond = item[CONDITIONAL_KEY]
                if not (render_params(cond, params) if isinstance(cond, str) else cond):
                    continue
                item = {k: v for k, v in item.items() if k != CONDITIONAL_KEY}
            out.append(_render(item, params))
        return out
    if isinstance(value, dict):
        return {key: _render(val, params) for key, val in value.items()}
    return value


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


# ---------------------------------------------------------------- loading


def _load_file(path: Path) -> tuple[TemplateSource, Template]:
    def fail(problem: str) -> TemplateLoadError:
        return TemplateLoadError(f"template file {path.name}: {problem}")

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise fail(f"is not valid YAML: {exc}") from exc
    try:
        source = msgspec.convert(data, TemplateSource)
    except msgspec.ValidationError as exc:
        raise fail(str(exc)) from exc
    if source.id != path.stem:
        raise fail(f"id {source.id!r} does not match the file name (expected {path.stem!r})")
    for lang in ("en", "zh"):
        count = len(getattr(source.examples, lang))
        if count < MIN_EXAMPLES:
            raise fail(f"needs at least {MIN_EXAMPLES} example requests in '{lang}', has {count}")
    names = [p.name for p in source.parameters]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        raise fail(f"parameter {dup!r} is declared more than once")
    for param in source.parameters:
        if (why := _check_value(param, param.default)) is not None:
            raise fail(f"default of parameter {param.name!r} {why}")
    used = {m for s in _strings(source.graph) for m in _PARAM_REF.findall(s)}
    for name in sorted(set(names) - used):
        raise fail(f"parameter {name!r} is declared but never used in the graph")
    for name in sorted(used - set(names)):
        raise fail(f"the graph uses params.{name}, which is not declared under 'parameters'")
    for name in sorted({m for s in _strings(source.plan) for m in _PARAM_REF.findall(s)} - set(names)):
        raise fail(f"the plan uses params.{name}, which is not declared under 'parameters'")
    try:
        graph = _build_graph(source, {p.name: p.default for p in source.parameters})
    except TemplateError as exc:
        raise fail(str(exc)) from exc
    except GraphValidationError as exc:
        problems = "; ".join(getattr(p, "message", str(p)) for p in exc.problems)
        raise fail(f"graph is invalid with the default parameters: {problems}") from exc
    plan = _checked_plan(source, {p.name: p.default for p in source.parameters}, fail)
    template = Template(
        id=source.id,
        name=source.name,
        description=source.description,
        tags=source.tags,
        examples=source.examples,
        parameters=source.parameters,
        graph=graph,
        plan=plan,
    )
    return source, template


def _build_plan(source: TemplateSource, params: dict[str, Any]) -> WorkflowPlan | None:
    """The template's recipe rendered with ``params`` and decoded (``None`` when it has none)."""
    return None if source.plan is None else plan_from_builtins(_render(source.plan, params))


def _checked_plan(source: TemplateSource, params: dict[str, Any], fail: Any) -> WorkflowPlan | None:
    """The recipe with the default parameters; it must decode and compile (else ``fail``)."""
    try:
        plan = _build_plan(source, params)
    except TemplateError as exc:
        raise fail(f"plan: {exc}") from exc
    except msgspec.ValidationError as exc:
        raise fail(f"plan is not a valid workflow plan: {exc}") from exc
    if plan is not None:
        try:
            compile_plan(plan)
        except GraphValidationError as exc:
            problems = "; ".join(getattr(p, "message", str(p)) for p in exc.problems)
            raise fail(f"plan does not compile: {problems or exc.detail}") from exc
        except PilotError as exc:
            raise fail(f"plan does not compile: {exc.detail}") from exc
        except Exception as exc:  # a plan the compiler cannot handle is a broken template file
            raise fail(f"plan does not compile: {type(exc).__name__}: {exc}") from exc
    return plan


def _build_graph(source: TemplateSource, params: dict[str, Any]) -> WorkflowGraph:
    return apply_layout(ensure_valid(_render(source.graph, params)))


class TemplateCatalog:
    """The loaded, validated template library (immutable once loaded)."""

    def __init__(
        self, sources: dict[str, TemplateSource], templates: dict[str, Template], directory: Path
    ) -> None:
        self._sources = sources
        self._templates = templates
        self.directory = directory
        # Rendering + validation + layout costs 1-4 ms; the same (template, params) comes back
        # often (generation, chat refinement). Cached as JSON so every caller gets fresh objects.
        self._instances: OrderedDict[bytes, bytes] = OrderedDict()

    @classmethod
    def load(cls, directory: str | Path) -> TemplateCatalog:
        """Load and validate every ``*.yaml``/``*.yml`` file; raise TemplateLoadError on the first bad one."""
        directory = Path(directory)
        if not directory.is_dir():
            raise TemplateLoadError(f"template directory {directory} does not exist")
        sources: dict[str, TemplateSource] = {}
        templates: dict[str, Template] = {}
        files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
        if not files:
            raise TemplateLoadError(f"template directory {directory} holds no *.yaml files")
        for path in files:
            source, template = _load_file(path)
            if source.id in templates:
                raise TemplateLoadError(
                    f"template file {path.name}: id {source.id!r} is already defined by another file"
                )
            sources[source.id] = source
            templates[source.id] = template
        return cls(sources, templates, directory)

    def __len__(self) -> int:
        return len(self._templates)

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._templates

    def ids(self) -> list[str]:
        return list(self._templates)

    def all(self) -> list[Template]:
        """Every template, in file-name order."""
        return list(self._templates.values())

    def get(self, template_id: str) -> Template:
        try:
            return self._templates[template_id]
        except KeyError:
            raise NotFoundError(f"template {template_id!r} not found") from None

    def summaries(self, *, tag: str | None = None, q: str | None = None) -> list[TemplateSummary]:
        """Summaries filtered by exact tag and/or a case-insensitive text match (en or zh)."""
        needle = (q or "").strip().lower()
        out = []
        for t in self._templates.values():
            if tag and tag not in t.tags:
                continue
            if needle:
                haystack = " ".join(
                    [t.id, t.name.en, t.name.zh, t.description.en, t.description.zh, *t.tags]
                ).lower()
                if needle not in haystack:
                    continue
            out.append(summarize(t))
        return out

    def instantiate(self, template_id: str, params: dict[str, Any] | None = None) -> WorkflowGraph:
        """The template's graph rendered with ``params`` over the defaults, validated and laid out.

        Unknown parameter names, wrong types and values outside ``choices``/bounds raise
        UnprocessableError naming the parameter."""
        template = self.get(template_id)
        if not params:
            return template.graph
        values = _values(template, params)
        key = msgspec.json.encode([template_id, sorted(values.items())])
        if (cached := self._instances.get(key)) is not None:
            self._instances.move_to_end(key)
            return graph_decoder.decode(cached)
        try:
            graph = _build_graph(self._sources[template_id], values)
        except TemplateError as exc:
            raise UnprocessableError(
                f"template {template_id!r} could not be rendered with these parameters: {exc}"
            ) from exc
        except GraphValidationError as exc:
            raise GraphValidationError(
                exc.problems,
                detail=f"template {template_id!r} with these parameters gives an invalid graph: {exc.detail}",
            ) from exc
        self._instances[key] = msgspec.json.encode(graph)
        if len(self._instances) > INSTANCE_CACHE_SIZE:
            self._instances.popitem(last=False)
        return graph

    def plan(self, template_id: str, params: dict[str, Any] | None = None) -> WorkflowPlan | None:
        """The template's recipe (its job as a WorkflowPlan) with ``params`` over the defaults;
        ``None`` when the template has none. Bad parameters raise UnprocessableError, as in
        :meth:`instantiate`."""
        template = self.get(template_id)
        if not params or template.plan is None:
            return template.plan
        try:
            return _build_plan(self._sources[template_id], _values(template, params))
        except (TemplateError, msgspec.ValidationError) as exc:
            raise UnprocessableError(
                f"the plan of template {template_id!r} could not be rendered with these parameters: {exc}"
            ) from exc


def _values(template: Template, params: Any) -> dict[str, Any]:
    """The defaults overridden by ``params``; unknown names and bad values raise UnprocessableError."""
    if not isinstance(params, dict):
        raise UnprocessableError("params must be an object of parameter values")
    declared = {p.name: p for p in template.parameters}
    values = {p.name: p.default for p in template.parameters}
    for name, value in params.items():
        if name not in declared:
            expected = ", ".join(declared) or "none"
            raise UnprocessableError(
                f"unknown parameter {name!r} for template {template.id!r} (expected: {expected})",
                extra={"param": name},
            )
        if (why := _check_value(declared[name], value)) is not None:
            raise UnprocessableError(f"parameter {name!r} {why}", extra={"param": name})
        values[name] = value
    return values


def summarize(template: Template) -> TemplateSummary:
    types: list[str] = []
    for node in iter_all_nodes(template.graph):
        if (kind := node_type(node)) not in types:
            types.append(kind)
    return TemplateSummary(
        id=template.id,
        name=template.name,
        description=template.description,
        tags=template.tags,
        node_types=types,
        node_count=len(template.graph.nodes),
        parameters=[p.name for p in template.parameters],
    )


@lru_cache(maxsize=8)
def load_catalog(directory: str) -> TemplateCatalog:
    """Load a directory once per process (keyed by its resolved path)."""
    return TemplateCatalog.load(directory)


def default_catalog() -> TemplateCatalog:
    """The configured library (``PILOT_TEMPLATES_DIR`` or ``<repo>/templates``), loaded once."""
    from pilot.settings import get_settings

    return catalog_for(get_settings().app.templates_dir)


def catalog_for(directory: Path | None) -> TemplateCatalog:
    return load_catalog(str(Path(directory or package_templates_dir()).resolve()))
