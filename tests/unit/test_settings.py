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


def test_a_bad_value_names_the_setting():
    with pytest.raises(ValueError, match=r"EngineSettings.*max_concurrency"):
        Settings.from_env({"PILOT_MAX_CONCURRENCY": "lots"})


def test_every_declared_variable_reaches_its_field():
    """Each field is declared once with its variable: setting the variable changes the field."""
    from pilot import settings as module

    for part in ("app", "redis", "llm", "engine", "tools"):
        cls = type(getattr(Settings.from_env({}), part))
        for name, (variable, kind) in module._env_fields(cls).items():
            value = {bool: "true", int: "7", float: "7.5", str: "x-value"}.get(kind)
            if value is None:
                continue  # paths, optionals and lists are covered by the tests above
            loaded = getattr(getattr(Settings.from_env({variable: value}), part), name)
            assert loaded == module._raw(value, kind) or loaded == kind(value), (variable, loaded)


def test_startup_order_follows_the_declared_needs():
    import graphlib

    from pilot.startup import STARTUP, Step, startup_order

    order = [step.name for step in startup_order()]
    position = {name: i for i, name in enumerate(order)}
    for step in STARTUP:
        assert all(position[dep] < position[step.name] for dep in step.after), step.name
    assert order.index("redis") < order.index("events") < order.index("runs") < order.index("chat")

    async def noop(runtime):
        return None

    with pytest.raises(graphlib.CycleError):
        startup_order((Step("a", noop, after=("b",)), Step("b", noop, after=("a",))))
    with pytest.raises(ValueError, match="unknown steps"):
        startup_order((Step("a", noop, after=("ghost",)),))
