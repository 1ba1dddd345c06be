"""Credential encryption and the run-time ``credentials`` mapping, without a server: the key file
(mode 600, made once, concurrent first uses agree), PILOT_SECRET_KEY, ciphertext bound to its
row, and the mapping's behaviour in the jinja2 sandbox (unknown names fail naming them, inline
and in a render process; it pickles; it never shows values)."""

from __future__ import annotations

import pickle
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from pilot.credentials.crypto import (
    KEY_FILE,
    CredentialCipher,
    CredentialDecryptError,
    CredentialKeyError,
    cipher_for,
    key_file_secret,
)
from pilot.credentials.scope import CredentialError, CredentialScope
from pilot.engine.errors import NodeError
from pilot.engine.nodes.rendering import evaluate_field, render_field, resolve_value
from pilot.settings import Settings


def test_without_pilot_secret_key_a_private_key_file_is_made_once_and_reused(tmp_path):
    data_dir = tmp_path / "data"
    settings = Settings.from_env({"PILOT_DATA_DIR": str(data_dir)})
    assert settings.app.secret_key is None
    cipher = cipher_for(settings.app)
    key_file = data_dir / KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    secret = key_file.read_text().strip()
    assert len(secret) >= 32
    token = cipher.encrypt("ws_1", "cred_1", "hunter2-long-enough")
    assert cipher_for(settings.app) is cipher  # cached per key source
    # A new process (no cache) reads the same file back and decrypts what the first wrote.
    assert key_file_secret(key_file) == secret
    assert CredentialCipher(key_file_secret(key_file)).decrypt("ws_1", "cred_1", token) == "hunter2-long-enough"
    assert key_file.read_text().strip() == secret and sorted(p.name for p in data_dir.iterdir()) == [KEY_FILE]


def test_concurrent_first_uses_agree_on_one_key(tmp_path):
    path = tmp_path / "fresh" / KEY_FILE
    barrier = threading.Barrier(8)

    def first_use(_: int) -> str:
        barrier.wait()
        return key_file_secret(path)

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(first_use, range(8)))
    assert keys == {path.read_text().strip()}
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE]  # no temporary file left behind


def test_pilot_secret_key_is_used_instead_of_a_key_file(tmp_path):
    key = secrets.token_urlsafe(32)
    settings = Settings.from_env({"PILOT_DATA_DIR": str(tmp_path / "d"), "PILOT_SECRET_KEY": key})
    token = cipher_for(settings.app).encrypt("ws", "cred", "value-123456")
    assert not (tmp_path / "d").exists()
    assert CredentialCipher(key).decrypt("ws", "cred", token) == "value-123456"
    with pytest.raises(CredentialDecryptError, match="PILOT_SECRET_KEY"):
        CredentialCipher(secrets.token_urlsafe(32)).decrypt("ws", "cred", token)
    with pytest.raises(ValueError, match="secret_key"):
        Settings.from_env({"PILOT_SECRET_KEY": "too-short"})


def test_a_ciphertext_only_decrypts_on_its_own_row():
    cipher = CredentialCipher("k" * 40)
    token = cipher.encrypt("ws_a", "cred_1", "the-value-1234")
    assert "the-value-1234" not in token
    assert cipher.encrypt("ws_a", "cred_1", "the-value-1234") != token  # random IV: no equality leak
    for workspace, credential in (("ws_b", "cred_1"), ("ws_a", "cred_2")):
        with pytest.raises(CredentialDecryptError, match="another credential"):
            cipher.decrypt(workspace, credential, token)
    with pytest.raises(CredentialDecryptError):
        cipher.decrypt("ws_a", "cred_1", "not a token")
    assert "k" * 40 not in repr(cipher)


def test_an_unusable_key_file_is_a_clear_error(tmp_path):
    path = tmp_path / KEY_FILE
    path.write_text("short\n")
    with pytest.raises(CredentialKeyError, match="no usable key"):
        key_file_secret(path)


SCOPE = {
    "inputs": {},
    "nodes": {},
    "credentials": CredentialScope({"hook": "https://hooks.example/T0/B0/abcdef123", "items": "items-value"},
                                   {"stale": "its stored value does not decrypt"}),
}


async def test_templates_read_credentials_by_name():
    assert await render_field("POST {{ credentials.hook }}", SCOPE, "url") == "POST https://hooks.example/T0/B0/abcdef123"
    assert await resolve_value({"to": "{{ credentials['hook'] }}"}, SCOPE, "arguments") == {"to": "https://hooks.example/T0/B0/abcdef123"}
    assert await render_field("{{ credentials.items }}", SCOPE, "prompt") == "items-value"  # not dict.items
    assert await evaluate_field("'hook' in credentials and 'nope' not in credentials", SCOPE, "when") is True
    # A template with block tags renders in a render process: the mapping is pickled there.
    assert await render_field("{% for i in range(2) %}{{ credentials.hook }};{% endfor %}", SCOPE, "body") == (
        "https://hooks.example/T0/B0/abcdef123;" * 2
    )
    # The whole mapping shows names only, and is no JSON value.
    assert await render_field("{{ credentials }}", SCOPE, "prompt") == "<credentials: hook, items>"
    with pytest.raises(NodeError, match="no JSON form"):
        await resolve_value("{{ credentials }}", SCOPE, "outputs.all")


@pytest.mark.parametrize(
    ("call", "src"),
    [
        (render_field, "Say {{ credentials.slack_hookk }}"),
        (render_field, "{{ credentials['slack_hookk'] | default('x') }}"),
        (render_field, "{% if true %}{{ credentials.slack_hookk }}{% endif %}"),  # in a render process
        (resolve_value, "{{ credentials.slack_hookk }}"),
        (evaluate_field, "credentials.slack_hookk == ''"),
    ],
)
async def test_an_unknown_credential_fails_the_node_naming_it(call, src):
    with pytest.raises(NodeError, match=r"^field: .*unknown credential 'slack_hookk'") as info:
        await call(src, SCOPE, "field")
    assert not info.value.retryable


async def test_an_undecryptable_credential_fails_naming_it_and_why():
    with pytest.raises(NodeError, match=r"credential 'stale' cannot be used: its stored value does not decrypt"):
        await render_field("{{ credentials.stale }}", SCOPE, "url")


async def test_the_sandbox_still_guards_the_mapping():
    with pytest.raises(NodeError, match="unsafe"):
        await render_field("{{ credentials._CredentialScope__values }}", SCOPE, "prompt")
    with pytest.raises(NodeError, match="unsafe"):
        await render_field("{{ credentials.__class__ }}", SCOPE, "prompt")


def test_the_mapping_pickles_and_never_shows_values():
    scope = SCOPE["credentials"]
    clone = pickle.loads(pickle.dumps(scope))
    assert clone["hook"] == scope["hook"] and list(clone) == ["hook", "items"] and len(clone) == 2
    assert "abcdef123" not in repr(scope) and "abcdef123" not in str(scope)
    error = pickle.loads(pickle.dumps(CredentialError("x_1")))
    assert str(error) == str(CredentialError("x_1")) and error.name == "x_1"
    with pytest.raises(CredentialError):
        clone["nope"]
    with pytest.raises(TypeError):
        clone["hook"] = "changed"  # read-only


def test_url_values_also_register_their_token_parts():
    from pilot.core.redaction import REDACTED, redact
    from pilot.credentials.store import register_value

    token, hook = secrets.token_hex(32), secrets.token_urlsafe(18)
    register_value(f"https://oapi.dingtalk.com/robot/send?access_token={token}&fmt=json", "dingtalk_bot")
    assert redact(f"failed: token {token} refused") == f"failed: token {REDACTED} refused"  # the query value alone
    assert redact("fmt=json") == "fmt=json"  # short parts are ordinary words
    register_value(f"https://hooks.slack.com/services/T0/B0/{hook}", "slack_webhook")
    assert redact(f"POST /services/T0/B0/{hook} 404") == f"POST /{REDACTED} 404"  # the token path alone
