"""Email via SMTP (``SMTP_HOST``/``SMTP_PORT``/``SMTP_USER``/``SMTP_PASSWORD``/``SMTP_FROM``).

smtplib runs in a worker thread (it is blocking); port 465 uses implicit TLS, otherwise
STARTTLS when ``SMTP_STARTTLS`` is on (the default). SMTP 4xx replies and connection failures
are retryable; 5xx replies (bad recipient, auth failure) are not.

SMTP has no idempotency: a retried or resumed send delivers again (at-least-once). The
``Message-ID`` is derived from the call's idempotency key, so every copy of one logical send
carries the same id and mailboxes that collapse duplicates by Message-ID (Gmail) show one.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Annotated, Any, ClassVar

from msgspec import Meta, Struct

from pilot.core.redaction import clip, redact
from pilot.settings import Settings, ToolSettings
from pilot.tools.base import ToolContext, ToolError

Address = Annotated[
    str, Meta(pattern=r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$", max_length=320, description="an email address")
]
SingleLine = Annotated[str, Meta(pattern=r"^[^\r\n]*$")]


class EmailArguments(Struct, forbid_unknown_fields=True):
    # A string "a@x.com, b@y.com" is split into a list by EmailTool.prepare (no str | list union:
    # msgspec 0.22 crashes at exit on a pattern-constrained str in a union with a list).
    to: Annotated[list[Address], Meta(min_length=1, max_length=50)]
    subject: Annotated[SingleLine, Meta(min_length=1, max_length=998)]
    body: Annotated[str, Meta(max_length=1_000_000)]
    html: Annotated[str, Meta(max_length=1_000_000)] | None = None
    cc: list[Address] = []
    reply_to: Address | None = None


def _message(args: EmailArguments, sender: str, idempotency_key: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(args.to)
    if args.cc:
        msg["Cc"] = ", ".join(args.cc)
    if args.reply_to:
        msg["Reply-To"] = args.reply_to
    msg["Subject"] = args.subject
    domain = sender.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = f"<{idempotency_key}@{domain}>" if idempotency_key else make_msgid(domain=domain)
    msg.set_content(args.body)
    if args.html:
        msg.add_alternative(args.html, subtype="html")
    return msg


def _send(settings: ToolSettings, msg: EmailMessage, timeout: float) -> list[str]:
    assert settings.smtp_host
    context = ssl.create_default_context()
    if settings.smtp_port == 465:
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with client:
        if settings.smtp_starttls and settings.smtp_port != 465:
            client.starttls(context=context)
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password or "")
        refused = client.send_message(msg)
    return sorted(refused)


class EmailTool:
    name: ClassVar[str] = "email"
    description: ClassVar[str] = "Send an email through the configured SMTP server (SMTP_HOST, ...)."
    arguments: ClassVar[type[Struct]] = EmailArguments

    def configured(self, settings: Settings) -> bool:
        return bool(settings.tools.smtp_host)

    def prepare(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Accept one address or a comma/semicolon-separated string where a list is expected."""
        out = dict(arguments)
        for key in ("to", "cc"):
            if isinstance(out.get(key), str):
                out[key] = [part.strip() for part in re.split(r"[,;]", out[key]) if part.strip()]
        return out

    async def call(self, args: EmailArguments, ctx: ToolContext) -> dict[str, Any]:
        settings = ctx.settings.tools
        if not settings.smtp_host:
            raise ToolError("email tool not configured: set SMTP_HOST (and SMTP_PORT, SMTP_USER, SMTP_PASSWORD)")
        msg = _message(args, settings.smtp_from, ctx.idempotency_key)
        timeout = min(ctx.timeout_s, settings.smtp_timeout_s)
        try:
            refused = await asyncio.to_thread(_send, settings, msg, timeout)
        except smtplib.SMTPAuthenticationError as exc:
            raise ToolError(f"email: SMTP authentication failed ({exc.smtp_code})") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise ToolError(f"email: the SMTP server does not support {exc}; set SMTP_STARTTLS=false?") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            raise ToolError(
                f"email: all recipients refused: {', '.join(sorted(exc.recipients))}",
                retryable=all(400 <= c < 500 for c in codes),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise ToolError(
                f"email: SMTP server answered {exc.smtp_code}: {_text(exc.smtp_error)}",
                retryable=400 <= exc.smtp_code < 500,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:  # connection refused/reset, timeouts, TLS
            raise ToolError(
                f"email: cannot deliver via {settings.smtp_host}:{settings.smtp_port}: {type(exc).__name__}: {redact(str(exc))}",
                retryable=True,
            ) from exc
        return {
            "sent": True,
            "message_id": str(msg["Message-ID"]),
            "recipients": [r for r in args.to + args.cc if r not in refused],
            "refused": refused,
        }


def _text(value: bytes | str) -> str:
    return clip(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value), 200)
