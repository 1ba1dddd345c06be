"""SQLAlchemy ORM models for every table πlot stores.

JSON columns are JSONB on PostgreSQL and JSON on SQLite. All timestamps are UTC. Every
tenant-owned row carries ``workspace_id``; queries must always filter by it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pilot.core.ids import new_id, utcnow

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
TZDateTime = sa.DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _id_column(prefix: str) -> Mapped[str]:
    return mapped_column(sa.String(64), primary_key=True, default=lambda: new_id(prefix))


def _created() -> Mapped[datetime]:
    return mapped_column(TZDateTime, default=utcnow, nullable=False)


def _workspace_fk() -> Mapped[str]:
    return mapped_column(sa.String(64), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True, nullable=False)


class WorkspaceRow(Base):
    __tablename__ = "workspaces"
    id: Mapped[str] = _id_column("ws")
    name: Mapped[str] = mapped_column(sa.String(200), unique=True, nullable=False)
    created_at: Mapped[datetime] = _created()
    # Operator overrides of the per-run budget (pilot.engine.budget.RunLimits fields); null: defaults.
    run_limits: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # The team it belongs to (pilot.auth.orgs); null only for rows made outside pilot.auth.service.
    team_id: Mapped[str | None] = mapped_column(sa.String(64), sa.ForeignKey("teams.id", ondelete="SET NULL"), index=True)


class ApiKeyRow(Base):
    """API keys are stored as sha256 hashes; ``prefix`` is shown to users to tell keys apart."""

    __tablename__ = "api_keys"
    id: Mapped[str] = _id_column("key")
    workspace_id: Mapped[str] = _workspace_fk()
    name: Mapped[str] = mapped_column(sa.String(200), default="default", nullable=False)
    prefix: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    # A key is a service account of its workspace with a role (pilot.auth.roles): guest | member | admin.
    role: Mapped[str] = mapped_column(sa.String(16), default="admin", server_default="admin", nullable=False)


class WorkflowRow(Base):
    """The head of a workflow: its current version's graph lives in ``graph``."""

    __tablename__ = "workflows"
    id: Mapped[str] = _id_column("wf")
    workspace_id: Mapped[str] = _workspace_fk()
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    template_id: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="draft", nullable=False, index=True)
    version: Mapped[int] = mapped_column(sa.Integer, default=1, nullable=False)
    graph: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow, nullable=False, index=True)


class WorkflowVersionRow(Base):
    """Immutable snapshot of every saved version (published versions are never rewritten)."""

    __tablename__ = "workflow_versions"
    __table_args__ = (sa.UniqueConstraint("workflow_id", "version", name="uq_workflow_versions_workflow_version"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("workflows.id", ondelete="CASCADE"), index=True, nullable=False)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    graph: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[datetime] = _created()


class ExecutionRow(Base):
    __tablename__ = "executions"
    # Usage aggregates and budget checks read one workspace's runs of a period (pilot.usage).
    __table_args__ = (sa.Index("ix_executions_workspace_created", "workspace_id", "created_at"),)
    id: Mapped[str] = _id_column("exe")
    workspace_id: Mapped[str] = _workspace_fk()
    workflow_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("workflows.id", ondelete="CASCADE"), index=True, nullable=False)
    workflow_version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    graph: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)  # the exact graph that ran
    status: Mapped[str] = mapped_column(sa.String(16), default="queued", nullable=False, index=True)
    mode: Mapped[str] = mapped_column(sa.String(16), default="inline", nullable=False)
    trigger: Mapped[str] = mapped_column(sa.String(16), default="manual", nullable=False, index=True)  # how it started
    rerun_of: Mapped[str | None] = mapped_column(sa.String(64))  # the execution a rerun-from-node reuses
    created_by: Mapped[str | None] = mapped_column(sa.String(64))  # the user (usr_…) or API key (key_…) that started it
    parent_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)  # a sub-workflow run's parent execution
    parent_node: Mapped[str | None] = mapped_column(sa.String(200))  # the parent's `workflow` node (qualified path)
    depth: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0", nullable=False)  # sub-workflow nesting
    resume_at: Mapped[datetime | None] = mapped_column(TZDateTime, index=True)  # a `waiting` run is due then (NULL: approval)
    resumed_at: Mapped[datetime | None] = mapped_column(TZDateTime)  # last claim out of `waiting` (the run deadline counts from it)
    input_data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(sa.Text)
    usage: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)
    cancel_requested: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False)
    worker_id: Mapped[str | None] = mapped_column(sa.String(200))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    last_seq: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    heartbeat_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, nullable=False, index=True)
    started_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class UsageSettingsRow(Base):
    """A workspace's usage settings (:mod:`pilot.usage`): monthly cost limits (null: none) and LLM
    price overrides (``{model: {input_per_m, output_per_m}}``, USD per 1M tokens)."""

    __tablename__ = "usage_settings"
    workspace_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    soft_limit_usd: Mapped[float | None] = mapped_column(sa.Float)
    hard_limit_usd: Mapped[float | None] = mapped_column(sa.Float)
    prices: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class ApprovalRow(Base):
    """The decision on one ``wait`` approval node of one execution. ``(execution_id, node_id)`` is
    unique: the first decision (a person's, or the timeout's) is the only one (pilot.engine.approvals)."""

    __tablename__ = "approvals"
    __table_args__ = (sa.UniqueConstraint("execution_id", "node_id", name="uq_approvals_execution_node"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    execution_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("executions.id", ondelete="CASCADE"), index=True, nullable=False)
    workspace_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    node_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    approved: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    comment: Mapped[str] = mapped_column(sa.Text, default="", server_default="", nullable=False)
    decided_by: Mapped[str] = mapped_column(sa.String(200), nullable=False)  # an API key name, or "timeout"
    decided_at: Mapped[datetime] = _created()


class NodeResultRow(Base):
    """One row per (execution, node): makes node execution idempotent and runs resumable."""

    __tablename__ = "node_results"
    __table_args__ = (sa.UniqueConstraint("execution_id", "node_id", name="uq_node_results_execution_node"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    execution_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("executions.id", ondelete="CASCADE"), index=True, nullable=False)
    node_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    node_type: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=1, nullable=False)
    output: Mapped[Any] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(sa.Text)
    usage: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    elapsed_ms: Mapped[float | None] = mapped_column(sa.Float)


class StreamEventRow(Base):
    """Every SSE event of a run or chat stream, so any stream can be replayed from any id."""

    __tablename__ = "stream_events"
    stream_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)  # "exe_…" or "chat_…"
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[datetime] = _created()


class KnowledgeBaseRow(Base):
    __tablename__ = "knowledge_bases"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name", name="uq_knowledge_bases_workspace_name"),)
    id: Mapped[str] = _id_column("kb")
    workspace_id: Mapped[str] = _workspace_fk()
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    created_at: Mapped[datetime] = _created()


class KnowledgeDocumentRow(Base):
    __tablename__ = "knowledge_documents"
    id: Mapped[str] = _id_column("doc")
    knowledge_base_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    content: Mapped[str] = mapped_column(sa.Text, nullable=False)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict, nullable=False)
    created_at: Mapped[datetime] = _created()


class KnowledgeChunkRow(Base):
    """A retrievable passage with its precomputed term list (n-grams for CJK, words otherwise)."""

    __tablename__ = "knowledge_chunks"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    knowledge_base_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True, nullable=False)
    document_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("knowledge_documents.id", ondelete="CASCADE"), index=True, nullable=False)
    ordinal: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    terms: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)


class ChatSessionRow(Base):
    __tablename__ = "chat_sessions"
    id: Mapped[str] = _id_column("chat")
    workspace_id: Mapped[str] = _workspace_fk()
    workflow_id: Mapped[str | None] = mapped_column(sa.String(64), sa.ForeignKey("workflows.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200), default="", nullable=False)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)  # pending clarification etc.
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class ChatMessageRow(Base):
    __tablename__ = "chat_messages"
    id: Mapped[str] = _id_column("msg")
    session_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True, nullable=False)
    role: Mapped[str] = mapped_column(sa.String(16), nullable=False)  # user | assistant
    content: Mapped[str] = mapped_column(sa.Text, nullable=False)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict, nullable=False)
    workflow_version: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, nullable=False, index=True)


class TriggerRow(Base):
    """A published workflow's trigger (one per workflow): how it starts by itself."""

    __tablename__ = "triggers"
    id: Mapped[str] = _id_column("trg")
    workspace_id: Mapped[str] = _workspace_fk()
    workflow_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("workflows.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    workflow_version: Mapped[int] = mapped_column(sa.Integer, nullable=False)  # the published version it runs
    kind: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)
    hook_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)  # unguessable: /hooks/{hook_id}
    signing_secret: Mapped[str | None] = mapped_column(sa.Text)  # HMAC-SHA256 key of signed webhooks, encrypted
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True, nullable=False, index=True)
    next_fire_at: Mapped[datetime | None] = mapped_column(TZDateTime, index=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, nullable=False)


class TriggerFireRow(Base):
    """One fire of a trigger. ``(trigger_id, scheduled_for)`` is unique: the exactly-once claim of
    a schedule tick across every process (webhook and form fires leave ``scheduled_for`` null)."""

    __tablename__ = "trigger_fires"
    __table_args__ = (sa.UniqueConstraint("trigger_id", "scheduled_for"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    trigger_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("triggers.id", ondelete="CASCADE"), index=True, nullable=False)
    scheduled_for: Mapped[datetime | None] = mapped_column(TZDateTime)
    fired_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, nullable=False)
    execution_id: Mapped[str | None] = mapped_column(sa.String(64))
    error: Mapped[str | None] = mapped_column(sa.Text)


class CredentialRow(Base):
    """A workspace's named secret (:mod:`pilot.credentials`). ``ciphertext`` is a Fernet token of
    the value bound to this row's workspace and id; the value itself is never stored."""

    __tablename__ = "credentials"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name", name="uq_credentials_workspace_name"),)
    id: Mapped[str] = _id_column("cred")
    workspace_id: Mapped[str] = _workspace_fk()
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    type: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    ciphertext: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class McpServerRow(Base):
    """An MCP server a workspace registered (:mod:`pilot.mcp`). ``config`` holds the transport's
    settings (headers, credential *name*, stdio command); never a secret value."""

    __tablename__ = "mcp_servers"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name", name="uq_mcp_servers_workspace_name"),)
    id: Mapped[str] = _id_column("mcp")
    workspace_id: Mapped[str] = _workspace_fk()
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    transport: Mapped[str] = mapped_column(sa.String(32), nullable=False)  # streamable_http | sse | stdio
    url: Mapped[str | None] = mapped_column(sa.Text)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class DataTableRow(Base):
    """A workspace's data table (:mod:`pilot.tables`): its typed columns and key columns.
    ``row_count`` is kept by the store in the same transaction as the rows (the size limit)."""

    __tablename__ = "data_tables"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name", name="uq_data_tables_workspace_name"),)
    id: Mapped[str] = _id_column("tbl")
    workspace_id: Mapped[str] = _workspace_fk()
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, nullable=False)
    key_columns: Mapped[list[str]] = mapped_column(JSONType, default=list, nullable=False)
    row_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0", nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class DataTableRecordRow(Base):
    """One row of a data table, as JSON. ``key_hash`` (sha256 of the key columns' values) is unique
    per table when the table has key columns, so upserts and key lookups use the index."""

    __tablename__ = "data_table_rows"
    __table_args__ = (sa.UniqueConstraint("table_id", "key_hash", name="uq_data_table_rows_table_key"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    table_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("data_tables.id", ondelete="CASCADE"), index=True, nullable=False)
    key_hash: Mapped[str | None] = mapped_column(sa.String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class ToolInstanceRow(Base):
    """A configured tool of a workspace (:mod:`pilot.tools.instances`): a connector with its
    credential *reference* (a credential name; the value stays in ``credentials``), connection
    settings and default arguments. Agents call it as ``tool:<id or name>``."""

    __tablename__ = "tool_instances"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name", name="uq_tool_instances_workspace_name"),)
    id: Mapped[str] = _id_column("tool")
    workspace_id: Mapped[str] = _workspace_fk()
    name: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    connector: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    credential: Mapped[str | None] = mapped_column(sa.String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)
    defaults: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class AgentRow(Base):
    """The head of a reusable agent definition (:mod:`pilot.agents.store`); ``config`` holds
    model, system prompt, tools, max_steps…; every version is kept in ``agent_versions``."""

    __tablename__ = "agents"
    id: Mapped[str] = _id_column("agent")
    workspace_id: Mapped[str] = _workspace_fk()
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    version: Mapped[int] = mapped_column(sa.Integer, default=1, nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class AgentVersionRow(Base):
    """Immutable snapshot of every version of an agent definition."""

    __tablename__ = "agent_versions"
    __table_args__ = (sa.UniqueConstraint("agent_id", "version", name="uq_agent_versions_agent_version"),)
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("agents.id", ondelete="CASCADE"), index=True, nullable=False)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)
    created_at: Mapped[datetime] = _created()


# ------------------------------------------------------------------ identity (pilot.auth)


class OrganizationRow(Base):
    """An organisation: owns teams, whose workspaces hold the work. ``owner_id`` is the user who
    created it and manages its teams and workspaces (null for the default organisation). Names are
    unique per owner only, so a taken name never reveals another tenant's organisation."""

    __tablename__ = "organizations"
    __table_args__ = (sa.UniqueConstraint("owner_id", "name", name="uq_organizations_owner_name"),)
    id: Mapped[str] = _id_column("org")
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    created_at: Mapped[datetime] = _created()
    owner_id: Mapped[str | None] = mapped_column(sa.String(64), sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)


class TeamRow(Base):
    __tablename__ = "teams"
    __table_args__ = (sa.UniqueConstraint("organization_id", "name", name="uq_teams_organization_name"),)
    id: Mapped[str] = _id_column("team")
    organization_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    created_at: Mapped[datetime] = _created()


class UserRow(Base):
    """A person who logs in. ``email`` is stored lower-cased; ``password_hash`` is argon2id."""

    __tablename__ = "users"
    id: Mapped[str] = _id_column("usr")
    email: Mapped[str] = mapped_column(sa.String(320), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(200), default="", nullable=False)
    password_hash: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    created_at: Mapped[datetime] = _created()
    last_login_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class MembershipRow(Base):
    """A user's role in a workspace (guest | member | admin)."""

    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "user_id", name="uq_memberships_workspace_user"),)
    id: Mapped[str] = _id_column("mem")
    workspace_id: Mapped[str] = _workspace_fk()
    user_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    role: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    created_at: Mapped[datetime] = _created()


class InvitationRow(Base):
    """An invitation of an email address into a workspace with a role; only the token's sha256 is kept."""

    __tablename__ = "invitations"
    id: Mapped[str] = _id_column("inv")
    workspace_id: Mapped[str] = _workspace_fk()
    email: Mapped[str] = mapped_column(sa.String(320), nullable=False)
    role: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    invited_by: Mapped[str | None] = mapped_column(sa.String(64))  # usr_… or key_…
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(TZDateTime, nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    accepted_by: Mapped[str | None] = mapped_column(sa.String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class AuthSessionRow(Base):
    """A login: its access tokens carry its id (``sid``), its refresh tokens rotate within it
    (the refresh-token family). Revoked on logout or when a rotated refresh token is reused."""

    __tablename__ = "auth_sessions"
    id: Mapped[str] = _id_column("ses")
    user_id: Mapped[str] = mapped_column(sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(TZDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(64))


class RefreshTokenRow(Base):
    """One refresh token of a session (sha256 only); ``rotated_at`` is set when it is exchanged."""

    __tablename__ = "refresh_tokens"
    id: Mapped[str] = _id_column("rt")
    session_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True, nullable=False
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = _created()
    rotated_at: Mapped[datetime | None] = mapped_column(TZDateTime)
