"""Which model is a cheaper sibling of another, and which LLM tasks a small model does as well."""

from __future__ import annotations

import re

from pilot.llm.prices import PRICES, normalize_model, price_for
from pilot.workflows.model import LlmNode

#: A smaller model of the same family that handles light tasks as well (keys: bare model names).
CHEAPER: dict[str, str] = {
    "gpt-4o": "gpt-4o-mini", "gpt-4-turbo": "gpt-4o-mini", "gpt-4.1": "gpt-4.1-mini", "gpt-4.1-mini": "gpt-4.1-nano",
    "o1": "o4-mini", "o3": "o4-mini", "claude-3-opus": "claude-3.5-haiku", "claude-3.5-sonnet": "claude-3.5-haiku",
    "claude-3.7-sonnet": "claude-3.5-haiku", "claude-sonnet-4": "claude-3.5-haiku", "gemini-2.5-pro": "gemini-2.5-flash",
    "qwen-max": "qwen-plus", "mistral-large": "mistral-small", "deepseek-reasoner": "deepseek-chat",
    "llama-3.1-70b-instruct": "llama-3.1-8b-instruct",
}
# Tasks a small model does as well as a large one: labelling, extracting, translating.
LIGHT_TASK = re.compile(r"classif|categori|\blabel|\btag|extract|pars(e|ing)|translat|sentiment|detect|rout(e|ing)|triage|"
                        r"spam|intent|keyword|分类|归类|提取|抽取|翻译|情感|标签|识别|路由|意图")


def _family(model: str) -> tuple[str, str] | None:
    """(vendor prefix, bare model name in CHEAPER) of ``model`` (``openai/gpt-4o-2024-08-06`` → ("openai/", "gpt-4o"))."""
    head, sep, bare = normalize_model(model).rpartition("/")
    bare = bare.split(":", 1)[0]
    keys = [k for k in CHEAPER if bare.startswith(k) and price_for(bare) == PRICES.get(k)]
    return (head + sep, max(keys, key=len)) if keys else None


def cheaper_model(model: str) -> str | None:
    """The smaller sibling of ``model`` (vendor prefix kept), or None."""
    found = _family(model)
    return f"{found[0]}{CHEAPER[found[1]]}" if found else None


def light_task(node: LlmNode) -> bool:
    """A classification (an output schema with an ``enum``), extraction, translation… step."""
    props = (node.config.output_schema or {}).get("properties") or {}
    if any(isinstance(p, dict) and p.get("enum") for p in props.values()):
        return True  # picks one of fixed values: a classification
    text = f"{node.id} {node.title} {node.description} {node.config.system} {node.config.prompt[:400]}".lower()
    return bool(LIGHT_TASK.search(text))
