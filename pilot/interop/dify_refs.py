"""πlot references → Dify value selectors and ``{{#node.var#}}`` text (the export direction).

Where a πlot reference points in the exported app: ``inputs.x`` is the start node's ``x`` (a chat
app's ``inputs.message`` is ``sys.query``), ``nodes.<llm>.output`` the LLM's ``text``, a code
node's ``output.result.k`` its output ``k``, an iteration's ``item`` its ``item``, a credential an
environment variable. A marker of an untranslated Dify reference is written back as the original.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import nodes as jn

from pilot.interop.textparts import Untranslatable, jinja_expression, jinja_parts, marker_original, ref_path

# Shapes the Dify import writes, read back as the plain reference they stand for.
_SHAPES = (re.compile(r"\((nodes\.\w+\.output\.body) if \1 is string else \1 \| tojson\)"),
           re.compile(r"\((nodes\.\w+\.output) \| map\(attribute='value'\) \| list\)"))


def normalize(src: str) -> str:
    """Replace the import's composite shapes by the reference they read."""
    for pattern in _SHAPES:
        src = pattern.sub(r"\1", src)
    return src


class DifyRefs:
    """Selectors of one exported graph (``by_id`` holds every node, loop bodies included)."""

    def __init__(self, by_id: dict[str, dict[str, Any]], loop_of: dict[str, str], start_id: str | None, chat: bool) -> None:
        self.by_id, self.loop_of, self.start_id, self.chat = by_id, loop_of, start_id, chat
        self.env: set[str] = set()
        self.viewer: str | None = None

    def selector(self, root: str, path: list[str | int]) -> list[str]:
        """The Dify value selector of ``root.<path>``."""
        keys = [str(p) for p in path]
        if root == "inputs":
            if self.chat and keys[:1] == ["message"]:
                return ["sys", "query", *keys[1:]]
            if self.start_id and keys:
                return [self.start_id, *keys]
        if root == "credentials" and keys:
            self.env.add(keys[0])
            return ["env", *keys]
        if root == "item" and self.viewer in self.loop_of:
            return [self.loop_of[self.viewer], "item", *keys]
        if root == "loop" and keys == ["index"] and self.viewer in self.loop_of:
            return [self.loop_of[self.viewer], "index"]
        if root == "nodes" and len(keys) >= 2 and keys[1] == "output" and keys[0] in self.by_id:
            return self._node(self.by_id[keys[0]], keys[2:])
        raise Untranslatable(f"{root}.{'.'.join(keys)} has no Dify equivalent")

    def _node(self, node: dict[str, Any], rest: list[str]) -> list[str]:
        nid, kind, config = node["id"], node["type"], node.get("config") or {}
        if kind in ("llm", "agent"):
            if config.get("output_schema") and rest:
                return [nid, "structured_output", *rest]
            if not rest:
                return [nid, "text"]
        if kind == "code" and rest[:1] == ["result"]:
            from pilot.interop.dify_export_nodes import dify_outputs

            return [nid, *rest[1:]] if dify_outputs(config.get("code", "")) is not None else [nid, "result", "value", *rest[1:]]
        if kind == "api" and rest in (["body"], ["status"], ["headers"]):
            return [nid, {"body": "body", "status": "status_code", "headers": "headers"}[rest[0]]]
        if kind == "knowledge" and not rest:
            return [nid, "result"]
        if kind == "transform" and len(config.get("fields") or {}) == 1 and rest[:1] == list(config["fields"]):
            return [nid, "output", *rest[1:]]
        if kind == "loop" and not rest:
            return [nid, "output"]
        raise Untranslatable(f"the output of the {kind} node '{nid}'{'.' + '.'.join(rest) if rest else ''}")

    def expr_selector(self, expr: jn.Expr | str) -> list[str]:
        """The selector an expression reads (a plain reference, or one of the import's shapes)."""
        if isinstance(expr, str):
            expr = jinja_expression(normalize(expr))
        original = marker_original(expr, "dify")
        if original is not None and original.startswith("{{#") and original.endswith("#}}"):
            return original[3:-3].split(".")
        ref = ref_path(expr)
        if ref is None:
            raise Untranslatable("not a plain reference")
        return self.selector(*ref)

    def text(self, src: str) -> str:
        """A πlot template as Dify text with ``{{#…#}}`` references."""
        out = []
        for part in jinja_parts(normalize(src)):
            if isinstance(part, str):
                out.append(part)
                continue
            original = marker_original(part, "dify")
            out.append(original if original is not None else "{{#" + ".".join(self.expr_selector(part)) + "#}}")
        return "".join(out)
