"""Bounds for the jinja2 sandbox: work, time and size budgets for one render or evaluation.

jinja2's sandbox stops templates from reaching *outside* (dunder attributes, unsafe callables)
but not from burning the process: ``{% for i in range(12000) %}{% for j in range(12000) %}``
spins for seconds and ``'a' * 10**8`` allocates 100 MB. Every render or evaluation therefore runs
under a :class:`Budget`:

- **operations**: each call, attribute/item access, intercepted operator and output chunk costs
  one unit, and ``range(n)`` costs ``n`` (so nested loops over ranges are charged for every
  inner iteration), up to :attr:`RenderLimits.max_ops`;
- **time**: the deadline is checked while charging (cheap, cooperative), and renders that can
  loop run in their own thread where a watchdog interrupts them (:mod:`pilot.engine.nodes.rendering`);
- **size**: rendered output, and any string or list an operator, method or filter would build,
  is capped at :attr:`RenderLimits.max_output_chars` *before* it is allocated.

Exceeding any of them raises :class:`TemplateLimitError`, which nodes report as a clear failure.
The budget lives in a thread-local because jinja2 calls the sandbox hooks without our context.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable


class TemplateLimitError(Exception):
    """A template exceeded its work, time or size budget (``work``: operations or time)."""

    def __init__(self, message: str, *, work: bool = False) -> None:
        super().__init__(message)
        self.work = work


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """Per render/evaluation limits (defaults are generous for real prompts and payloads)."""

    max_ops: int = 1_000_000
    time_s: float = 2.0
    max_output_chars: int = 2_000_000
    max_range: int = 100_000


DEFAULT_LIMITS = RenderLimits()


class Budget:
    """The remaining allowance of one render; charged by the sandbox hooks."""

    __slots__ = ("ops_left", "deadline", "limits", "_tick")

    def __init__(self, limits: RenderLimits = DEFAULT_LIMITS, *, time_s: float | None = None) -> None:
        self.limits = limits
        self.ops_left = limits.max_ops
        self.deadline = time.monotonic() + (limits.time_s if time_s is None else min(time_s, limits.time_s))
        self._tick = 0

    def charge(self, units: int = 1) -> None:
        self.ops_left -= units
        if self.ops_left < 0:
            raise TemplateLimitError(f"template exceeded its budget of {self.limits.max_ops:,} operations", work=True)
        self._tick += 1
        if self._tick & 255 == 0 or units > 1:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(f"template exceeded its time budget of {self.limits.time_s:g}s", work=True)

    def check_size(self, size: int, what: str = "result") -> None:
        if size > self.limits.max_output_chars:
            raise TemplateLimitError(
                f"template {what} would be {size:,} items long (limit {self.limits.max_output_chars:,})"
            )


_local = threading.local()


def current() -> Budget:
    """The budget of the render running on this thread. Every entry point of
    :mod:`pilot.core.templating` opens a :class:`budget_scope`; outside one (never in practice)
    each charge gets a fresh default budget, so nothing accumulates across renders."""
    budget = getattr(_local, "budget", None)
    return budget if budget is not None else Budget()


class budget_scope:
    """``with budget_scope(limits, time_s=...)``: the budget for one render on this thread."""

    __slots__ = ("_budget", "_saved")

    def __init__(self, limits: RenderLimits = DEFAULT_LIMITS, *, time_s: float | None = None) -> None:
        self._budget = Budget(limits, time_s=time_s)

    def __enter__(self) -> Budget:
        self._saved = getattr(_local, "budget", None)
        _local.budget = self._budget
        return self._budget

    def __exit__(self, *exc: object) -> None:
        _local.budget = self._saved


# ---------------------------------------------------------------- size predictions


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, list, tuple)) else None


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``*``, ``+`` and ``**`` whose result would exceed the size budget."""
    budget = current()
    budget.charge()
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            n = _length(seq)
            if n is not None and isinstance(times, int) and not isinstance(times, bool):
                budget.check_size(n * max(times, 0))
    elif operator == "%" and isinstance(left, str):
        budget.check_size(_format_size(left, right))
    elif operator == "+":
        a, b = _length(left), _length(right)
        if a is not None and b is not None:
            budget.check_size(a + b)
    elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        if abs(left).bit_length() * right > 64 * budget.limits.max_output_chars // 1000:
            raise TemplateLimitError("template exponent too large")


def budget_iter(iterable: Any) -> Any:
    """Iterate a ``{% for %}`` loop's items, charging one unit per iteration."""
    budget = current()
    for item in iterable:
        budget.charge()
        yield item


def budget_concat(parts: tuple[Any, ...]) -> str:
    """``a ~ b ~ c`` (jinja2's ``str_join``) with the result's size checked before joining."""
    budget = current()
    texts = [p if isinstance(p, str) else str(p) for p in parts]
    budget.charge()
    budget.check_size(sum(len(t) for t in texts))
    return "".join(texts)


_DIGITS = re.compile(r"\d+")


def _format_size(fmt: str, args: Any) -> int:
    """Over-estimate of ``fmt % args`` / ``fmt.format(*args)``: widths are the numbers in ``fmt``."""
    values = args if isinstance(args, (tuple, list)) else (args,)
    return len(fmt) + sum(int(d) for d in _DIGITS.findall(fmt)[:64]) + sum(len(str(v)) for v in values)


# str methods that can build a string much longer than their inputs, with the predicted length.
_STR_GROWTH: dict[str, Callable[..., int]] = {
    "center": lambda s, width=0, *a: width if isinstance(width, int) else 0,
    "ljust": lambda s, width=0, *a: width if isinstance(width, int) else 0,
    "rjust": lambda s, width=0, *a: width if isinstance(width, int) else 0,
    "zfill": lambda s, width=0, *a: width if isinstance(width, int) else 0,
    "expandtabs": lambda s, tabsize=8, *a: len(s) + s.count("\t") * (tabsize if isinstance(tabsize, int) else 8),
    "replace": lambda s, old="", new="", *a: len(s) + (s.count(old) if old else len(s) + 1) * len(new) if isinstance(old, str) and isinstance(new, str) else 0,
    "join": lambda s, items=(), *a: len(s) * len(items) if hasattr(items, "__len__") else 0,
    "format": lambda s, *a, **k: _format_size(s, (*a, *k.values())),
}


def check_call(obj: Any, args: tuple[Any, ...]) -> None:
    """Charge a call and refuse str methods whose result would exceed the size budget."""
    budget = current()
    budget.charge()
    # jinja2 wraps str.format in a function of its own; the bound method is its __wrapped__.
    owner = getattr(obj, "__self__", None) or getattr(getattr(obj, "__wrapped__", None), "__self__", None)
    if isinstance(owner, str):
        predict = _STR_GROWTH.get(getattr(obj, "__name__", ""))
        if predict is not None:
            try:
                budget.check_size(predict(owner, *args))
            except TypeError:  # wrong arguments: let the call itself raise its own error
                pass


def bounded_range(*args: int) -> range:
    """``range`` that refuses more than ``max_range`` items and charges one unit per item."""
    result = range(*args)
    budget = current()
    if len(result) > budget.limits.max_range:
        raise TemplateLimitError(f"range of {len(result):,} items exceeds the limit of {budget.limits.max_range:,}")
    budget.charge(max(1, len(result)))
    return result


def bounded_filter(filter_fn: Callable[..., Any], predict: Callable[..., int]) -> Callable[..., Any]:
    """Wrap a jinja2 filter so a predicted oversized result is refused before it is built."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        budget.charge()
        value_args = args[1:] if hasattr(filter_fn, "jinja_pass_arg") else args  # drop the context
        try:
            budget.check_size(predict(*value_args, **kwargs))
        except TypeError:
            pass
        return filter_fn(*args, **kwargs)

    wrapper.__name__ = getattr(filter_fn, "__name__", "filter")
    if hasattr(filter_fn, "jinja_pass_arg"):  # keep jinja2's pass_context / pass_eval_context marker
        wrapper.jinja_pass_arg = filter_fn.jinja_pass_arg  # type: ignore[attr-defined]
    return wrapper


def _text_len(value: Any) -> int:
    return len(value) if isinstance(value, str) else len(str(value)) if isinstance(value, (int, float)) else 0


# Filters that can grow their input, with predicted result sizes. ``s`` is the filtered value.
FILTER_GROWTH: dict[str, Callable[..., int]] = {
    "center": lambda s, width=80, *a, **k: max(_text_len(s), width if isinstance(width, int) else 0),
    "indent": lambda s, width=4, *a, **k: _text_len(s) + (str(s).count("\n") + 1) * (width if isinstance(width, int) else len(str(width))),
    "join": lambda s, d="", *a, **k: len(d) * len(s) if hasattr(s, "__len__") and isinstance(d, str) else 0,
    "replace": lambda s, old="", new="", *a, **k: _text_len(s) + (str(s).count(old) if old else _text_len(s) + 1) * len(new) if isinstance(new, str) and isinstance(old, str) else 0,
    "wordwrap": lambda s, *a, **k: 2 * _text_len(s),
    "format": lambda s, *a, **k: _format_size(str(s), (*a, *k.values())),
}


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002 - jinja2's names
    """jinja2's ``lipsum`` with at most 50 paragraphs of at most 200 words."""
    from jinja2.utils import generate_lorem_ipsum

    current().charge(1)
    if n > 50 or max > 200 or min > max:
        raise TemplateLimitError("lipsum is limited to 50 paragraphs of at most 200 words")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)
