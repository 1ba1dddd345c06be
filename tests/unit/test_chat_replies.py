"""Turn-level intents (undo, run, clarification answers) and reply chunking."""

from __future__ import annotations

import pytest

from pilot.chat.replies import chunks, is_run, is_undo, resolve_answer, run_inputs
from pilot.chat.schemas import ClarifyOptionOut, PendingQuestion
from pilot.templates.catalog import default_catalog

PENDING = PendingQuestion(question="Which?", prompt="help me", options=[
    ClarifyOptionOut(id="customer_support", label="Customer support"),
    ClarifyOptionOut(id="summarization", label="Summarization"),
    ClarifyOptionOut(id="translation", label="Translation"),
])


@pytest.mark.parametrize("text,expected", [
    ("run it with text=hello", True), ("运行一下", True), ("execute now", True),
    ("run it every Monday at 9", False), ("run it on every row of the sheet", False), ("use gpt-4o", False),
    ("run it in batches of 50", False),
])
def test_is_run(text, expected):
    assert is_run(text) is expected


def test_is_undo():
    assert is_undo("undo") and is_undo("Undo that please") and is_undo("撤销") and not is_undo("remove the undo step")


def test_run_inputs():
    graph = default_catalog().instantiate("translation")
    assert run_inputs("run it with text=Bonjour, source_language=French", graph) == {"text": "Bonjour", "source_language": "French"}
    assert run_inputs('run it with {"text": "hi", "glossary": ""}', graph) == {"text": "hi", "glossary": ""}
    assert run_inputs("run it with 'Guten Tag'", graph) == {"text": "Guten Tag"}
    assert run_inputs("run it", graph) == {}


@pytest.mark.parametrize("text,choice", [
    ("the second one", "summarization"), ("第三个", "translation"), ("translation", "translation"),
    ("customer support please", "customer_support"), ("2", "summarization"), ("something else entirely", None),
])
def test_resolve_answer(text, choice):
    assert resolve_answer(text, PENDING) == choice


def test_chunks_keep_the_text():
    english = "Added a step that sends the result to email before the output. Saved as version 2."
    chinese = "已将语言从英文改为日语。已保存为第 3 版（可以撤销）。" * 3
    for text in (english, chinese):
        parts = list(chunks(text))
        assert "".join(parts) == text and len(parts) > 1
