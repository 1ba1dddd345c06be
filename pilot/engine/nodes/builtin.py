"""The built-in runners, one per canonical node type (the registry in ``__init__`` loads these)."""

from __future__ import annotations

from pilot.engine.nodes.agent import AgentRunner
from pilot.engine.nodes.api import ApiRunner
from pilot.engine.nodes.base import NodeRunner
from pilot.engine.nodes.code import CodeRunner
from pilot.engine.nodes.condition import ConditionRunner
from pilot.engine.nodes.input import InputRunner
from pilot.engine.nodes.knowledge import KnowledgeRunner
from pilot.engine.nodes.llm import LlmRunner
from pilot.engine.nodes.loop import LoopRunner
from pilot.engine.nodes.output import OutputRunner
from pilot.engine.nodes.subworkflow import SubworkflowRunner
from pilot.engine.nodes.tool import ToolRunner
from pilot.engine.nodes.transform import TransformRunner
from pilot.engine.nodes.wait import WaitRunner


def runners() -> list[NodeRunner]:
    """One instance of every built-in runner."""
    return [AgentRunner(), InputRunner(), LlmRunner(), ConditionRunner(), LoopRunner(), ApiRunner(), KnowledgeRunner(), ToolRunner(), OutputRunner(), WaitRunner(),
            TransformRunner(), SubworkflowRunner(), CodeRunner()]
