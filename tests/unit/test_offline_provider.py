"""Offline provider, token heuristic, prices and schema filling (pure, no network)."""

from __future__ import annotations

import json

import pytest

from pilot.llm import ChatMessage, LLMUsage, OfflineProvider, complete, count_tokens, estimate_cost, price_for
from pilot.llm.prices import DEFAULT_PRICE
from pilot.llm.schema_fill import example_from_schema


async def run(messages, **kwargs) -> tuple[list[str], LLMUsage]:
    deltas, usage = [], None
    async for item in OfflineProvider().stream_chat(model="offline", messages=messages, **kwargs):
        if isinstance(item, LLMUsage):
            usage = item
        else:
            deltas.append(item)
    return deltas, usage


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage("user", text)]


ARTICLE = (
    "Summarise the following article:\n"
    "The city council approved a new bicycle lane network on Monday. "
    "The network adds forty kilometres of protected lanes. "
    "Construction of the bicycle lanes starts in spring and ends next year. "
    "Local shops worried about parking. "
    "The council promised to review parking after six months."
)


async def test_labelled_streamed_in_several_deltas_with_usage():
    deltas, usage = await run(user(ARTICLE))
    text = "".join(deltas)
    assert text.startswith("[offline] ")
    assert len(deltas) >= 5
    assert usage.prompt_tokens > 20 and usage.completion_tokens > 20
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


async def test_deterministic():
    first, _ = await run(user(ARTICLE))
    second, _ = await run(user(ARTICLE))
    assert first == second


async def test_summary_is_extractive_from_the_input():
    text, _ = await complete(OfflineProvider(), model="offline", messages=user(ARTICLE))
    assert "Summary" in text
    bullets = [line[2:] for line in text.splitlines() if line.startswith("- ")]
    assert 1 <= len(bullets) <= 3
    assert all(b in ARTICLE for b in bullets)  # sentences come from the input, in order
    assert "bicycle" in text.split("Key terms:")[1]


async def test_chinese_summary_in_chinese():
    prompt = "请总结以下内容：今天服务器宕机了。工程师重启了服务器。故障持续十分钟，影响了结账。服务器已经恢复正常。"
    text, usage = await complete(OfflineProvider(), model="offline", messages=user(prompt))
    assert text.startswith("[offline] 摘要")
    assert "今天服务器宕机了。" in text and "服务器" in text.split("关键词")[1]
    assert usage.prompt_tokens >= 40  # CJK counted per character, not per (absent) space


@pytest.mark.parametrize(("review", "label"), [
    ("Classify the sentiment: I love it, great and fast support, thanks!", "positive"),
    ("Classify the sentiment: terrible, slow and broken, I want a refund", "negative"),
    ("判断情感：产品很好，我很满意，谢谢", "正面"),
    ("判断情感：质量太差了，我要退款并投诉", "负面"),
])
async def test_sentiment(review, label):
    text, _ = await complete(OfflineProvider(), model="offline", messages=user(review))
    assert label in text


async def test_classification_uses_listed_labels():
    prompt = "Classify the ticket into one of: billing, technical, shipping. Ticket: the shipping box arrived late"
    text, _ = await complete(OfflineProvider(), model="offline", messages=user(prompt))
    assert text == "[offline] Label: shipping (keyword overlap)"


async def test_extraction():
    prompt = "Extract the contact details: write to ana@example.org before 2025-03-01, budget $4,500, https://ex.com/x"
    text, _ = await complete(OfflineProvider(), model="offline", messages=user(prompt))
    assert "ana@example.org" in text and "2025-03-01" in text and "$4,500" in text and "https://ex.com/x" in text


async def test_translation_is_honestly_labelled():
    text, _ = await complete(OfflineProvider(), model="offline", messages=user("Translate into Chinese: good morning"))
    assert text.startswith("[offline] Translation to Chinese needs an LLM") and "good morning" in text


async def test_generic_prompt_digest_and_system_message():
    messages = [ChatMessage("system", "You are helpful."), ChatMessage("user", "Tell me about Kubernetes operators")]
    text, _ = await complete(OfflineProvider(), model="offline", messages=messages)
    assert text.startswith("[offline] No LLM is configured") and "kubernetes" in text


async def test_max_tokens_truncates():
    full, _ = await run(user(ARTICLE))
    deltas, usage = await run(user(ARTICLE), max_tokens=20)
    assert usage.completion_tokens <= 20 and len(deltas) < len(full)
    assert "".join(deltas).startswith("[offline]")


async def test_json_schema_response_format_gives_valid_json():
    schema = {"type": "object", "properties": {"label": {"enum": ["a", "b"]}, "score": {"type": "number",
              "minimum": 0, "maximum": 1}, "tags": {"type": "array", "items": {"type": "string"}}},
              "required": ["label", "score", "tags"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    text, _ = await complete(OfflineProvider(), model="offline", messages=user("classify"), response_format=fmt)
    value = json.loads(text)
    assert value["label"] in ("a", "b") and 0 <= value["score"] <= 1 and isinstance(value["tags"], list)
    text2, _ = await complete(OfflineProvider(), model="offline", messages=user("x"),
                              response_format={"type": "json_object"})
    assert json.loads(text2)["offline"] is True


def test_schema_fill_refs_and_unions():
    schema = {
        "$defs": {"Step": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3, "maximum": 5}}}},
        "type": "object",
        "properties": {"steps": {"type": "array", "items": {"$ref": "#/$defs/Step"}, "minItems": 2},
                       "note": {"anyOf": [{"type": "null"}, {"type": "string", "minLength": 8}]},
                       "kind": {"const": "k"}, "flag": {"type": "boolean"}},
    }
    value = example_from_schema(schema)
    assert len(value["steps"]) == 2 and all(3 <= s["n"] <= 5 for s in value["steps"])
    assert isinstance(value["note"], str) and len(value["note"]) >= 8
    assert value["kind"] == "k" and isinstance(value["flag"], bool)
    assert example_from_schema(schema) == value


def test_count_tokens_heuristic():
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert count_tokens("每天总结新闻") == 6
    assert 10 <= count_tokens("Every morning summarise Hacker News and post it to Slack") <= 14
    mixed = count_tokens("把 GitHub issues 发到 Slack")
    assert mixed == count_tokens("把") + count_tokens("GitHub issues") + count_tokens("发到") + count_tokens("Slack")


def test_prices():
    assert price_for("offline").input_per_m == 0 and estimate_cost("offline", 10_000, 10_000) == 0
    assert estimate_cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert price_for("openai/gpt-4o-2024-08-06") == price_for("gpt-4o")
    assert price_for("anthropic/claude-3.5-sonnet").output_per_m == 15.0
    assert price_for("deepseek/deepseek-chat").input_per_m < 1
    assert price_for("meta-llama/llama-3.1-8b-instruct:free").input_per_m == 0
    assert price_for("some-unknown-model") == DEFAULT_PRICE and price_for(None) == DEFAULT_PRICE
