"""The secret-redaction choke point (pilot/core/redaction.py): registry, text and value redaction,
SQL parameters, and log records (message, arguments, exception text) whatever handler writes them.

The registry is process-wide and only grows, so every test registers its own random secrets."""

from __future__ import annotations

import logging
import secrets

import msgspec
import pytest
import sqlalchemy as sa

from pilot.core import redaction
from pilot.core.redaction import REDACTED, clip, redact, redact_value, register_secret
from pilot.engine.idempotency import idempotency_key
from pilot.settings import Settings


def new_secret(prefix: str = "sk-") -> str:
    value = prefix + secrets.token_urlsafe(24)
    assert register_secret(value)
    return value


def test_registered_secrets_are_replaced_everywhere_in_a_text():
    key = new_secret()
    text = f"401 Incorrect API key provided: {key}. Again: Bearer {key}"
    assert redact(text) == f"401 Incorrect API key provided: {REDACTED}. Again: Bearer {REDACTED}"
    unrelated = "nothing secret here"
    assert redact(unrelated) is unrelated  # unchanged text is the same object
    assert redact(None) is None and redact("") == ""


def test_short_blank_and_duplicate_values_are_not_registered():
    assert not register_secret("admin")  # < 6 chars: would destroy ordinary text
    assert not register_secret("   ")
    assert not register_secret(None)
    assert redact("admin panel") == "admin panel"
    value = new_secret()
    assert not register_secret(value)  # already known


def test_a_secret_containing_another_is_replaced_whole():
    inner = new_secret("in-")
    outer = "https://hooks.example.com/" + inner + "/tail"
    register_secret(outer)
    assert redact(f"posting to {outer} failed") == f"posting to {REDACTED} failed"


def test_clip_redacts_before_cutting_so_no_part_of_a_key_survives():
    key = new_secret()
    text = "x" * 40 + key + " trailing"
    cut = clip(text, 50)  # the limit falls inside the key
    assert key[:8] not in cut and len(cut) <= 50
    # A text someone else cut mid-key: the leading fragment at its end is redacted too.
    truncated = ("error: " + key)[:30]
    assert redact(truncated) == "error: " + REDACTED
    # ...but a short common prefix elsewhere is left alone.
    assert redact(f"{key[:5]} is fine") == f"{key[:5]} is fine"


def test_sql_parameters_of_sqlalchemy_errors_are_redacted():
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1, 'x')"))
        with pytest.raises(sa.exc.IntegrityError) as info:
            conn.execute(sa.text("INSERT INTO t VALUES (:id, :v)"), {"id": 1, "v": "user-data-4711"})
    text = str(info.value)
    assert "user-data-4711" in text and "[parameters: " in text
    cleaned = redact(text)
    assert "user-data-4711" not in cleaned and f"[parameters: {REDACTED}]" in cleaned
    assert "UNIQUE constraint failed" in cleaned and "[SQL: INSERT INTO t" in cleaned


def test_redact_value_walks_containers_and_keeps_unchanged_objects():
    key = new_secret()

    class Payload(msgspec.Struct):
        error: str

    value = {"node_id": "n1", "error": f"bad key {key}", "list": [1, {"k": key}, ("t", key)], key: "as a key",
             "struct": Payload(error=key), "n": 3, "ok": True, "none": None}
    out = redact_value(value)
    assert key not in repr(out)
    assert out["error"] == f"bad key {REDACTED}" and out["list"] == [1, {"k": REDACTED}, ("t", REDACTED)]
    assert out[REDACTED] == "as a key" and out["struct"] == {"error": REDACTED}
    assert out["n"] == 3 and out["ok"] is True and out["none"] is None
    assert value["error"] == f"bad key {key}"  # the input is not mutated
    clean = {"node_id": "n1", "output": {"items": [1, 2, 3], "text": "hello"}}
    assert redact_value(clean) is clean  # the hot path: nothing to do, same object
    assert redact_value({"v": object()})  # not JSON: walked without failing


def test_register_settings_takes_every_configured_secret():
    llm_key, smtp, db_pw, redis_pw = (secrets.token_urlsafe(16) for _ in range(4))
    slack_token = secrets.token_urlsafe(20)
    settings = Settings.from_env({
        "OPENAI_API_KEY": "sk-" + llm_key, "SMTP_PASSWORD": smtp,
        "SLACK_WEBHOOK_URL": f"https://hooks.slack.com/services/T0/B0/{slack_token}",
        "DATABASE_URL": f"postgresql://pilot:{db_pw}@db.internal:5432/pilot",
        "REDIS_URL": f"redis://:{redis_pw}@cache.internal:6379/0",
    })
    assert redaction.register_settings(settings) >= 5
    text = f"sk-{llm_key} {smtp} {db_pw} {redis_pw} services/T0/B0/{slack_token}"
    assert redact(text).count(REDACTED) == 5
    assert redaction.register_settings(settings) == 0  # idempotent
    # A development default equal to the user name is not a secret worth mangling text for.
    assert not redaction.register_url_password("postgresql://postgres:postgres@localhost/postgres")
    assert redact("postgres is up") == "postgres is up"


def test_log_records_are_redacted_whatever_handler_writes_them(caplog):
    key = new_secret()
    redaction.install_log_redaction()
    redaction.install_log_redaction()  # idempotent: the factory is not wrapped twice
    log = logging.getLogger("pilot.test.redaction")
    with caplog.at_level(logging.INFO, logger="pilot.test.redaction"):
        log.info("message with %s and %d items", f"key={key}", 3)
        log.warning(f"inline {key}")
        log.info("mapping %(k)s", {"k": key})
        try:
            raise RuntimeError(f"provider said: Incorrect API key provided: {key}")
        except RuntimeError:
            log.exception("the call failed")
        log.error("an error object: %s", ValueError(f"echo {key}"))
    assert len(caplog.records) == 5
    assert caplog.records[0].getMessage() == f"message with key={REDACTED} and 3 items"  # %d still formats
    assert key not in caplog.text
    for record in caplog.records:
        assert key not in record.getMessage()
        assert key not in (record.exc_text or "")
    assert "Incorrect API key provided: [REDACTED]" in caplog.text and "RuntimeError" in caplog.text


def test_the_filter_redacts_records_created_before_installation():
    key = new_secret()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", (f"token {key}",), None)
    assert redaction.RedactingFilter().filter(record) is True
    assert record.getMessage() == f"failed: token {REDACTED}"
    redaction.install_log_redaction()
    root = logging.getLogger()
    assert all(any(isinstance(f, redaction.RedactingFilter) for f in h.filters) for h in root.handlers)


def test_idempotency_keys_are_stable_per_call_and_distinct_across_calls():
    a = idempotency_key("exe_1", "post")
    assert a == idempotency_key("exe_1", "post") and len(a) == 36
    assert len({a, idempotency_key("exe_2", "post"), idempotency_key("exe_1", "other"),
                idempotency_key("exe_1", "each[0].post"), idempotency_key("exe_1", "each[1].post"),
                idempotency_key("exe_1", "outer[1].each[0].post"), idempotency_key("exe_1", "outer[0].each[1].post")}) == 7
