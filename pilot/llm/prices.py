"""Per-model prices (USD per 1M tokens) and the shared token-count heuristic.

Prices are list prices for estimates only (``pilot.generation.estimate``, usage reports);
they are not billing. A workspace may override them (``PUT /api/usage/prices``, :mod:`pilot.usage`):
its runs then cost their LLM calls with its prices. Unknown models get :data:`DEFAULT_PRICE`;
``offline`` costs nothing.
Model names are matched case-insensitively, with or without an OpenRouter-style vendor
prefix (``openai/gpt-4o-mini``) and with dated suffixes (``gpt-4o-2024-08-06``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from msgspec import Struct


class ModelPrice(Struct, frozen=True):
    """USD per one million input (prompt) and output (completion) tokens."""

    input_per_m: float
    output_per_m: float


OFFLINE_MODEL = "offline"

#: Keys are bare model names (no vendor prefix), lower case.
PRICES: dict[str, ModelPrice] = {
    OFFLINE_MODEL: ModelPrice(0.0, 0.0),
    # OpenAI
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "gpt-4.1": ModelPrice(2.00, 8.00),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    "gpt-4-turbo": ModelPrice(10.00, 30.00),
    "gpt-3.5-turbo": ModelPrice(0.50, 1.50),
    "o1": ModelPrice(15.00, 60.00),
    "o1-mini": ModelPrice(1.10, 4.40),
    "o3": ModelPrice(2.00, 8.00),
    "o3-mini": ModelPrice(1.10, 4.40),
    "o4-mini": ModelPrice(1.10, 4.40),
    # Anthropic (OpenRouter names: anthropic/claude-3.5-sonnet, ...)
    "claude-3.5-sonnet": ModelPrice(3.00, 15.00),
    "claude-3.7-sonnet": ModelPrice(3.00, 15.00),
    "claude-sonnet-4": ModelPrice(3.00, 15.00),
    "claude-3.5-haiku": ModelPrice(0.80, 4.00),
    "claude-3-haiku": ModelPrice(0.25, 1.25),
    "claude-3-opus": ModelPrice(15.00, 75.00),
    # Google
    "gemini-2.0-flash-001": ModelPrice(0.10, 0.40),
    "gemini-2.5-flash": ModelPrice(0.30, 2.50),
    "gemini-2.5-pro": ModelPrice(1.25, 10.00),
    # DeepSeek
    "deepseek-chat": ModelPrice(0.27, 1.10),
    "deepseek-reasoner": ModelPrice(0.55, 2.19),
    # Qwen (Alibaba)
    "qwen-turbo": ModelPrice(0.05, 0.20),
    "qwen-plus": ModelPrice(0.40, 1.20),
    "qwen-max": ModelPrice(1.60, 6.40),
    "qwen-2.5-72b-instruct": ModelPrice(0.35, 0.40),
    # Meta / Mistral (OpenRouter)
    "llama-3.1-8b-instruct": ModelPrice(0.02, 0.05),
    "llama-3.1-70b-instruct": ModelPrice(0.12, 0.30),
    "llama-3.3-70b-instruct": ModelPrice(0.12, 0.30),
    "mistral-small": ModelPrice(0.20, 0.60),
    "mistral-large": ModelPrice(2.00, 6.00),
}

#: Used for models not in the table: a mid-range price, so estimates err on the safe side.
DEFAULT_PRICE = ModelPrice(1.00, 3.00)

_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$")


def normalize_model(model: str) -> str:
    """How model names are compared: stripped, lower case (``OpenAI/GPT-4o`` → ``openai/gpt-4o``)."""
    return model.strip().lower()


def price_for(model: str | None, overrides: Mapping[str, ModelPrice] | None = None) -> ModelPrice:
    """The price entry for ``model`` (vendor prefix, ``:free``/``:beta`` tags and date suffixes ignored).

    ``overrides`` (a workspace's own prices, keys normalised with :func:`normalize_model`) win over
    the list prices: first the full name (``openai/gpt-4o``), then the bare and the undated name."""
    if not model:
        return DEFAULT_PRICE
    name = normalize_model(model)
    if overrides and name in overrides:
        return overrides[name]
    if name.endswith(":free"):
        return ModelPrice(0.0, 0.0)
    name = name.split(":", 1)[0].rsplit("/", 1)[-1]
    undated = _DATE_SUFFIX.sub("", name)
    for table in (overrides, PRICES):
        if table:
            found = table.get(name)
            if found is None:
                found = table.get(undated)
            if found is not None:
                return found
    return DEFAULT_PRICE


def estimate_cost(
    model: str | None, prompt_tokens: int, completion_tokens: int, overrides: Mapping[str, ModelPrice] | None = None
) -> float:
    """Estimated cost in USD of one call (rounded to 1e-8 so tiny costs stay visible)."""
    price = price_for(model, overrides)
    cost = (prompt_tokens * price.input_per_m + completion_tokens * price.output_per_m) / 1_000_000
    return round(cost, 8)


# One CJK ideograph / kana / hangul syllable ≈ one token in the cl100k/o200k tokenizers (it is
# 1–2 in practice; 1 keeps estimates honest for mixed text). A Latin word ≈ 1 token per 6 chars,
# digit runs ≈ 1 per 3, every other visible symbol ≈ 1.
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN_PIECES = re.compile(
    rf"(?P<cjk>[{_CJK}])"
    rf"|(?P<word>[^\W\d_{_CJK}]+)"
    r"|(?P<digits>\d+)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.UNICODE | re.DOTALL,
)


def count_tokens(text: str) -> int:
    """Estimate the token count of ``text`` without a tokenizer (works for English and Chinese)."""
    if not text:
        return 0
    tokens = 0
    for match in _TOKEN_PIECES.finditer(text):
        kind = match.lastgroup
        piece = match.group()
        if kind == "cjk" or kind == "other":
            tokens += 1
        elif kind == "word":
            tokens += 1 + (len(piece) - 1) // 6
        elif kind == "digits":
            tokens += math.ceil(len(piece) / 3)
    return tokens


def count_message_tokens(messages: list[dict]) -> int:
    """Prompt tokens of a chat request: content plus ~4 tokens of framing per message."""
    total = 2
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):  # multi-part content: count the text parts
            content = " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        total += 4 + count_tokens(str(content or ""))
    return total
