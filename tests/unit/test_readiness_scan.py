"""Readiness's pure parts: which credentials a template reads, which literal hosts the guard refuses."""

from __future__ import annotations

import pytest

from pilot.outbound import AccessPolicy
from pilot.readiness.messages import MESSAGES, language_from, message
from pilot.readiness.service import credential_names, refused_host


@pytest.mark.parametrize(("text", "names"), [
    ("Bearer {{ credentials.crm_token }}", ["crm_token"]),
    ("{{ credentials['a'] }} {{ credentials[\"b\"] }} {{credentials . c}}", ["a", "b", "c"]),
    ("{{ credentials.x }}{{ credentials.x }}", ["x"]),
    ("save credentials.json and credentials.txt", []),  # outside a template: plain text
    ("{% if 'opt' in credentials %}{{ credentials.opt }}{% endif %}{{ credentials.must }}", ["must"]),
    ("{% set t = credentials.token %}{{ t }}", ["token"]),
    ("{{ inputs.credentials }} {{ nodes.credentials_step.output }}", []),
])
def test_credential_names_in_templates(text: str, names: list[str]) -> None:
    assert credential_names(text) == names


def test_expressions_are_read_whole() -> None:
    assert credential_names("credentials.flag == 'on'", expression=True) == ["flag"]
    assert credential_names("credentials.flag == 'on'") == []


@pytest.mark.parametrize(("url", "host"), [
    ("http://127.0.0.1:9/x", "127.0.0.1"), ("http://localhost/x", "localhost"), ("http://api.localhost/", "api.localhost"),
    ("http://0177.0.0.1/", "0177.0.0.1"), ("http://2130706433/", "2130706433"), ("http://[::1]:8080/", "::1"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"), ("https://10.0.0.5/report", "10.0.0.5"),
    ("http://169.254.169.254/latest", "169.254.169.254"), ("http://metadata.google.internal/", "metadata.google.internal"),
])
def test_refused_literal_hosts(url: str, host: str) -> None:
    found = refused_host(url, AccessPolicy())
    assert found is not None and found[0] == host and found[1]


@pytest.mark.parametrize("url", [
    "https://example.com/api", "https://8.8.8.8/", "http://{{ inputs.host }}/x", "{{ inputs.url }}", "ftp://127.0.0.1/",
    "not a url", "http://[bad/", None, 42,
])
def test_public_templated_or_unparsable_urls_are_not_listed(url) -> None:
    assert refused_host(url, AccessPolicy()) is None


def test_allow_list_and_allow_private_lift_the_refusal() -> None:
    assert refused_host("http://localhost:8080/", AccessPolicy(allowlist=["localhost"])) is None
    assert refused_host("http://10.1.2.3/", AccessPolicy(allowlist=["10.0.0.0/8"])) is None
    assert refused_host("http://127.0.0.1/", AccessPolicy(allow_private=True)) is None
    assert refused_host("http://127.0.0.1/", AccessPolicy(allowlist=["localhost"])) is not None


def test_message_table_and_language() -> None:
    for key, (en, zh) in MESSAGES.items():
        assert en and zh and en != zh, key
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), key
    assert message("tool_slack", "en", node="post").count("{{ credentials.slack_webhook }}") == 1
    assert "“post”" in message("tool_slack", "zh", node="post")
    assert language_from("zh") == language_from("zh-CN") == language_from(None, "zh-TW,zh;q=0.9") == "zh"
    assert language_from("en", "zh-CN") == language_from(None, "en-US") == language_from(None, None) == "en"
    assert language_from("fr", "zh") == "zh" and language_from("fr") == "en"
