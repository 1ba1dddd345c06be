"""Settings: one frozen Struct per subsystem, read from the environment once.

``get_settings()`` is cached; tests build their own with ``Settings.from_env({...})`` and pass
it to ``create_app(settings)`` instead of mutating globals.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from msgspec import Struct, field


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


class AppSettings(Struct, frozen=True):
    name: str = "pilot"
    debug: bool = False
    data_dir: Path = Path(".pilot")
    host: str = "0.0.0.0"
    port: int = 8000
    max_body_bytes: int = 1_048_576
    cors_origins: list[str] = []
    public_url: str = ""
    templates_dir: Path | None = None  # None: the repo's templates/ directory


class DatabaseSettings(Struct, frozen=True):
    url: str
    echo: bool = False
    pool_size: int = 10
    auto_migrate: bool = True

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


class RedisSettings(Struct, frozen=True):
    url: str | None = None
    stream_maxlen: int = 10_000
    stream_ttl_s: int = 3600
    key_prefix: str = "pilot"
    # Background runs (pilot.background): arq worker tuning and crash safety.
    worker_max_jobs: int = 50  # concurrent runs per worker process
    worker_poll_delay_s: float = 0.02  # arq queue poll interval: bounds time-to-first-event
    job_timeout_s: float = 4000.0  # > engine.run_deadline_s: the run deadline ends runs first
    heartbeat_s: float = 5.0  # a running execution's heartbeat_at is refreshed this often
    stale_after_s: float = 30.0  # no heartbeat for this long: the worker is presumed dead
    sweep_interval_s: float = 10.0  # how often a worker looks for stale executions
    max_run_attempts: int = 3  # worker crashes survived before a run is failed
    subscribe_block_s: float = 5.0  # XREAD BLOCK; the database is checked when a block times out
    worker_shutdown_grace_s: float = 10.0  # SIGTERM: running jobs may finish this long, then are handed back

    @property
    def enabled(self) -> bool:
        return bool(self.url)


class LLMSettings(Struct, frozen=True):
    """The openai-compatible provider. No key → the offline analyzer and offline LLM provider."""

    api_key: str | None = None
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    analyzer_model: str | None = None
    fallback_models: list[str] = []
    timeout_s: float = 30.0
    max_retries: int = 2
    reask_retries: int = 2
    structured_mode: str = "tools"  # instructor mode: tools | json_schema | json

    @property
    def enabled(self) -> bool:
        return bool(self.api_key)

    def __repr__(self) -> str:  # never leak the key into logs
        return f"LLMSettings(base_url={self.base_url!r}, model={self.model!r}, api_key={'***' if self.api_key else None})"


class EngineSettings(Struct, frozen=True):
    max_concurrency: int = 16
    run_deadline_s: float = 3600.0
    default_node_timeout_s: float = 300.0
    http_allow_private: bool = False
    http_allowlist: list[str] = []
    http_max_response_bytes: int = 5_000_000
    sse_ping_s: float = 15.0
    # Per-run budget (pilot.engine.budget); 0 = unlimited; workspaces may get operator overrides.
    run_max_node_runs: int = 10_000
    run_max_events: int = 100_000
    run_max_event_bytes: int = 64 * 1024 * 1024


class ToolSettings(Struct, frozen=True):
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "pilot@localhost"
    smtp_starttls: bool = True
    smtp_timeout_s: float = 30.0
    slack_webhook_url: str | None = None  # the URL is a secret: never logged

    def __repr__(self) -> str:
        return (
            f"ToolSettings(smtp_host={self.smtp_host!r}, smtp_user={self.smtp_user!r}, smtp_password=***, "
            f"slack_webhook_url={'***' if self.slack_webhook_url else None})"
        )


class Settings(Struct, frozen=True):
    app: AppSettings
    db: DatabaseSettings
    redis: RedisSettings
    llm: LLMSettings
    engine: EngineSettings
    tools: ToolSettings = field(default_factory=ToolSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        e = os.environ if env is None else env
        data_dir = Path(e.get("PILOT_DATA_DIR", ".pilot"))
        db_url = e.get("DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'pilot.db'}"
        # Railway / Heroku style URLs name the driver-less scheme; we run psycopg 3.
        for legacy in ("postgres://", "postgresql://"):
            if db_url.startswith(legacy):
                db_url = "postgresql+psycopg://" + db_url[len(legacy):]
        return cls(
            app=AppSettings(
                debug=_bool(e.get("PILOT_DEBUG")),
                data_dir=data_dir,
                host=e.get("HOST", "0.0.0.0"),
                port=int(e.get("PORT", "8000")),
                max_body_bytes=int(e.get("PILOT_MAX_BODY_BYTES", "1048576")),
                cors_origins=_list(e.get("PILOT_CORS_ORIGINS")),
                public_url=e.get("PILOT_PUBLIC_URL", ""),
                templates_dir=Path(e["PILOT_TEMPLATES_DIR"]) if e.get("PILOT_TEMPLATES_DIR") else None,
            ),
            db=DatabaseSettings(
                url=db_url,
                echo=_bool(e.get("DATABASE_ECHO")),
                pool_size=int(e.get("DATABASE_POOL_SIZE", "10")),
                auto_migrate=_bool(e.get("PILOT_AUTO_MIGRATE"), default=True),
            ),
            redis=RedisSettings(
                url=e.get("REDIS_URL") or None,
                stream_maxlen=int(e.get("PILOT_STREAM_MAXLEN", "10000")),
                stream_ttl_s=int(e.get("PILOT_STREAM_TTL_S", "3600")),
                key_prefix=e.get("PILOT_REDIS_PREFIX", "pilot"),
                worker_max_jobs=int(e.get("PILOT_WORKER_MAX_JOBS", "50")),
                worker_poll_delay_s=float(e.get("PILOT_WORKER_POLL_DELAY_S", "0.02")),
                job_timeout_s=float(e.get("PILOT_JOB_TIMEOUT_S", "4000")),
                heartbeat_s=float(e.get("PILOT_HEARTBEAT_S", "5")),
                stale_after_s=float(e.get("PILOT_STALE_AFTER_S", "30")),
                sweep_interval_s=float(e.get("PILOT_SWEEP_INTERVAL_S", "10")),
                max_run_attempts=int(e.get("PILOT_MAX_RUN_ATTEMPTS", "3")),
                subscribe_block_s=float(e.get("PILOT_SUBSCRIBE_BLOCK_S", "5")),
                worker_shutdown_grace_s=float(e.get("PILOT_WORKER_SHUTDOWN_GRACE_S", "10")),
            ),
            llm=LLMSettings(
                api_key=e.get("OPENAI_API_KEY") or None,
                base_url=e.get("OPENAI_BASE_URL") or None,
                model=e.get("PILOT_LLM_MODEL", "gpt-4o-mini"),
                analyzer_model=e.get("PILOT_ANALYZER_MODEL") or None,
                fallback_models=_list(e.get("PILOT_LLM_FALLBACK_MODELS")),
                timeout_s=float(e.get("PILOT_LLM_TIMEOUT_S", "30")),
                max_retries=int(e.get("PILOT_LLM_MAX_RETRIES", "2")),
                reask_retries=int(e.get("PILOT_LLM_REASK_RETRIES", "2")),
                structured_mode=e.get("PILOT_LLM_STRUCTURED_MODE", "tools"),
            ),
            engine=EngineSettings(
                max_concurrency=int(e.get("PILOT_MAX_CONCURRENCY", "16")),
                run_deadline_s=float(e.get("PILOT_RUN_DEADLINE_S", "3600")),
                default_node_timeout_s=float(e.get("PILOT_NODE_TIMEOUT_S", "300")),
                http_allow_private=_bool(e.get("PILOT_HTTP_ALLOW_PRIVATE")),
                http_allowlist=_list(e.get("PILOT_HTTP_ALLOWLIST")),
                http_max_response_bytes=int(e.get("PILOT_HTTP_MAX_RESPONSE_BYTES", "5000000")),
                sse_ping_s=float(e.get("PILOT_SSE_PING_S", "15")),
                run_max_node_runs=int(e.get("PILOT_RUN_MAX_NODE_RUNS", "10000")),
                run_max_events=int(e.get("PILOT_RUN_MAX_EVENTS", "100000")),
                run_max_event_bytes=int(e.get("PILOT_RUN_MAX_EVENT_BYTES", str(64 * 1024 * 1024))),
            ),
            tools=ToolSettings(
                smtp_host=e.get("SMTP_HOST") or None,
                smtp_port=int(e.get("SMTP_PORT", "587")),
                smtp_user=e.get("SMTP_USER") or None,
                smtp_password=e.get("SMTP_PASSWORD") or None,
                smtp_from=e.get("SMTP_FROM", "pilot@localhost"),
                smtp_starttls=_bool(e.get("SMTP_STARTTLS"), default=True),
                smtp_timeout_s=float(e.get("SMTP_TIMEOUT_S", "30")),
                slack_webhook_url=e.get("SLACK_WEBHOOK_URL") or None,
            ),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings.from_env()
