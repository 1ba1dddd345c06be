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
from typing import Any, NamedTuple

import jinja2
from jinja2 import meta, nodes as jnodes
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from pilot.core import template_limits as limits
from pilot.core.codec import NotJSONError, dumps_str, to_json_value


class TemplateError(Exception):
    """A template failed to compile or render (not a security problem)."""


class TemplateSecurityError(TemplateError):
    """A template tried to reach outside the sandbox (dunder attributes, unsafe callables, ...)."""


class TemplateLimitExceeded(TemplateError):
    """A template exceeded its work, time or size budget (see :mod:`pilot.core.template_limits`).

    ``work`` is True when the operation or time budget ran out (a larger budget may succeed),
    False for a size limit (the result itself is too large)."""

    def __init__(self, message: str, *, work: bool = False) -> None:
        super().__init__(message)
        self.work = work

    def __reduce__(self):  # crosses from render processes: keep ``work`` when pickled
        return (_limit_exceeded, (str(self), self.work))


def _limit_exceeded(message: str, work: bool) -> "TemplateLimitExceeded":
    return TemplateLimitExceeded(message, work=work)


def _tojson(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):  # say which field is missing, not how encoding failed
        raise TypeError(f"tojson: '{value._undefined_name or 'the value'}' is not in the data (no such field)")
    return dumps_str(value)


class _BudgetedCodeGenerator(CodeGenerator):
    """Charges what the sandbox hooks never see: loop iterations and ``~`` concatenation.

    jinja2 compiles ``{% for %}`` to a plain Python loop and ``a ~ b`` to ``str_join``; neither
    passes through the sandbox, so a nested loop with an empty body, or a string doubled by
    ``~`` forty times, would escape every budget."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loop_iterables: set[int] = set()  # ids of For.iter nodes still to be wrapped

    def visit_For(self, node: jnodes.For, frame: Any) -> None:
        # jinja2 forbids custom node types, so the iterable is wrapped when it is visited.
        self._loop_iterables.add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node: jnodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) in self._loop_iterables:
            self._loop_iterables.discard(id(node))
            self.write("environment.budget_iter(")
            super().visit(node, *args, **kwargs)
            self.write(")")
            return None
        return super().visit(node, *args, **kwargs)

    def visit_Concat(self, node: jnodes.Concat, frame: Any) -> None:
        self.write("environment.budget_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _StrictSandbox(ImmutableSandboxedEnvironment):
    """Raise on unsafe attribute access instead of returning a (silently empty) Undefined, and
    charge every call, attribute access and growing operator to the render's budget
    (:mod:`pilot.core.template_limits`)."""

    # Intercepted operators are also never constant-folded at compile time, so ``'a' * 10**8``
    # cannot allocate while a template is merely being compiled.
    intercepted_binops = frozenset({"*", "+", "**", "%"})
    code_generator_class = _BudgetedCodeGenerator
    budget_iter = staticmethod(limits.budget_iter)
    budget_concat = staticmethod(limits.budget_concat)

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        limits.check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - jinja2's signature
        limits.check_call(__obj, args)
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        limits.current().charge()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        limits.current().charge()
        return super().getitem(obj, argument)


def _bound(env: ImmutableSandboxedEnvironment) -> ImmutableSandboxedEnvironment:
    env.globals["range"] = limits.bounded_range
    env.globals["lipsum"] = limits.bounded_lipsum
    for name, predict in limits.FILTER_GROWTH.items():
        env.filters[name] = limits.bounded_filter(env.filters[name], predict)
    env.filters["tojson"] = _tojson
    env.filters["json"] = _tojson
    return env


def _make_env(undefined: type[jinja2.Undefined]) -> ImmutableSandboxedEnvironment:
    return _bound(_StrictSandbox(undefined=undefined, autoescape=False, keep_trailing_newline=True))


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


def render(src: str, context: dict[str, Any], *, budget: limits.RenderLimits = limits.DEFAULT_LIMITS) -> str:
    """Render a jinja2 template string in the sandbox, within a work/time/size budget.

    Output is produced chunk by chunk so its size (and the clock) is checked as it grows."""
    with limits.budget_scope(budget) as budget:
        try:
            template = _compile_template(src)
            parts: list[str] = []
            size = 0
            for chunk in template.generate(**context):
                size += len(chunk)
                budget.check_size(size, "output")
                budget.charge()
                parts.append(chunk)
            return "".join(parts)
        except limits.TemplateLimitError as exc:
            raise TemplateLimitExceeded(str(exc), work=exc.work) from exc
        except SecurityError as exc:
            raise TemplateSecurityError(f"template refused by the sandbox: {exc}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template error: {exc}") from exc
        except RecursionError as exc:
            raise TemplateLimitExceeded("template recursion is too deep") from exc
        except Exception as exc:  # e.g. {% include %} without a loader, TypeError in a filter
            raise TemplateError(f"template failed: {type(exc).__name__}: {exc}") from exc


def evaluate(expr: str, context: dict[str, Any], *, budget: limits.RenderLimits = limits.DEFAULT_LIMITS) -> Any:
    """Evaluate an expression (bare or one ``{{ }}`` block) and return its native value."""
    inner = _unwrap(expr)
    try:
        with limits.budget_scope(budget):
            value = _compile_expression(inner)(**context)
    except limits.TemplateLimitError as exc:
        raise TemplateLimitExceeded(f"expression {inner!r}: {exc}", work=exc.work) from exc
    except RecursionError as exc:
        raise TemplateLimitExceeded(f"expression {inner!r} recursed too deeply") from exc
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
_bound(_param_env)
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
        with limits.budget_scope():
            return _render_param_source(src, context)
    except limits.TemplateLimitError as exc:
        raise TemplateLimitExceeded(f"parameter template: {exc}", work=exc.work) from exc
    except SecurityError as exc:
        raise TemplateSecurityError(f"parameter template refused by the sandbox: {exc}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"parameter template error: {exc}") from exc


def _render_param_source(src: str, context: dict[str, Any]) -> Any:
    m = _PARAM_SINGLE_BLOCK.match(src)
    if m and "[[" not in m.group(1) and "]]" not in m.group(1):
        value = _compile_param_expression(m.group(1).strip())(**context)
        if isinstance(value, jinja2.Undefined):
            raise TemplateError(f"parameter expression {m.group(1).strip()!r} is undefined")
        return value
    return _compile_param_template(src).render(**context)


def is_expression(src: str) -> bool:
    """Exactly one ``{{ … }}`` block (``"{{ a }} / {{ b }}"`` is a template, not an expression)."""
    m = _SINGLE_BLOCK.match(src)
    return bool(m) and "{{" not in m.group(1) and "}}" not in m.group(1)


class _Facts(NamedTuple):
    """What validation checks about one template string (one parse for both)."""

    error: str | None
    nodes: frozenset[str]


_PLAIN = _Facts(None, frozenset())


def _plain(src: str, expression: bool) -> bool:
    """No tag can start: plain text (most prompts' static parts) needs no parse."""
    return not expression and "{" not in src


def _parse(src: str, expression: bool) -> jnodes.Template:
    """The AST the static checks read; an expression is parsed as ``{{ expr }}``."""
    return _strict_env.parse("{{ " + _unwrap(src) + " }}" if expression else src)


# Static checks are cached: validation re-checks the same template strings on every
# generate/save/chat turn, and parsing dominates generation time otherwise. A new string is
# parsed once for its syntax error and the node ids it references.
_BLOCK = re.compile(r"\{\{(.*?)\}\}", re.S)
_NOT_SIMPLE = re.compile(r"[{}'\"]|^\s*[-+]|[-+]\s*$")  # nested braces, strings, whitespace control


def _simple_blocks(src: str) -> list[str] | None:
    """The ``{{ … }}`` blocks of a template that is only text and plain expression blocks, else
    None. Such a template is valid exactly when each block is, and references what its blocks do:
    generated templates are new text around the same few blocks (``{{ nodes.fetch.output }}``),
    so each block is parsed once per process instead of the whole string once per string."""
    if "{%" in src or "{#" in src:
        return None
    blocks = _BLOCK.findall(src)
    rest = _BLOCK.sub("", src)
    if "{{" in rest or "{%" in rest or "{#" in rest or any(_NOT_SIMPLE.search(b) for b in blocks):
        return None
    return blocks


# ``inputs.payload``, ``nodes.fetch.output.items``: the most common expression, and one whose facts
# need no parse (a name path is valid syntax, and references the node right after ``nodes.``).
# Words the parser reads as operators or literals are left to it.
_NAME_PATH = re.compile(r"[ \t\r\n]*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)[ \t\r\n]*")
_PARSER_WORDS = frozenset({"and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None"})


# ``nodes.classify.output.category == "billing"``, ``inputs.payload.value > 5000``: a branch's
# condition, as the generator writes them (a name path compared with a literal; a string without
# braces, which the lexer could read as the block's end, or escapes).
_COMPARED = re.compile(r"[ \t\r\n]*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)[ \t\r\n]*(?:==|!=|>=|<=|>|<)"
                       r"[ \t\r\n]*(?:-?[0-9]+(?:\.[0-9]+)?|'[^'\\{}]*'|\"[^\"\\{}]*\"|true|false|none|True|False|None)[ \t\r\n]*")


def _unparsed_facts(inner: str) -> _Facts | None:
    """The facts of ``{{ inner }}`` when ``inner`` is a plain name path, or one compared with a
    literal; else None (the parser decides)."""
    m = _NAME_PATH.fullmatch(inner) or _COMPARED.fullmatch(inner)
    if m is None:
        return None
    parts = m.group(1).split(".")
    if any(part in _PARSER_WORDS for part in parts):
        return None
    return _Facts(None, frozenset({parts[1]}) if parts[0] == "nodes" and len(parts) > 1 else frozenset())


@lru_cache(maxsize=8192)
def _facts(src: str, expression: bool) -> _Facts:
    if _plain(src, expression):
        return _PLAIN
    if expression:
        found = _unparsed_facts(_unwrap(src))
    else:
        found = _unparsed_facts(src[2:-2]) if src.startswith("{{") and src.endswith("}}") and len(src) >= 4 else None
    if found is not None:
        return found
    blocks = None if expression else _simple_blocks(src)
    if blocks is not None and blocks != [src[2:-2]]:  # not one block alone: that is parsed below
        parts = [_facts("{{" + block + "}}", False) for block in blocks]
        if all(part.error is None for part in parts):  # an error is reported by the whole parse (its line)
            return _Facts(None, frozenset().union(*(part.nodes for part in parts)))
    return _parsed_facts(src, expression)


def _parsed_facts(src: str, expression: bool) -> _Facts:
    """:func:`_facts` by parsing the whole string."""
    try:
        tree = _parse(src, expression)
    except jinja2.TemplateSyntaxError as exc:
        return _Facts(f"{exc.message} (line {exc.lineno})", frozenset())
    found: set[str] = set()
    for node in tree.find_all((jnodes.Getattr, jnodes.Getitem)):
        target = node.node
        if isinstance(target, jnodes.Name) and target.name == "nodes":
            if isinstance(node, jnodes.Getattr):
                found.add(node.attr)
            elif isinstance(node.arg, jnodes.Const) and isinstance(node.arg.value, str):
                found.add(node.arg.value)
    return _Facts(None, frozenset(found))


def syntax_error(src: str, *, expression: bool = False) -> str | None:
    """Return a message if ``src`` does not compile, else None."""
    return _facts(src, expression).error


def referenced_nodes(src: str, *, expression: bool = False) -> frozenset[str]:
    """Node ids referenced as ``nodes.<id>`` or ``nodes['<id>']`` (best effort, static)."""
    return _facts(src, expression).nodes


@lru_cache(maxsize=8192)
def undeclared_names(src: str, *, expression: bool = False) -> frozenset[str]:
    """Top-level variables a template reads (``inputs``, ``nodes``, ``item``, ...). Not part of
    :func:`_facts`: jinja2 finds them with a code-generation pass (~0.3 ms), which validation
    does not need."""
    if _plain(src, expression):
        return frozenset()
    try:
        return frozenset(meta.find_undeclared_variables(_parse(src, expression)))
    except jinja2.TemplateSyntaxError:
        return frozenset()


def resolve(src: str, context: dict[str, Any], *, budget: limits.RenderLimits = limits.DEFAULT_LIMITS) -> Any:
    """Resolve a *value field* (outputs, loop items, tool arguments).

    - exactly one ``{{ expr }}`` block → the expression's native value (lists stay lists);
    - other text containing ``{{``/``{%`` → the rendered string;
    - plain text → itself (a literal).
    """
    if is_expression(src):
        return evaluate(src, context, budget=budget)
    if "{{" in src or "{%" in src:
        return render(src, context, budget=budget)
    return src


def value_syntax_error(src: str) -> str | None:
    """Syntax check matching :func:`resolve`'s interpretation of ``src``."""
    if is_expression(src):
        return syntax_error(src, expression=True)
    return syntax_error(src)
