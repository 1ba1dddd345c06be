"""Settings parsing: defaults that work with nothing configured, and every URL form platforms hand out."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilot.settings import Settings


def test_embedded_defaults():
    s = Settings.from_env({})
    assert s.app.data_dir == Path(".pilot")
    assert s.db.url == "sqlite+aiosqlite:///.pilot/pilot.db"
    assert s.db.is_sqlite and s.db.auto_migrate
    assert s.redis.url is None and not s.redis.enabled
    assert not s.llm.enabled
    assert (s.app.host, s.app.port, s.app.max_body_bytes) == ("0.0.0.0", 8000, 1_048_576)


def test_data_dir_moves_the_sqlite_file():
    s = Settings.from_env({"PILOT_DATA_DIR": "/tmp/somewhere/.pilot"})
    assert s.db.url == "sqlite+aiosqlite:////tmp/somewhere/.pilot/pilot.db"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.internal:5432/railway", "postgresql+psycopg://u:p@db.internal:5432/railway"),
        ("postgresql://u:p@host/db?sslmode=require", "postgresql+psycopg://u:p@host/db?sslmode=require"),
        ("postgresql+psycopg://u@host/db", "postgresql+psycopg://u@host/db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_url_normalisation(given, expected):
    s = Settings.from_env({"DATABASE_URL": given})
    assert s.db.url == expected
    assert s.db.is_sqlite == expected.startswith("sqlite")


def test_empty_database_url_means_embedded():
    assert Settings.from_env({"DATABASE_URL": ""}).db.is_sqlite


def test_platform_port_and_limits():
    s = Settings.from_env({"PORT": "4321", "HOST": "127.0.0.1", "PILOT_MAX_BODY_BYTES": "2048", "PILOT_CORS_ORIGINS": "https://a.dev, https://b.dev,"})
    assert (s.app.port, s.app.host, s.app.max_body_bytes) == (4321, "127.0.0.1", 2048)
    assert s.app.cors_origins == ["https://a.dev", "https://b.dev"]


def test_redis_and_llm():
    s = Settings.from_env({"REDIS_URL": "redis://localhost:6379/0", "OPENAI_API_KEY": "sk-secret", "PILOT_LLM_FALLBACK_MODELS": "a, b"})
    assert s.redis.enabled and s.redis.url == "redis://localhost:6379/0"
    assert s.llm.enabled and s.llm.fallback_models == ["a", "b"]
    assert "sk-secret" not in repr(s.llm) and "sk-secret" not in repr(s)


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("true", True), ("YES", True), ("on", True), ("0", False), ("no", False), ("", False)])
def test_boolean_flags(raw, value):
    assert Settings.from_env({"PILOT_DEBUG": raw}).app.debug is value


def test_auto_migrate_can_be_disabled():
    assert Settings.from_env({"PILOT_AUTO_MIGRATE": "false"}).db.auto_migrate is False


def test_smtp_password_and_slack_url_are_not_in_repr():
    s = Settings.from_env({"SMTP_PASSWORD": "hunter2", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/secret"})
    assert "hunter2" not in repr(s.tools) and "secret" not in repr(s.tools)
