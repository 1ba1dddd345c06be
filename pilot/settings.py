"""Settings: one frozen Struct per subsystem, each field declared ONCE with its environment variable.

A field's environment variable is part of its type (``Annotated[int, env("PORT")] = 8000``), so
its default is written once, here. :meth:`Settings.from_env` reads every annotated variable and
lets msgspec convert the strings to the field types (non-strict: ``"16"`` → 16); an empty value
means unset. Booleans accept ``1/true/yes/on``; lists are comma-separated.

``get_settings()`` is cached; tests build their own with ``Settings.from_env({...})`` and pass
it to ``create_app(settings)`` instead of mutating globals.
"""

from __future__ import annotations

import os
import typing
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

import msgspec
from msgspec import Meta, Struct, field


def env(name: str) -> Meta:
    """The environment variable a settings field is read from."""
    return Meta(extra={"env": name})


class AppSettings(Struct, frozen=True):
    name: str = "pilot"
    debug: Annotated[bool, env("PILOT_DEBUG")] = False
    data_dir: Annotated[Path, env("PILOT_DATA_DIR")] = Path(".pilot")
    host: Annotated[str, env("HOST")] = "0.0.0.0"
    port: Annotated[int, env("PORT")] = 8000
    # Proxies whose X-Forwarded-For / -Proto `pilot serve` believes (uvicorn's forwarded_allow_ips): the client
    # address decides the per-IP login limit, so only a proxy you run may set it. "*" behind Railway's edge.
    forwarded_allow_ips: Annotated[str, env("PILOT_FORWARDED_ALLOW_IPS")] = "127.0.0.1"
    max_body_bytes: Annotated[int, env("PILOT_MAX_BODY_BYTES")] = 1_048_576
    cors_origins: Annotated[list[str], env("PILOT_CORS_ORIGINS")] = []
    public_url: Annotated[str, env("PILOT_PUBLIC_URL")] = ""
    templates_dir: Annotated[Path | None, env("PILOT_TEMPLATES_DIR")] = None  # None: the repo's templates/
    # Credential encryption key (pilot.credentials.crypto); None: a key file <data_dir>/secret.key is made once.
    secret_key: Annotated[Annotated[str, Meta(min_length=32)] | None, env("PILOT_SECRET_KEY")] = None
    # How long a process trusts an API key it has looked up (pilot.auth.principals); 0: every request reads it.
    auth_cache_ttl_s: Annotated[float, Meta(ge=0, le=300), env("PILOT_AUTH_CACHE_TTL_S")] = 10.0
    # Processes that run offline generations off the event loop (pilot.generation.offload); 0: on it.
    generation_processes: Annotated[int, Meta(ge=0, le=64), env("PILOT_GENERATION_PROCESSES")] = 2
    # Logs (pilot.observability.logs): JSON lines, console lines, or auto (console on a terminal, else JSON).
    log_format: Annotated[Literal["json", "console", "auto"], env("PILOT_LOG_FORMAT")] = "auto"
    log_level: Annotated[str, env("PILOT_LOG_LEVEL")] = "info"
    # GET /metrics (Prometheus): open when unset; when set, scrapers send "Authorization: Bearer <token>".
    metrics_token: Annotated[str | None, env("PILOT_METRICS_TOKEN")] = None


    def __repr__(self) -> str:  # never leak the credential encryption key into logs
        hidden = ("secret_key", "metrics_token")
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__struct_fields__ if k not in hidden)
        return (f"AppSettings({shown}, secret_key={'***' if self.secret_key else None}, "
                f"metrics_token={'***' if self.metrics_token else None})")

class DatabaseSettings(Struct, frozen=True):
    url: Annotated[str, env("DATABASE_URL")]  # unset: SQLite in the data dir (see Settings.from_env)
    echo: Annotated[bool, env("DATABASE_ECHO")] = False
    pool_size: Annotated[int, env("DATABASE_POOL_SIZE")] = 10
    auto_migrate: Annotated[bool, env("PILOT_AUTO_MIGRATE")] = True

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


class RedisSettings(Struct, frozen=True):
    url: Annotated[str | None, env("REDIS_URL")] = None
    stream_maxlen: Annotated[int, env("PILOT_STREAM_MAXLEN")] = 10_000
    stream_ttl_s: Annotated[int, env("PILOT_STREAM_TTL_S")] = 3600
    key_prefix: Annotated[str, env("PILOT_REDIS_PREFIX")] = "pilot"
    # Background runs (pilot.background): arq worker tuning and crash safety.
    worker_max_jobs: Annotated[int, env("PILOT_WORKER_MAX_JOBS")] = 50  # concurrent runs per worker process
    worker_poll_delay_s: Annotated[float, env("PILOT_WORKER_POLL_DELAY_S")] = 0.02  # bounds time-to-first-event
    job_timeout_s: Annotated[float, env("PILOT_JOB_TIMEOUT_S")] = 4000.0  # > the run deadline: that ends runs first
    heartbeat_s: Annotated[float, env("PILOT_HEARTBEAT_S")] = 5.0  # a running execution's heartbeat period
    stale_after_s: Annotated[float, env("PILOT_STALE_AFTER_S")] = 30.0  # no heartbeat this long: holder presumed dead
    sweep_interval_s: Annotated[float, env("PILOT_SWEEP_INTERVAL_S")] = 10.0  # how often workers look for stale runs
    max_run_attempts: Annotated[int, env("PILOT_MAX_RUN_ATTEMPTS")] = 3  # worker crashes survived before failing
    subscribe_block_s: Annotated[float, env("PILOT_SUBSCRIBE_BLOCK_S")] = 5.0  # XREAD BLOCK, then the DB is checked
    worker_shutdown_grace_s: Annotated[float, env("PILOT_WORKER_SHUTDOWN_GRACE_S")] = 10.0  # then runs are handed back

    @property
    def enabled(self) -> bool:
        return bool(self.url)


class LLMSettings(Struct, frozen=True):
    """The openai-compatible provider. No key → the offline analyzer and offline LLM provider."""

    api_key: Annotated[str | None, env("OPENAI_API_KEY")] = None
    base_url: Annotated[str | None, env("OPENAI_BASE_URL")] = None
    model: Annotated[str, env("PILOT_LLM_MODEL")] = "gpt-4o-mini"
    analyzer_model: Annotated[str | None, env("PILOT_ANALYZER_MODEL")] = None
    fallback_models: Annotated[list[str], env("PILOT_LLM_FALLBACK_MODELS")] = []
    timeout_s: Annotated[float, env("PILOT_LLM_TIMEOUT_S")] = 30.0
    max_retries: Annotated[int, env("PILOT_LLM_MAX_RETRIES")] = 2
    reask_retries: Annotated[int, env("PILOT_LLM_REASK_RETRIES")] = 2
    structured_mode: Annotated[str, env("PILOT_LLM_STRUCTURED_MODE")] = "tools"  # instructor: tools | json_schema | json

    @property
    def enabled(self) -> bool:
        return bool(self.api_key)

    def __repr__(self) -> str:  # never leak the key into logs
        return f"LLMSettings(base_url={self.base_url!r}, model={self.model!r}, api_key={'***' if self.api_key else None})"


class EngineSettings(Struct, frozen=True):
    max_concurrency: Annotated[int, env("PILOT_MAX_CONCURRENCY")] = 16
    run_deadline_s: Annotated[float, env("PILOT_RUN_DEADLINE_S")] = 3600.0
    default_node_timeout_s: Annotated[float, env("PILOT_NODE_TIMEOUT_S")] = 300.0
    http_allow_private: Annotated[bool, env("PILOT_HTTP_ALLOW_PRIVATE")] = False
    http_allowlist: Annotated[list[str], env("PILOT_HTTP_ALLOWLIST")] = []
    http_max_response_bytes: Annotated[int, env("PILOT_HTTP_MAX_RESPONSE_BYTES")] = 5_000_000
    sse_ping_s: Annotated[float, env("PILOT_SSE_PING_S")] = 15.0
    # Per-run budget (pilot.engine.budget); 0 = unlimited; workspaces may get operator overrides.
    run_max_node_runs: Annotated[int, env("PILOT_RUN_MAX_NODE_RUNS")] = 10_000
    run_max_events: Annotated[int, env("PILOT_RUN_MAX_EVENTS")] = 100_000
    run_max_event_bytes: Annotated[int, env("PILOT_RUN_MAX_EVENT_BYTES")] = 64 * 1024 * 1024
    # Triggers (pilot.triggers): how often each process looks for due schedule ticks, and whether
    # 6-field (per-second) cron is allowed (tests, demos; production schedules have 5 fields).
    scheduler_interval_s: Annotated[float, env("PILOT_SCHEDULER_INTERVAL_S")] = 1.0
    schedule_seconds: Annotated[bool, env("PILOT_SCHEDULE_SECONDS")] = False
    # Durable waits: tests shift the wait clock (pilot.core.clock) ahead of real time; 0 in production.
    clock_offset_s: Annotated[float, env("PILOT_CLOCK_OFFSET_S")] = 0.0
    wait_sweep_interval_s: Annotated[float, env("PILOT_WAIT_SWEEP_INTERVAL_S")] = 5.0  # due waiting runs (API processes)
    # Sub-workflows (`workflow` nodes): how deep runs may nest (a top-level run is depth 0).
    subworkflow_max_depth: Annotated[int, Meta(ge=0, le=100), env("PILOT_SUBWORKFLOW_MAX_DEPTH")] = 5
    # Agent nodes (pilot.agents.loop): the size of a tool call's arguments/result in node.tool_call
    # events (larger values are cut, after redaction), and of a tool result handed back to the model.
    agent_event_max_bytes: Annotated[int, Meta(ge=1, le=1_048_576), env("PILOT_AGENT_EVENT_MAX_BYTES")] = 4096
    agent_result_max_chars: Annotated[int, Meta(ge=1, le=1_000_000), env("PILOT_AGENT_RESULT_MAX_CHARS")] = 16_000


class ToolSettings(Struct, frozen=True):
    smtp_host: Annotated[str | None, env("SMTP_HOST")] = None
    smtp_port: Annotated[int, env("SMTP_PORT")] = 587
    smtp_user: Annotated[str | None, env("SMTP_USER")] = None
    smtp_password: Annotated[str | None, env("SMTP_PASSWORD")] = None
    smtp_from: Annotated[str, env("SMTP_FROM")] = "pilot@localhost"
    smtp_starttls: Annotated[bool, env("SMTP_STARTTLS")] = True
    smtp_timeout_s: Annotated[float, env("SMTP_TIMEOUT_S")] = 30.0
    slack_webhook_url: Annotated[str | None, env("SLACK_WEBHOOK_URL")] = None  # the URL is a secret: never logged
    # MCP (pilot.mcp): stdio servers start a local process, so only an operator may allow them;
    # the client's per-operation budget; how long an MCP call of a πlot workflow (/mcp) waits for the run.
    mcp_stdio: Annotated[bool, env("PILOT_MCP_STDIO")] = False
    mcp_timeout_s: Annotated[float, Meta(gt=0, le=3600), env("PILOT_MCP_TIMEOUT_S")] = 30.0
    mcp_run_timeout_s: Annotated[float, Meta(gt=0, le=86_400), env("PILOT_MCP_RUN_TIMEOUT_S")] = 300.0
    # Data tables (pilot.tables): size limits.
    tables_per_workspace: Annotated[int, Meta(ge=1), env("PILOT_TABLES_PER_WORKSPACE")] = 100
    table_max_rows: Annotated[int, Meta(ge=1), env("PILOT_TABLE_MAX_ROWS")] = 100_000
    table_max_row_bytes: Annotated[int, Meta(ge=1), env("PILOT_TABLE_MAX_ROW_BYTES")] = 65_536

    def __repr__(self) -> str:
        return (
            f"ToolSettings(smtp_host={self.smtp_host!r}, smtp_user={self.smtp_user!r}, smtp_password=***, "
            f"slack_webhook_url={'***' if self.slack_webhook_url else None})"
        )


class AuthSettings(Struct, frozen=True):
    """Users, login and roles (pilot.auth)."""

    # HS256 key of access tokens; unset: derived from PILOT_SECRET_KEY, else the key file <data_dir>/jwt.key.
    jwt_secret: Annotated[Annotated[str, Meta(min_length=32)] | None, env("PILOT_JWT_SECRET")] = None
    access_token_ttl_s: Annotated[float, Meta(gt=0), env("PILOT_ACCESS_TOKEN_TTL_S")] = 900.0
    refresh_token_ttl_s: Annotated[float, Meta(gt=0), env("PILOT_REFRESH_TOKEN_TTL_S")] = 30 * 86_400.0
    invitation_ttl_s: Annotated[float, Meta(gt=0), env("PILOT_INVITATION_TTL_S")] = 7 * 86_400.0
    # Brute-force protection of POST /api/auth/login: failures per account and per client IP in a window.
    login_max_failures_account: Annotated[int, Meta(ge=1), env("PILOT_LOGIN_MAX_FAILURES_ACCOUNT")] = 5
    login_max_failures_ip: Annotated[int, Meta(ge=1), env("PILOT_LOGIN_MAX_FAILURES_IP")] = 20
    login_window_s: Annotated[float, Meta(gt=0), env("PILOT_LOGIN_WINDOW_S")] = 900.0
    # The first start in embedded mode creates this admin user (random password, printed once).
    admin_email: Annotated[str, env("PILOT_ADMIN_EMAIL")] = "admin@localhost"

    def __repr__(self) -> str:  # never leak the token key into logs
        return f"AuthSettings(access_token_ttl_s={self.access_token_ttl_s}, jwt_secret={'***' if self.jwt_secret else None})"


class ObservabilitySettings(Struct, frozen=True):
    """Tracing (OpenTelemetry over OTLP/HTTP) and error reports (Sentry): each off, and not even
    imported, unless configured (pilot.observability.tracing, pilot.observability.sentry)."""

    # The OTLP/HTTP collector: its base URL (http://collector:4318, /v1/traces is appended) or the
    # full traces URL. PILOT_OTEL_ENDPOINT wins over the standard OTEL_EXPORTER_OTLP_ENDPOINT.
    otel_endpoint: Annotated[str | None, env("PILOT_OTEL_ENDPOINT")] = None
    otlp_endpoint: Annotated[str | None, env("OTEL_EXPORTER_OTLP_ENDPOINT")] = None
    otel_service_name: Annotated[str, env("PILOT_OTEL_SERVICE_NAME")] = "pilot"
    # Sentry: the DSN turns it on; environment and release label each report (release: pilot@<version>).
    sentry_dsn: Annotated[str | None, env("PILOT_SENTRY_DSN")] = None
    sentry_environment: Annotated[str, env("PILOT_SENTRY_ENVIRONMENT")] = "production"
    sentry_release: Annotated[str | None, env("PILOT_SENTRY_RELEASE")] = None

    @property
    def traces_endpoint(self) -> str | None:
        """Where spans are sent (None: tracing is off)."""
        base = (self.otel_endpoint or self.otlp_endpoint or "").strip()
        if not base:
            return None
        return base if base.rstrip("/").endswith("/v1/traces") else base.rstrip("/") + "/v1/traces"

    def __repr__(self) -> str:  # the DSN carries the project's key
        return (f"ObservabilitySettings(traces_endpoint={self.traces_endpoint!r}, "
                f"service={self.otel_service_name!r}, sentry_dsn={'***' if self.sentry_dsn else None})")


_TRUE = frozenset({"1", "true", "yes", "on"})


def _env_fields(cls: type[Struct]) -> dict[str, tuple[str, Any]]:
    """``field name -> (environment variable, field type)`` for the annotated fields of ``cls``."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out = {}
    for name, hint in hints.items():
        if typing.get_origin(hint) is Annotated:
            base, *extras = typing.get_args(hint)
            for extra in extras:
                if isinstance(extra, Meta) and extra.extra and "env" in extra.extra:
                    out[name] = (extra.extra["env"], base)
    return out


def _raw(value: str, kind: Any) -> Any:
    """The string as the shape msgspec converts to ``kind`` (booleans and lists need help)."""
    if kind is bool:
        return value.strip().lower() in _TRUE
    if typing.get_origin(kind) is list:
        return [item.strip() for item in value.split(",") if item.strip()]
    return value.strip()


def _dec_hook(kind: type, value: Any) -> Any:
    if kind is Path:
        return Path(value)
    raise NotImplementedError(kind)


def load(cls: type[Struct], environ: Mapping[str, str], **overrides: Any) -> Any:
    """Build ``cls`` from ``environ``: every annotated field that is set (non-empty), converted."""
    raw: dict[str, Any] = {}
    for name, (variable, kind) in _env_fields(cls).items():
        value = environ.get(variable)
        if value is not None and value.strip() != "":
            raw[name] = _raw(value, kind)
    raw.update(overrides)
    try:
        return msgspec.convert(raw, cls, strict=False, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise ValueError(f"invalid setting in {cls.__name__}: {exc}") from exc


def _database_url(environ: Mapping[str, str], data_dir: Path) -> str:
    url = (environ.get("DATABASE_URL") or "").strip() or f"sqlite+aiosqlite:///{data_dir / 'pilot.db'}"
    # Railway / Heroku style URLs name the driver-less scheme; we run psycopg 3.
    for legacy in ("postgres://", "postgresql://"):
        if url.startswith(legacy):
            return "postgresql+psycopg://" + url[len(legacy):]
    return url


class Settings(Struct, frozen=True):
    app: AppSettings
    db: DatabaseSettings
    redis: RedisSettings
    llm: LLMSettings
    engine: EngineSettings
    tools: ToolSettings = field(default_factory=ToolSettings)
    observability: ObservabilitySettings = field(default_factory=ObservabilitySettings)
    auth: AuthSettings = field(default_factory=AuthSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        e = os.environ if environ is None else environ
        app = load(AppSettings, e)
        return cls(
            app=app,
            db=load(DatabaseSettings, e, url=_database_url(e, app.data_dir)),
            redis=load(RedisSettings, e),
            llm=load(LLMSettings, e),
            engine=load(EngineSettings, e),
            tools=load(ToolSettings, e),
            observability=load(ObservabilitySettings, e),
            auth=load(AuthSettings, e),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()
