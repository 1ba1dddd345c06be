"""The analyzer's output: a :class:`WorkflowBlueprint` (DESIGN.md ``blueprint``), as msgspec Structs.

A blueprint is what the generator composes a workflow from, what the API returns next to
the workflow, and what the chat helper streams as its ``blueprint`` event. JSON shape::

    {"intent": "scheduled_digest", "template_id": "scheduled_digest", "confidence": 0.87,
     "language": "en", "source": "offline",
     "features": {"loop": false, "condition": false, "knowledge": false, "schedule": true, ...},
     "entities": {"integrations": ["slack"], "schedule": {"cron": "0 8 * * *", "text": "every morning"}, ...},
     "steps": [{"order": 1, "action": "fetch", "node_type": "api", "text": "..."}, ...]}
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct, field

from pilot.generation.plan import WorkflowPlan

Language = Literal["en", "zh"]
Source = Literal["llm", "offline"]
StepAction = Literal["trigger", "fetch", "retrieve", "loop", "process", "condition", "notify", "output"]


class Features(Struct, kw_only=True):
    """What the request asks the workflow to do, beyond its template's core step."""

    loop: bool = False  # item by item ("for each", 批量, 每一个)
    condition: bool = False  # branching ("if/otherwise", 如果/否则)
    knowledge: bool = False  # answers from documents / a knowledge base
    schedule: bool = False  # runs periodically (see entities.schedule)
    notification: bool = False  # sends the result somewhere (Slack, email, 钉钉 ...)
    web_fetch: bool = False  # reads the web (URLs, news, RSS, scraping)
    api: bool = False  # calls a named service or API for data
    human_review: bool = False  # someone approves before it goes out


class Schedule(Struct, kw_only=True):
    cron: str  # five-field cron expression, e.g. "0 8 * * *"
    text: str  # the phrase it came from ("every morning", "每天早上")
    timezone: str = "UTC"  # IANA zone: named in the request ("9am EST", "北京时间"), else by its language


class Entities(Struct, kw_only=True):
    integrations: list[str] = []  # canonical ids in order of mention: "slack", "feishu", "github" ...
    destinations: list[str] = []  # integrations that receive the result (a tool node each)
    sources: list[str] = []  # integrations the data comes from (an api node each)
    schedule: Schedule | None = None
    languages: list[str] = []  # target languages (ISO 639-1), first = main target
    data_sources: list[str] = []  # "web", "rss", "hacker_news", "documents", "database", "spreadsheet", ...
    urls: list[str] = []
    keywords: list[str] = []  # the cue words the intent was recognised by (for reasons / debugging)
    condition_terms: list[str] = []  # what a condition tests for ("negative", "urgent", "超过 1000")


class Step(Struct, kw_only=True):
    order: int
    action: StepAction
    node_type: str  # the canonical node type this step becomes
    text: str  # the clause of the request it came from


class Candidate(Struct, kw_only=True):
    template_id: str
    score: float  # 0..1, comparable within one analysis


class WorkflowBlueprint(Struct, kw_only=True):
    intent: str  # a template id
    template_id: str
    confidence: float
    language: Language
    source: Source = "offline"
    features: Features = field(default_factory=Features)
    entities: Entities = field(default_factory=Entities)
    steps: list[Step] = []
    candidates: list[Candidate] = []  # ranked templates, best first (includes template_id)
    title: str = ""  # a short workflow name derived from the request
    fallback_reason: str | None = None  # why the LLM path was not used (source == "offline")
    plan: WorkflowPlan | None = None  # what the workflow does, step by step (the compiler's input)
    omitted: list[str] = []  # the words of steps the compiler could not place and left out (pilot.generation.compiler.build_plan)
