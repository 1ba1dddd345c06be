"""Sandboxed jinja2, the only template engine πlot uses (node inputs, conditions, template params).

- ``render(src, ctx)`` → str, for prompts, URLs, bodies.
- ``evaluate(expr, ctx)`` → native JSON value (``range(3)`` → ``[0, 1, 2]``), for conditions,
  loop items, outputs; a value with no JSON form (a function) is a :class:`TemplateError`. ``expr`` may
  be a bare expression (``inputs.n > 3``) or one ``{{ … }}`` block.
- ``syntax_error(src)`` / ``referenced_nodes(src)`` for static validation.

A template that tries to escape the sandbox raises :class:`TemplateSecurityError`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import jinja2
from jinja2 import meta, nodes as jnodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from pilot.core.codec import NotJSONError, dumps_str, to_json_value


class TemplateError(Exception):
    """A template failed to compile or render (not a security problem)."""


class TemplateSecurityError(TemplateError):
    """A template tried to reach outside the sandbox (dunder attributes, unsafe callables, ...)."""


def _tojson(value: Any) -> str:
    return dumps_str(value)


class _StrictSandbox(ImmutableSandboxedEnvironment):
    """Raise on unsafe attribute access instead of returning a (silently empty) Undefined."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")


def _make_env(undefined: type[jinja2.Undefined]) -> ImmutableSandboxedEnvironment:
    env = _StrictSandbox(undefined=undefined, autoescape=False, keep_trailing_newline=True)
    env.filters["tojson"] = _tojson
    env.filters["json"] = _tojson
    return env


# Lenient at run time for prompts (a missing optional input renders empty) but strict for
# expressions, where silently-undefined values would pick wrong branches.
_render_env = _make_env(jinja2.ChainableUndefined)
_strict_env = _make_env(jinja2.StrictUndefined)

_SINGLE_BLOCK = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.S)


@lru_cache(maxsize=4096)
def _compile_template(src: str) -> jinja2.Template:
    return _render_env.from_string(src)


@lru_cache(maxsize=4096)
def _compile_expression(expr: str):
    return _strict_env.compile_expression(expr, undefined_to_none=False)


def _unwrap(expr: str) -> str:
    m = _SINGLE_BLOCK.match(expr)
    return m.group(1).strip() if m and "{{" not in m.group(1) else expr.strip()


def render(src: str, context: dict[str, Any]) -> str:
    """Render a jinja2 template string in the sandbox."""
    try:
        return _compile_template(src).render(**context)
    except SecurityError as exc:
        raise TemplateSecurityError(f"template refused by the sandbox: {exc}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template error: {exc}") from exc


def evaluate(expr: str, context: dict[str, Any]) -> Any:
    """Evaluate an expression (bare or one ``{{ }}`` block) and return its native value."""
    inner = _unwrap(expr)
    try:
        value = _compile_expression(inner)(**context)
    except SecurityError as exc:
        raise TemplateSecurityError(f"expression refused by the sandbox: {exc}") from exc
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"undefined value in expression {inner!r}: {exc}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"expression error in {inner!r}: {exc}") from exc
    except Exception as exc:  # e.g. TypeError comparing str > int
        raise TemplateError(f"expression {inner!r} failed: {type(exc).__name__}: {exc}") from exc
    if isinstance(value, jinja2.Undefined):
        raise TemplateError(f"expression {inner!r} is undefined")
    try:  # the boundary: expression results enter events and rows, so they must be JSON
        return to_json_value(value)
    except NotJSONError as exc:
        raise TemplateError(f"expression {inner!r} did not produce a JSON value: {exc}") from exc


# ---------------------------------------------------------------- template-library parameters
# Template graphs hold run-time jinja2 (``{{ inputs.x }}``) in their node configs, so the
# *instantiation-time* parameters use different delimiters: ``[[ params.x ]]``, ``[% if %]``,
# ``[# comment #]``. Same sandbox, strict about undefined names (a typo fails loudly).


class _ParamSandbox(_StrictSandbox):
    pass


_param_env = _ParamSandbox(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    trim_blocks=True,  # a `[% if %]` on its own line leaves no blank line in the prompt
    lstrip_blocks=True,
    variable_start_string="[[",
    variable_end_string="]]",
    block_start_string="[%",
    block_end_string="%]",
    comment_start_string="[#",
    comment_end_string="#]",
)
_param_env.filters["tojson"] = _tojson
_PARAM_SINGLE_BLOCK = re.compile(r"^\s*\[\[(.*)\]\]\s*$", re.S)


@lru_cache(maxsize=4096)
def _compile_param_template(src: str) -> jinja2.Template:
    return _param_env.from_string(src)


@lru_cache(maxsize=1024)
def _compile_param_expression(expr: str):
    return _param_env.compile_expression(expr, undefined_to_none=False)


def render_params(src: str, params: dict[str, Any]) -> Any:
    """Render a template-library string with ``[[ ]]`` / ``[% %]`` parameters (``params.<name>``).

    A string that is exactly one ``[[ expr ]]`` block returns the expression's *native* value
    (so ``top_k: "[[ params.top_k ]]"`` stays an int); other strings render to text, leaving
    run-time ``{{ … }}`` untouched."""
    if "[[" not in src and "[%" not in src and "[#" not in src:
        return src
    # A namespace, not a dict: ``params.items`` must be the parameter, not ``dict.items``.
    context = {"params": SimpleNamespace(**params)}
    try:
        m = _PARAM_SINGLE_BLOCK.match(src)
        if m and "[[" not in m.group(1) and "]]" not in m.group(1):
            value = _compile_param_expression(m.group(1).strip())(**context)
            if isinstance(value, jinja2.Undefined):
                raise TemplateError(f"parameter expression {m.group(1).strip()!r} is undefined")
            return value
        return _compile_param_template(src).render(**context)
    except SecurityError as exc:
        raise TemplateSecurityError(f"parameter template refused by the sandbox: {exc}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"parameter template error: {exc}") from exc


def is_expression(src: str) -> bool:
    return bool(_SINGLE_BLOCK.match(src))


# Static checks are cached: validation re-checks the same template strings on every
# generate/save/chat turn, and parsing dominates generation time otherwise.
@lru_cache(maxsize=8192)
def syntax_error(src: str, *, expression: bool = False) -> str | None:
    """Return a message if ``src`` does not compile, else None."""
    try:
        if expression:
            _strict_env.parse("{{ " + _unwrap(src) + " }}")
        else:
            _render_env.parse(src)
    except jinja2.TemplateSyntaxError as exc:
        return f"{exc.message} (line {exc.lineno})"
    return None


def _ast(src: str, expression: bool) -> jnodes.Template:
    return _strict_env.parse("{{ " + _unwrap(src) + " }}" if expression else src)


@lru_cache(maxsize=8192)
def referenced_nodes(src: str, *, expression: bool = False) -> frozenset[str]:
    """Node ids referenced as ``nodes.<id>`` or ``nodes['<id>']`` (best effort, static)."""
    try:
        tree = _ast(src, expression)
    except jinja2.TemplateSyntaxError:
        return frozenset()
    found: set[str] = set()
    for node in tree.find_all((jnodes.Getattr, jnodes.Getitem)):
        target = node.node
        if isinstance(target, jnodes.Name) and target.name == "nodes":
            if isinstance(node, jnodes.Getattr):
                found.add(node.attr)
            elif isinstance(node.arg, jnodes.Const) and isinstance(node.arg.value, str):
                found.add(node.arg.value)
    return frozenset(found)


@lru_cache(maxsize=8192)
def undeclared_names(src: str, *, expression: bool = False) -> frozenset[str]:
    """Top-level variables a template reads (``inputs``, ``nodes``, ``item``, ...)."""
    try:
        return frozenset(meta.find_undeclared_variables(_ast(src, expression)))
    except jinja2.TemplateSyntaxError:
        return frozenset()


def resolve(src: str, context: dict[str, Any]) -> Any:
    """Resolve a *value field* (outputs, loop items, tool arguments).

    - exactly one ``{{ expr }}`` block → the expression's native value (lists stay lists);
    - other text containing ``{{``/``{%`` → the rendered string;
    - plain text → itself (a literal).
    """
    if is_expression(src):
        return evaluate(src, context)
    if "{{" in src or "{%" in src:
        return render(src, context)
    return src


def value_syntax_error(src: str) -> str | None:
    """Syntax check matching :func:`resolve`'s interpretation of ``src``."""
    if is_expression(src):
        return syntax_error(src, expression=True)
    return syntax_error(src)
