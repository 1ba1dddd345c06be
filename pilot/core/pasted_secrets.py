"""Secrets pasted into a request (an API key, a webhook URL with its token) are refused.

A generated workflow must refer to credentials by name (``{{ credentials.slack_webhook }}``),
never embed a secret from the prompt, where it would be stored in the graph, the blueprint, the
chat history and every export. :func:`find_pasted_secret` recognises the common shapes; callers
answer 422 with :func:`refusal`, which says where the secret belongs instead.
"""

from __future__ import annotations

import re

# (what it is, suggested credential name and type, pattern) — shapes with enough entropy that
# ordinary prose never matches them.
_SHAPES: tuple[tuple[str, str, str, re.Pattern[str]], ...] = tuple(
    (label, name, kind, re.compile(pattern)) for label, name, kind, pattern in (
        ("a Slack incoming-webhook URL", "slack_webhook", "slack_webhook",
         r"https://hooks\.slack\.com/services/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]{8,}"),
        ("a Feishu bot webhook URL", "feishu_bot", "feishu_bot", r"open\.(?:feishu\.cn|larksuite\.com)/open-apis/bot/v2/hook/[0-9a-fA-F-]{16,}"),
        ("a DingTalk robot URL", "dingtalk_bot", "dingtalk_bot", r"oapi\.dingtalk\.com/robot/send\?access_token=[0-9a-fA-F]{16,}"),
        ("a WeCom bot webhook URL", "wecom_bot", "wecom_bot", r"qyapi\.weixin\.qq\.com/cgi-bin/webhook/send\?key=[0-9a-fA-F-]{16,}"),
        ("an OpenAI API key", "openai_key", "openai_key", r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}"),
        ("a Stripe secret key", "stripe_key", "bearer_token", r"\b[rs]k_live_[A-Za-z0-9]{16,}"),
        ("a Slack token", "slack_token", "bearer_token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
        ("a GitHub token", "github_token", "bearer_token", r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
        ("an AWS access key id", "aws_access_key", "secret", r"\bAKIA[0-9A-Z]{16}\b"),
        ("a Google API key", "google_api_key", "secret", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    )
)


def find_pasted_secret(text: str) -> tuple[str, str, str] | None:
    """``(what it is, suggested credential name, credential type)`` of the first secret in ``text``."""
    for label, name, kind, pattern in _SHAPES:
        if pattern.search(text):
            return label, name, kind
    return None


def pasted_secret_spans(text: str) -> list[tuple[int, int, str, str, str]]:
    """``(start, end, what it is, suggested credential name, credential type)`` of every secret in
    ``text``, left to right (imports replace each with a credential reference)."""
    spans = [(m.start(), m.end(), label, name, kind) for label, name, kind, pattern in _SHAPES for m in pattern.finditer(text)]
    spans.sort()
    kept: list[tuple[int, int, str, str, str]] = []
    for span in spans:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def refusal(found: tuple[str, str, str], *, field: str, zh: bool) -> str:
    """The 422 message: where the secret belongs instead."""
    label, name, kind = found
    if zh:
        return (f"{field}：请求里包含疑似密钥（{label}）。密钥不会写进工作流：请先用 POST /api/credentials "
                f"保存为凭据（例如 name \"{name}\"、type \"{kind}\"），再在请求中提到它，工作流会以 "
                f"{{{{ credentials.{name} }}}} 引用它。")
    return (f"{field}: the request contains what looks like a secret ({label}). Secrets never go into workflows: "
            f"store it with POST /api/credentials (e.g. name \"{name}\", type \"{kind}\") and the workflow refers to "
            f"it as {{{{ credentials.{name} }}}}.")
