"""Storage without a named external database, and the tools of an agent step (pure; used by
:mod:`pilot.generation.services`).

"Save it to a database", "写回数据库", "keep a record of every processed order": when the request
names no database service the plan's delivery has the generic service ``database``, and it
compiles to a ``tool`` node of the ``table`` connector writing to a workspace data table
(:mod:`pilot.tables.tool`)::

    {"tool": "table", "arguments": {"table": "processed_orders", "op": "insert",
                                    "row": {"data": "{{ item }}"}}}

- The table is named from the request's words: the object of the storing verb ("save every
  processed order" → ``processed_orders``, "记录订单" → ``orders``), else ``records``.
- ``op`` is ``upsert`` when the request updates, syncs or de-duplicates (the row then carries
  ``key``: the record's ``id`` when it has one, else its JSON, so the same record lands once),
  else ``insert``.
- ``data`` (a ``json`` column) holds what is stored: the step's data as is, or one entry per
  upstream value when there are several.

The table tool does not create tables: readiness (:mod:`pilot.readiness.steps`) reports a missing
one as a blocking ``table`` item naming the columns to create (``data`` json, and for an upsert
``key`` string as the key column).

Agent steps name their tools the way a user would name the tool instances (``/api/tools``):
``tool:<slug>`` of each tool or service the request named (``web_search``,
``currency_conversion_api``); readiness lists a reference no instance or connector answers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pilot.generation.prefilter import compile_filtered
from pilot.generation.plan import AiStep, DeliverStep

if TYPE_CHECKING:
    from pilot.generation.compile_steps import Builder

GENERIC_DATABASES = frozenset({"database", "db", "数据库", "data table", "data_table", "datatable", "数据表"})
DEFAULT_TABLE = "records"
AGENT_MAX_STEPS = 8

_UPSERT = compile_filtered(r"\b(?:updat\w*|sync\w*|synchroni[sz]\w*|de-?dup\w*|duplicates?|upsert\w*|overwrit\w*)\b"
                     r"|同步|更新|去重|重复|覆盖")
_OBJECT = compile_filtered(
    r"\b(?:save|saves|saving|store|stores|storing|log|logs|logging|record|records|recording|keep|keeps|write|writes|"
    r"insert|inserts|add|adds|put|puts|persist|persists|archive|archives|sync|syncs|upsert|upserts)\s+"
    r"(?:(?:a|an)\s+(?:record|log|copy|history|list)\s+of\s+)?"
    r"(?:(?:every|each|all|the|these|those|our|my|its|their|any|of|new|down|back)\s+)*"
    r"(?P<obj>[a-z][a-z-]*(?:\s+[a-z][a-z-]*)?)")
_STOP = frozenset("""to into in on at and as for with from by a an the it them this that these those everything something
    there here then so or of back down up away each every all our your my their its""".split())
_UNCOUNTABLE = frozenset({"data", "feedback", "info", "information", "history", "inventory", "news", "metadata"})
_ZH_OBJECTS = (("订单", "orders"), ("客户", "customers"), ("用户", "users"), ("线索", "leads"), ("工单", "tickets"),
               ("反馈", "feedback"), ("评论", "reviews"), ("评价", "reviews"), ("告警", "alerts"), ("报警", "alerts"),
               ("候选人", "candidates"), ("简历", "resumes"), ("文章", "articles"), ("商品", "products"),
               ("库存", "inventory"), ("日志", "logs"), ("标签", "tags"), ("结果", "results"), ("数据", "data"))


def is_generic_database(service: str) -> bool:
    return service.strip().lower() in GENERIC_DATABASES


def _plural(word: str) -> str:
    if word in _UNCOUNTABLE or word.endswith("s"):
        return word
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("ch", "sh", "x")) else "s")


def table_name(*quotes: str, context: str = "") -> str:
    """The data table a storing request means: the object of its verb, pluralised, else a known
    Chinese object of the quotes or (``context``, the whole request) ``records``."""
    for quote in quotes:
        text = (quote or "").lower()
        match = _OBJECT.search(text)
        if match:
            words = []
            for word in match.group("obj").split():
                if word in _STOP:
                    break
                words.append(word.replace("-", "_"))
            if words and words[-1] not in ("database", "db", "table", "record", "records", "result"):
                return "_".join([*words[:-1], _plural(words[-1])])[:64]
            if words == ["result"]:
                return "results"
    for text in (*quotes, context):
        text = re.sub(r"数据库|数据表", " ", text or "")
        for zh, name in _ZH_OBJECTS:
            if zh in text:
                return name
    return DEFAULT_TABLE


def table_op(*quotes: str) -> str:
    return "upsert" if any(_UPSERT.search((q or "").lower()) for q in quotes) else "insert"


def table_node(b: Builder, s: DeliverStep, content: list[str]) -> dict[str, Any]:
    """The ``table`` tool node for a delivery to the generic ``database``."""
    quotes = (b.loop_quote, s.quote) if b.in_loop else (s.quote,)
    table, op = table_name(*quotes, context=b.plan.title), table_op(*quotes, s.operation if s.operation == "update" else "")
    if len(content) == 1:
        data: Any = "{{ " + content[0] + " }}"
    elif content:
        data = {_label(r): "{{ " + r + " }}" for r in content}
    else:
        data = b._t("工作流已完成", "The workflow finished")
    row: dict[str, Any] = {"data": data}
    if op == "upsert":
        ref = content[0] if content else None
        row = {"key": ("{{ (%s).id | string if (%s) is mapping and (%s).id is defined else (%s) | tojson }}" % ((ref,) * 4))
               if ref else "latest", **row}
    title = b._t(f"写入数据表 {table}", f"Save to the data table {table}")
    return {"id": b.uid(f"save_{table}"), "type": "tool", "title": title,
            "config": {"tool": "table", "arguments": {"table": table, "op": op, "row": row}}}


def _label(ref: str) -> str:
    parts = [p for p in ref.split(".") if p not in ("nodes", "output", "body", "inputs")]
    return re.sub(r"\W", "_", parts[0] if parts else "value")


# ---------------------------------------------------------------- agent steps


def tool_slug(name: str) -> str | None:
    """The tool instance name a user would give a named tool or service (``tool:<slug>``)."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:64]
    return slug if slug and re.match(r"[a-z_]", slug) else None


def agent_config(b: Builder, s: AiStep, system: str, prompt: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    refs = list(dict.fromkeys(f"tool:{slug}" for t in s.tools if (slug := tool_slug(t))))
    return {"model": "gpt-4o-mini", "system": system, "prompt": prompt, "tools": refs, "max_steps": AGENT_MAX_STEPS,
            **({"output_schema": schema} if schema else {})}
