"""Static checks of code-node source, for workflow validation (parent side; nothing is executed).

The source is compiled (not just parsed) with the interpreter the sandbox runs, so everything
Python reports before running (``return`` outside a function, bad ``nonlocal``, null bytes,
nesting too deep) is caught at save time with its line number.
"""

from __future__ import annotations

import warnings

LANGUAGES = ("python",)


def python_error(code: str) -> str | None:
    """``"line 3: invalid syntax"`` when ``code`` does not compile, else None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escape sequences: warnings, not errors
            compile(code, "<code>", "exec", dont_inherit=True)
    except SyntaxError as exc:  # IndentationError and TabError included
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "") if exc.lineno else "the code"
        return f"{where}: {exc.msg}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"the code cannot be compiled: {exc or type(exc).__name__}"
    return None


def code_problems(node_id: str, language: str, code: str, where: str = "") -> list[tuple[str, str]]:
    """``(problem code, message)`` pairs for one code node."""
    if language not in LANGUAGES:
        return [("unsupported_language", f"{where}node '{node_id}' config.language: {language!r} is not available on "
                                         f"this server; code nodes run {', '.join(LANGUAGES)}")]
    error = python_error(code)
    if error:
        return [("code_syntax", f"{where}node '{node_id}' config.code: Python syntax error at {error}")]
    return []
