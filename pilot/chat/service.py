"""ChatService: sessions, and one chat turn = understand → (create | edit | run | undo | ask) → stream.

A turn runs as a runtime-owned task (``runtime.spawn``), never tied to the HTTP connection, so a
client that disconnects still gets the final state persisted; its events go through an
:class:`~pilot.events.recorder.EventRecorder` (stream id = the assistant message id), so any
client can (re)attach with ``Last-Event-ID``.

Consistency: turns of one session are serialised by an in-process lock per session; across
processes, writes re-read the session row ``FOR UPDATE`` (PostgreSQL) and save the workflow
with an optimistic ``base_version`` check, re-planning on a conflict — no lost update. Every
edit is saved as a new workflow version (the previous one kept, pushed on the session's undo
stack); the workflow row is written before ``workflow.ready`` and the reply message before
``message.finished``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec

from pilot.chat import replies
from pilot.chat.diff import diff_graphs
from pilot.chat.edits import EditError, apply_edits
from pilot.chat.events import (
    Analysis,
    BlueprintEvent,
    ChatEvent,
    Clarification,
    ClarifyOption,
    ErrorEvent,
    MessageDelta,
    MessageFinished,
    MessageStarted,
    TemplateCandidate,
    WorkflowReady,
    payload_to_event,
)
from pilot.chat.phrases import describe_cron, language_of
from pilot.chat.planner_llm import plan_with_llm
from pilot.chat.planner_rules import plan_edits
from pilot.chat.schemas import (
    MAX_MESSAGE_CHARS,
    ChatSessionOut,
    ClarifyOptionOut,
    CreateSession,
    PendingQuestion,
    UndoResult,
)
from pilot.chat.store import ChatStore, message_out, set_state, state_of
from pilot.core.errors import ConflictError, NotFoundError, PilotError, UnprocessableError
from pilot.events.recorder import EventRecorder
from pilot.llm.schemas import StructuredOutputError
from pilot.workflows.model import Workflow, WorkflowGraph, node_type
from pilot.workflows.service import WorkflowService

log = logging.getLogger("pilot.chat")

CLARIFY_BELOW = 0.4  # analyzer confidence under which the assistant asks instead of guessing
POPULAR = ("customer_support", "summarization", "translation", "tool_agent")
MAX_ATTEMPTS = 3  # re-plans after a concurrent change of the workflow


class _Retry(Exception):
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
class _Snapshot:
    state: Any
    workflow: Workflow | None
    title: str


class _Turn:
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


class ChatService:
    """One per process (``runtime.chat``)."""

    def __init__(self, runtime: Any) -> None:
        self.rt = runtime
        self._locks: dict[str, list] = {}  # session id → [lock, holders + waiters]

    @asynccontextmanager
    async def _lock(self, session_id: str) -> AsyncIterator[None]:
        """Serialise the turns (and undos) of one session in this process; the entry is dropped
        when nobody holds or waits for it, so the table does not grow with every session."""
        entry = self._locks.setdefault(session_id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._locks.pop(session_id, None)

    # ------------------------------------------------------------------ sessions

    async def create_session(self, db, workspace_id: str, data: CreateSession) -> ChatSessionOut:
        title = (data.title or "").strip()
        if data.workflow_id is not None:
            workflow = await WorkflowService(db, workspace_id).get(data.workflow_id)  # 404 across workspaces
            title = title or workflow.name
        row = await ChatStore(db, workspace_id).create_session(workflow_id=data.workflow_id, title=title)
        return await self.get_session(db, workspace_id, row.id)

    async def get_session(self, db, workspace_id: str, session_id: str) -> ChatSessionOut:
        store = ChatStore(db, workspace_id)
        row = await store.get_session(session_id)
        state = state_of(row)
        workflow = None
        if row.workflow_id:
            try:
                workflow = await WorkflowService(db, workspace_id).get(row.workflow_id)
            except NotFoundError:  # deleted meanwhile
                workflow = None
        pending = state.pending
        return ChatSessionOut(
            id=row.id, title=row.title, workflow_id=row.workflow_id if workflow else None, workflow=workflow,
            pending_question=pending, can_undo=bool(workflow and state.undo),
            messages=[message_out(m) for m in await store.messages(session_id)],
            created_at=row.created_at, updated_at=row.updated_at,
        )

    async def post_message(self, workspace_id: str, session_id: str, content: str) -> str:
        """Store the user's message and a pending reply, start the turn; returns the reply's id
        (= its stream id)."""
        text = (content or "").strip()
        if not text:
            raise UnprocessableError("content: must not be empty", extra={"field": "content"})
        if len(text) > MAX_MESSAGE_CHARS:
            raise UnprocessableError(f"content: must be at most {MAX_MESSAGE_CHARS} characters", extra={"field": "content"})
        async with self.rt.sessions() as db:
            store = ChatStore(db, workspace_id)
            await store.get_session(session_id)
            user, reply = await store.add_exchange(session_id, text)
            await db.commit()
        self.rt.spawn(self._run_turn(workspace_id, session_id, user.id, reply.id, text), name=f"chat:{reply.id}")
        return reply.id

    async def check_message(self, workspace_id: str, session_id: str, message_id: str) -> None:
        async with self.rt.sessions() as db:
            await ChatStore(db, workspace_id).get_message(session_id, message_id)

    async def undo(self, workspace_id: str, session_id: str) -> UndoResult:
        """Restore the version before the chat's last edit (as a new version). 409 if none."""
        async with self._lock(session_id):
            _, after, restored = await self._undo(workspace_id, session_id)
            text = f"Undid the last change: version {restored} is the current workflow again (saved as version {after.version})."
            async with self.rt.sessions() as db:
                store = ChatStore(db, workspace_id)
                _, reply = await store.add_exchange(session_id, "/undo")
                await store.finish_message(reply.id, content=text, metadata={"status": "done", "outcome": "undone"},
                                           workflow_version=after.version)
                await db.commit()
        return UndoResult(workflow=after, restored_version=restored, message=text)

    # ------------------------------------------------------------------ the turn

    async def _run_turn(self, workspace_id: str, session_id: str, user_id: str, reply_id: str, content: str) -> None:
        async with self._lock(session_id):
            recorder = EventRecorder(reply_id, bus=self.rt.bus, sessions=self.rt.sessions)
            turn = _Turn(recorder, workspace_id=workspace_id, session_id=session_id, content=content)
            cancelled = False
            try:
                turn.emit(MessageStarted(message_id=reply_id, session_id=session_id, reply_to=user_id))
                await self._set_status(workspace_id, reply_id, "streaming")
                result = await self._dispatch(turn)
            except asyncio.CancelledError:
                cancelled = True
                result = TurnResult("error", "The server stopped before this reply finished; the workflow was not changed by it.",
                                    error="the server is shutting down")
            except PilotError as exc:
                result = TurnResult("error", self._sorry(turn.lang, exc.detail), error=exc.detail)
            except Exception:
                log.exception("chat turn %s failed", reply_id)
                result = TurnResult("error", self._sorry(turn.lang, "internal error"), error="internal error")
            try:
                await self._finish(turn, reply_id, result)
            finally:
                await recorder.aclose()
            if cancelled:
                raise asyncio.CancelledError

    @staticmethod
    def _sorry(lang: str, detail: str) -> str:
        if lang == "zh":
            return f"抱歉，这一步没有完成：{detail}。工作流保持不变。"
        return f"Sorry, I couldn't do that: {detail}. The workflow is unchanged."

    async def _finish(self, turn: _Turn, reply_id: str, result: TurnResult) -> None:
        if result.error:
            turn.emit(ErrorEvent(message=result.error, code=result.outcome))
        await turn.say(result.text)
        meta = {"status": "error" if result.outcome == "error" else "done", "outcome": result.outcome, **result.meta}
        async with self.rt.sessions() as db:  # persisted before message.finished
            await ChatStore(db, turn.workspace_id).finish_message(
                reply_id, content=result.text, metadata=meta, workflow_version=result.workflow_version
            )
            await db.commit()
        turn.emit(MessageFinished(
            message_id=reply_id, outcome=result.outcome, content=result.text, workflow_id=result.workflow_id,
            workflow_version=result.workflow_version, execution_id=result.meta.get("execution_id"),
            stream_url=result.meta.get("stream_url"),
        ))

    async def _set_status(self, workspace_id: str, reply_id: str, status: str) -> None:
        async with self.rt.sessions() as db:
            await ChatStore(db, workspace_id).finish_message(reply_id, content="", metadata={"status": status}, workflow_version=None)
            await db.commit()

    async def _dispatch(self, turn: _Turn) -> TurnResult:
        for _ in range(MAX_ATTEMPTS):
            snap = await self._snapshot(turn.workspace_id, turn.session_id)
            try:
                return await self._route(turn, snap)
            except _Retry:
                continue
        raise ConflictError("the workflow kept changing while this message was processed; please send it again")

    async def _route(self, turn: _Turn, snap: _Snapshot) -> TurnResult:
        text = turn.content
        if replies.is_undo(text):
            return await self._undo_turn(turn)
        if snap.workflow is None:
            pending = snap.state.pending
            if pending is not None:
                choice = replies.resolve_answer(text, pending)
                return await self._create(turn, pending.prompt if choice else f"{pending.prompt} {text}", choice=choice, ask=False)
            return await self._create(turn, text)
        if replies.is_run(text):
            return await self._run(turn, snap.workflow)
        return await self._refine(turn, snap)

    async def _snapshot(self, workspace_id: str, session_id: str) -> _Snapshot:
        async with self.rt.sessions() as db:
            row = await ChatStore(db, workspace_id).get_session(session_id)
            workflow = None
            if row.workflow_id:
                try:
                    workflow = await WorkflowService(db, workspace_id).get(row.workflow_id)
                except NotFoundError:
                    workflow = None
            return _Snapshot(state=state_of(row), workflow=workflow, title=row.title)

    async def _save(self, turn: _Turn, write: Callable[[Any, Any, Any], Awaitable[Any]]) -> Any:
        """Run ``write(db, session_row, state)`` with the session row locked, then commit."""
        async with self.rt.sessions() as db:
            row = await ChatStore(db, turn.workspace_id).get_session(turn.session_id, for_update=True)
            state = state_of(row)
            try:
                out = await write(db, row, state)
            except ConflictError:
                await db.rollback()
                raise _Retry from None
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

    async def _create(self, turn: _Turn, prompt: str, *, choice: str | None = None, ask: bool = True) -> TurnResult:
        from pilot.chat.generate import analyze, generate, recommend

        catalog = self.rt.templates
        blueprint = await analyze(prompt, catalog=catalog, settings=self.rt.settings)
        recs = recommend(blueprint, catalog, 3)
        turn.emit(Analysis(
            mode="create", intent=choice or blueprint.intent, confidence=blueprint.confidence, language=turn.lang,
            candidates=[TemplateCandidate(template_id=r.template_id, name=r.name, score=r.score, reason=r.reason) for r in recs],
        ))
        if choice is None and ask and blueprint.confidence < CLARIFY_BELOW:
            options = self._options(recs, turn.lang)
            question = replies.clarify_question(turn.lang)
            pending = PendingQuestion(question=question, options=options, prompt=prompt)

            async def remember(db, row, state):
                state.pending = pending

            await self._save(turn, remember)
            turn.emit(Clarification(question=question, options=[ClarifyOption(id=o.id, label=o.label, reason=o.reason) for o in options]))
            return TurnResult("clarify", replies.clarify_text(turn.lang, question, options), meta={"options": [o.id for o in options]})
        if choice is not None:
            blueprint = msgspec.structs.replace(blueprint, template_id=choice, intent=choice, confidence=max(blueprint.confidence, 0.9))
        graph = generate(blueprint, prompt, catalog)
        turn.emit(BlueprintEvent(blueprint=msgspec.to_builtins(blueprint)))
        name = (blueprint.title or prompt)[:120]

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
        await self._stream_change(turn, None, workflow)
        template = catalog.get(blueprint.template_id)
        schedule = describe_cron(graph.settings.schedule, turn.lang) if graph.settings.schedule else None
        text = replies.creation_text(turn.lang, name=name, template_name=template.name.zh if turn.lang == "zh" else template.name.en,
                                     graph=workflow.graph(), schedule_text=schedule)
        return TurnResult("created", text, workflow_id=workflow.id, workflow_version=workflow.version,
                          meta={"template_id": blueprint.template_id})

    async def _stream_change(self, turn: _Turn, old: WorkflowGraph | None, workflow: Workflow) -> None:
        for event in diff_graphs(old, workflow.graph()):
            turn.emit(event)
            await asyncio.sleep(0)
        turn.emit(WorkflowReady(workflow=msgspec.to_builtins(workflow)))

    # ------------------------------------------------------------------ refine

    async def _plan(self, text: str, graph: WorkflowGraph, lang: str) -> tuple[WorkflowGraph | None, list[str], list[str], str, list]:
        """(new graph or None, change notes, problem notes, planner, ops)."""
        llm = self.rt.settings.llm
        if llm.enabled:
            try:
                ops, explanation = await plan_with_llm(text, graph, settings=llm)
                return apply_edits(graph, ops), [explanation], [], "llm", ops
            except (StructuredOutputError, EditError) as exc:
                log.info("chat: LLM edit planner gave up (%s); using the rule-based planner", exc)
        plan = plan_edits(text, graph)
        return plan.graph, [n.text(lang) for n in plan.changes], [n.text(lang) for n in plan.problems], "rules", plan.ops

    async def _refine(self, turn: _Turn, snap: _Snapshot) -> TurnResult:
        current = snap.workflow
        assert current is not None
        new_graph, changes, problems, planner, ops = await self._plan(turn.content, current.graph(), turn.lang)
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
                current.id, graph=new_graph, base_version=current.version, new_version=True
            )
            state.undo.append(current.version)
            return saved

        saved = await self._save(turn, save)
        await self._stream_change(turn, current.graph(), saved)
        return TurnResult("edited", replies.edit_text(turn.lang, changes, problems, saved.version),
                          workflow_id=saved.id, workflow_version=saved.version, meta=meta)

    # ------------------------------------------------------------------ undo / run

    async def _undo(self, workspace_id: str, session_id: str) -> tuple[Workflow, Workflow, int]:
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
            return before, after, restored

    async def _undo_turn(self, turn: _Turn) -> TurnResult:
        turn.emit(Analysis(mode="undo", language=turn.lang))
        try:
            before, after, restored = await self._undo(turn.workspace_id, turn.session_id)
        except ConflictError:
            text = "没有可以撤销的修改。" if turn.lang == "zh" else "There is nothing to undo."
            return TurnResult("unchanged", text)
        await self._stream_change(turn, before.graph(), after)
        text = (f"已撤销上一次修改：恢复到第 {restored} 版（保存为第 {after.version} 版）。" if turn.lang == "zh"
                else f"Undid the last change: version {restored} is back (saved as version {after.version}).")
        return TurnResult("undone", text, workflow_id=after.id, workflow_version=after.version)

    async def _run(self, turn: _Turn, workflow: Workflow) -> TurnResult:
        turn.emit(Analysis(mode="run", intent=workflow.template_id, language=turn.lang))
        if self.rt.runs is None:
            return TurnResult("error", self._sorry(turn.lang, "runs are not available on this server"), error="runs unavailable")
        inputs = replies.run_inputs(turn.content, workflow.graph())
        try:
            async with self.rt.sessions() as db:
                started = await self.rt.runs.start(db, turn.workspace_id, workflow.id, inputs)
        except PilotError as exc:
            fields = [f.name for n in workflow.nodes if node_type(n) == "input" for f in n.config.fields if f.required]  # type: ignore[attr-defined]
            example = ", ".join(f"{name}=…" for name in fields) or "text=…"
            text = (f"没能开始运行：{exc.detail}。请这样提供输入：“运行一下，{example}”。" if turn.lang == "zh"
                    else f"I couldn't start the run: {exc.detail}. Give the inputs like: run it with {example}")
            return TurnResult("error", text, workflow_id=workflow.id, workflow_version=workflow.version, error=exc.detail)
        text = (f"已开始运行（版本 {workflow.version}）：执行 ID {started.execution_id}，实时进度：{started.stream_url}" if turn.lang == "zh"
                else f"Started a run of version {workflow.version}: execution {started.execution_id}. Live progress: {started.stream_url}")
        return TurnResult("run", text, workflow_id=workflow.id, workflow_version=workflow.version,
                          meta={"execution_id": started.execution_id, "stream_url": started.stream_url, "inputs": inputs})


async def start_chat(runtime: Any) -> None:
    """Start-up hook: the process's ChatService."""
    runtime.chat = ChatService(runtime)
