"""The steps of a chat turn: create (or ask), refine, run, undo — each streams its events.

:class:`TurnHandlers` is mixed into :class:`pilot.chat.service.ChatService`; it holds the
runtime (``self.rt``). Writes go through :meth:`TurnHandlers._save`, which locks the session
row and raises :class:`Retry` when the workflow moved on, so the turn plans again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from pilot.analytics.service import AnalyticsService
from pilot.chat import replies
from pilot.chat.diff import build_events, clear_events, diff_graphs
from pilot.chat.edits import EditError, apply_edits
from pilot.chat.events import (
    Analysis,
    BlueprintEvent,
    ChatEvent,
    Clarification,
    ClarifyOption,
    MessageDelta,
    TemplateCandidate,
    WorkflowReady,
    payload_to_event,
)
from pilot.chat.phrases import describe_cron, language_of
from pilot.chat.planner_rules import plan_edits
from pilot.chat.rules_optimize import is_optimisation
from pilot.chat.schemas import ClarifyOptionOut, PendingQuestion
from pilot.chat.store import ChatStore, set_state, state_of
from pilot.core.errors import BadRequestError, ConflictError, NotFoundError, PilotError
from pilot.events.recorder import EventRecorder
from pilot.llm.schemas import StructuredOutputError
from pilot.readiness.service import readiness_data
from pilot.workflows.model import Workflow, WorkflowGraph, node_type
from pilot.workflows.service import WorkflowService

log = logging.getLogger("pilot.chat")

POPULAR = ("customer_support", "summarization", "translation", "tool_agent")
MAX_ATTEMPTS = 3  # re-plans after a concurrent change of the workflow
REPLACE_ABOVE = 0.6  # a follow-up that asks for a new workflow must be this clear to replace it


class Retry(Exception):
    """The session or workflow changed under this turn: reload and plan again."""


@dataclass
class TurnResult:
    outcome: str
    text: str
    workflow_id: str | None = None
    workflow_version: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # set: an ``error`` event precedes the explanation


@dataclass
class Snapshot:
    state: Any
    workflow: Workflow | None
    title: str


class Turn:
    """Emits one assistant message's events through its recorder."""

    def __init__(self, recorder: EventRecorder, *, workspace_id: str, session_id: str, content: str) -> None:
        self.recorder = recorder
        self.workspace_id = workspace_id
        self.session_id = session_id
        self.content = content
        self.lang = language_of(content)

    def emit(self, payload: ChatEvent) -> None:
        name, data = payload_to_event(payload)
        self.recorder.emit_nowait(name, data)

    async def say(self, text: str) -> None:
        for piece in replies.chunks(text):
            self.emit(MessageDelta(text=piece))
            await asyncio.sleep(0)  # let subscribers run between deltas


class TurnHandlers:
    """What each kind of turn does (see the module docstring)."""

    rt: Any

    @staticmethod
    def _sorry(lang: str, detail: str) -> str:
        if lang == "zh":
            return f"抱歉，这一步没有完成：{detail}。工作流保持不变。"
        return f"Sorry, I couldn't do that: {detail}. The workflow is unchanged."

    async def _snapshot(self, workspace_id: str, session_id: str) -> Snapshot:
        async with self.rt.sessions() as db:
            row = await ChatStore(db, workspace_id).get_session(session_id)
            workflow = None
            if row.workflow_id:
                try:
                    workflow = await WorkflowService(db, workspace_id).get(row.workflow_id)
                except NotFoundError:
                    workflow = None
            return Snapshot(state=state_of(row), workflow=workflow, title=row.title)

    async def _save(self, turn: Turn, write: Callable[[Any, Any, Any], Awaitable[Any]]) -> Any:
        """Run ``write(db, session_row, state)`` with the session row locked, then commit."""
        async with self.rt.sessions() as db:
            row = await ChatStore(db, turn.workspace_id).get_session(turn.session_id, for_update=True)
            state = state_of(row)
            try:
                out = await write(db, row, state)
            except ConflictError:
                await db.rollback()
                raise Retry from None
            set_state(row, state)
            await db.commit()
            return out

    # ------------------------------------------------------------------ create

    def _options(self, recs: list, lang: str) -> list[ClarifyOptionOut]:
        catalog = self.rt.templates
        options = [ClarifyOptionOut(id=r.template_id, label=r.name, reason=r.reason) for r in recs if r.score > 0]
        for tid in POPULAR:
            if len(options) >= 3:
                break
            if tid in catalog and all(o.id != tid for o in options):
                t = catalog.get(tid)
                options.append(ClarifyOptionOut(id=tid, label=t.name.zh if lang == "zh" else t.name.en))
        return options[:3]

    async def _create(self, turn: Turn, prompt: str, *, choice: str | None = None, ask: bool = True) -> TurnResult:
        """Build the workflow a request asks for from its plan (compiled op by op, streamed as
        it is built), ask a clarifying question when the request is too vague, or, when the
        user picked an option of that question (``choice``), build that template's workflow."""
        from pilot.chat.generate import analyze, build, recommend, too_vague

        catalog = self.rt.templates
        try:
            blueprint = await analyze(prompt, catalog=catalog, settings=self.rt.settings, plan=choice is None,
                                      pool=self.rt.generation_pool)
        except BadRequestError:  # nothing readable to plan from ("???"): ask rather than fail
            if not ask or choice is not None:
                raise
            blueprint = None
        recs = recommend(blueprint, catalog, 3) if blueprint is not None else []
        turn.emit(Analysis(
            mode="create", intent=choice or (blueprint.intent if blueprint else None),
            confidence=blueprint.confidence if blueprint else 0.0, language=turn.lang,
            candidates=[TemplateCandidate(template_id=r.template_id, name=r.name, score=r.score, reason=r.reason) for r in recs],
        ))
        if choice is None and ask and (blueprint is None or too_vague(blueprint)):
            options = self._options(recs, turn.lang)
            question = replies.clarify_question(turn.lang)
            pending = PendingQuestion(question=question, options=options, prompt=prompt)

            async def remember(db, row, state):
                state.pending = pending

            await self._save(turn, remember)
            turn.emit(Clarification(question=question, options=[ClarifyOption(id=o.id, label=o.label, reason=o.reason) for o in options]))
            return TurnResult("clarify", replies.clarify_text(turn.lang, question, options), meta={"options": [o.id for o in options]})
        assert blueprint is not None
        if choice is not None:
            # The user picked a template for a vague request: build that template's workflow.
            blueprint = msgspec.structs.replace(blueprint, template_id=choice, intent=choice, plan=None,
                                                confidence=max(blueprint.confidence, 0.9))
        graph, ops = build(blueprint, prompt, catalog)
        turn.emit(BlueprintEvent(blueprint=msgspec.to_builtins(blueprint)))
        template = catalog.get(blueprint.template_id) if blueprint.template_id in catalog else None
        template_name = (template.name.zh if turn.lang == "zh" else template.name.en) if template else None
        # A vague request answered by picking an option is better named after the option.
        name = ((template_name if choice is not None else None) or blueprint.title or prompt)[:120]

        async def attach(db, row, state):
            if row.workflow_id is not None:
                raise ConflictError("the session already has a workflow")
            workflow = await WorkflowService(db, turn.workspace_id).create(name=name, graph=graph, template_id=blueprint.template_id)
            row.workflow_id = workflow.id
            row.title = row.title or name
            state.pending = None
            state.language = turn.lang
            return workflow

        workflow = await self._save(turn, attach)
        if ops:
            await self._stream_build(turn, ops, workflow)
        else:
            await self._stream_change(turn, None, workflow)
        schedule = describe_cron(graph.settings.schedule, turn.lang) if graph.settings.schedule else None
        text = replies.creation_text(turn.lang, name=name, template_name=template_name if blueprint.plan is None else None,
                                     graph=workflow.graph(), schedule_text=schedule)
        return TurnResult("created", text, workflow_id=workflow.id, workflow_version=workflow.version,
                          meta={"template_id": blueprint.template_id, "built_from": "template" if blueprint.plan is None else "plan"})

    async def _stream_change(self, turn: Turn, old: WorkflowGraph | None, workflow: Workflow) -> None:
        """The minimal edit from ``old`` to the saved ``workflow``, then ``workflow.ready``."""
        await self._emit_all(turn, diff_graphs(old, workflow.graph()))
        turn.emit(WorkflowReady(workflow=msgspec.to_builtins(workflow),
                                readiness=await readiness_data(self.rt, turn.workspace_id, workflow.graph(), turn.lang)))

    async def _stream_build(self, turn: Turn, ops: list, workflow: Workflow, *, old: WorkflowGraph | None = None) -> None:
        """The saved ``workflow`` appearing op by op as the compiler built it (after ``old`` is
        cleared from the panel, for a replacement), then ``workflow.ready``."""
        events = (clear_events(old) if old is not None else []) + build_events(ops, workflow.graph())
        await self._emit_all(turn, events)
        turn.emit(WorkflowReady(workflow=msgspec.to_builtins(workflow),
                                readiness=await readiness_data(self.rt, turn.workspace_id, workflow.graph(), turn.lang)))

    @staticmethod
    async def _emit_all(turn: Turn, events: list[ChatEvent]) -> None:
        for event in events:
            turn.emit(event)
            await asyncio.sleep(0)  # a panel draws each step as it arrives

    # ------------------------------------------------------------------ refine

    async def _plan(self, text: str, graph: WorkflowGraph, lang: str, workflows: list | None = None,
                    advice: list | None = None) -> tuple[WorkflowGraph | None, list[str], list[str], str, list]:
        """(new graph or None, change notes, problem notes, planner, ops); ``workflows``: the
        workspace's others, which a ``workflow`` step may run by name; ``advice``: set for an
        optimisation request, which the rules apply from the workflow's run figures."""
        llm = self.rt.settings.llm
        if llm.enabled and advice is None:
            from pilot.chat.planner_llm import plan_with_llm  # loads pydantic/instructor/openai: only when used

            try:
                ops, explanation = await plan_with_llm(text, graph, settings=llm, workflows=workflows)
                return apply_edits(graph, ops), [explanation], [], "llm", ops
            except (StructuredOutputError, EditError) as exc:
                log.info("chat: LLM edit planner gave up (%s); using the rule-based planner", exc)
        plan = plan_edits(text, graph, workflows=workflows, advice=advice)
        return plan.graph, [n.text(lang) for n in plan.changes], [n.text(lang) for n in plan.problems], "rules", plan.ops

    async def _refine(self, turn: Turn, snap: Snapshot) -> TurnResult:
        current = snap.workflow
        assert current is not None
        async with self.rt.sessions() as db:
            workflows = await ChatStore(db, turn.workspace_id).other_workflows(exclude=current.id)
            advice = None
            if is_optimisation(turn.content):  # "make it cheaper": advice from the workflow's runs
                advice = (await AnalyticsService(db, turn.workspace_id).advice_for(current))[1]
        new_graph, changes, problems, planner, ops = await self._plan(turn.content, current.graph(), turn.lang, workflows,
                                                                      advice)
        outcome, template_id, build_ops = "edited", None, None
        if new_graph is None and not problems and replies.is_new_request(turn.content):
            replacement = await self._replacement(turn)
            if replacement is not None:  # "actually, build me a support bot": a new version, undoable
                (new_graph, build_ops, template_id), changes = replacement, [replies.replaced_text(turn.lang)]
                planner, outcome = "generator", "replaced"
        turn.emit(Analysis(mode="refine", intent=current.template_id, language=turn.lang, planner=planner))
        meta: dict[str, Any] = {"planner": planner, "ops": msgspec.to_builtins(ops)}
        if new_graph is None:
            text = replies.edit_text(turn.lang, [], problems, None) if problems else replies.nothing_understood(turn.lang)
            return TurnResult("unchanged", text, workflow_id=current.id, workflow_version=current.version, meta=meta)

        async def save(db, row, state):
            if row.workflow_id != current.id or not await ChatStore(db, turn.workspace_id).workflow_unchanged(
                current.id, current.version, current.graph()
            ):
                raise ConflictError("the workflow changed while the edit was planned")
            saved = await WorkflowService(db, turn.workspace_id).update(
                current.id, graph=new_graph, base_version=current.version, new_version=True, template_id=template_id
            )
            state.undo.append(current.version)
            return saved

        saved = await self._save(turn, save)
        if build_ops:  # a rebuild: the old workflow leaves the panel, the new one appears op by op
            await self._stream_build(turn, build_ops, saved, old=current.graph())
        else:
            await self._stream_change(turn, current.graph(), saved)
        return TurnResult(outcome, replies.edit_text(turn.lang, changes, problems, saved.version),
                          workflow_id=saved.id, workflow_version=saved.version, meta=meta)

    async def _replacement(self, turn: Turn) -> tuple[WorkflowGraph, list, str] | None:
        """The workflow a follow-up asks for when it is really a new, clear request: built from
        its plan; (graph, the ops that built it, template id)."""
        from pilot.chat.generate import analyze, build, too_vague

        try:
            blueprint = await analyze(turn.content, catalog=self.rt.templates, settings=self.rt.settings,
                                      pool=self.rt.generation_pool)
        except BadRequestError:
            return None
        if blueprint.confidence < REPLACE_ABOVE or too_vague(blueprint):
            return None
        turn.emit(BlueprintEvent(blueprint=msgspec.to_builtins(blueprint)))
        graph, ops = build(blueprint, turn.content, self.rt.templates)
        return graph, ops, blueprint.template_id

    # ------------------------------------------------------------------ undo / run

    async def _undo(self, workspace_id: str, session_id: str) -> tuple[Workflow, Workflow, int, str]:
        """Restore the version before the chat's last edit: (before, after, restored version, the
        session's language)."""
        async with self.rt.sessions() as db:
            row = await ChatStore(db, workspace_id).get_session(session_id, for_update=True)
            state = state_of(row)
            if not row.workflow_id or not state.undo:
                raise ConflictError("there is nothing to undo in this chat")
            workflows = WorkflowService(db, workspace_id)
            before = await workflows.get(row.workflow_id)
            restored = state.undo.pop()
            version = await workflows.get_version(row.workflow_id, restored)
            graph = WorkflowGraph(nodes=version.nodes, edges=version.edges, settings=version.settings)
            after = await workflows.update(row.workflow_id, graph=graph, base_version=before.version, new_version=True)
            set_state(row, state)
            await db.commit()
            return before, after, restored, state.language

    async def _undo_turn(self, turn: Turn) -> TurnResult:
        turn.emit(Analysis(mode="undo", language=turn.lang))
        try:
            before, after, restored, _ = await self._undo(turn.workspace_id, turn.session_id)
        except ConflictError:
            text = "没有可以撤销的修改。" if turn.lang == "zh" else "There is nothing to undo."
            return TurnResult("unchanged", text)
        await self._stream_change(turn, before.graph(), after)
        text = undone_text(turn.lang, restored, after.version)
        return TurnResult("undone", text, workflow_id=after.id, workflow_version=after.version)

    async def _run(self, turn: Turn, workflow: Workflow) -> TurnResult:
        turn.emit(Analysis(mode="run", intent=workflow.template_id, language=turn.lang))
        if self.rt.runs is None:
            return TurnResult("error", self._sorry(turn.lang, "runs are not available on this server"), error="runs unavailable")
        inputs = replies.run_inputs(turn.content, workflow.graph())
        dry = replies.is_test_request(turn.content)
        try:
            async with self.rt.sessions() as db:
                if dry:  # sample inputs fill the gaps; deliveries and calls are recorded, not sent
                    started = await self.rt.runs.test(db, turn.workspace_id, workflow.id, inputs)
                else:
                    started = await self.rt.runs.start(db, turn.workspace_id, workflow.id, inputs)
        except PilotError as exc:
            fields = [f.name for n in workflow.nodes if node_type(n) == "input" for f in n.config.fields if f.required]  # type: ignore[attr-defined]
            example = ", ".join(f"{name}=…" for name in fields) or "text=…"
            text = (f"没能开始运行：{exc.detail}。请这样提供输入：“运行一下，{example}”。" if turn.lang == "zh"
                    else f"I couldn't start the run: {exc.detail}. Give the inputs like: run it with {example}")
            return TurnResult("error", text, workflow_id=workflow.id, workflow_version=workflow.version, error=exc.detail)
        text = (f"已开始运行（版本 {workflow.version}）：执行 ID {started.execution_id}，实时进度：{started.stream_url}" if turn.lang == "zh"
                else f"Started a run of version {workflow.version}: execution {started.execution_id}. Live progress: {started.stream_url}")
        if dry:
            text = (f"已开始测试运行（版本 {workflow.version}，不会真的发送任何消息或请求）：执行 ID {started.execution_id}，"
                    f"实时进度：{started.stream_url}" if turn.lang == "zh" else
                    f"Started a test run of version {workflow.version} (nothing is sent: deliveries and API calls are "
                    f"recorded instead): execution {started.execution_id}. Live progress: {started.stream_url}")
        return TurnResult("run", text, workflow_id=workflow.id, workflow_version=workflow.version,
                          meta={"execution_id": started.execution_id, "stream_url": started.stream_url, "inputs": inputs, "test": dry})


def undone_text(lang: str, restored: int, saved_as: int) -> str:
    """What an undo answers, by chat message ("撤销") or by the undo endpoint, in the chat's language."""
    if lang == "zh":
        return f"已撤销上一次修改：恢复到第 {restored} 版（保存为第 {saved_as} 版）。"
    return f"Undid the last change: version {restored} is back (saved as version {saved_as})."
