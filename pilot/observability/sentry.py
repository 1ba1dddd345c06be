"""Optional error reports to Sentry (``PILOT_SENTRY_DSN``); off, ``sentry_sdk`` is not imported.

What is reported: every error-level log record of the standard library's loggers — unhandled
request errors (``internal error`` / ``unhandled error``), a node runner that raised, a run that
crashed, a worker job that failed — with its exception and stack (Sentry's logging integration);
lower-level records ride along as breadcrumbs. Sentry's auto-enabled framework integrations stay
off (no request bodies or headers are collected) and so do its own tracing and trace headers on
outgoing requests: tracing is OpenTelemetry's (:mod:`pilot.observability.tracing`).

No secret reaches Sentry: every event and breadcrumb passes through the redaction choke point
(:func:`pilot.core.redaction.redact_value`) in ``before_send`` / ``before_breadcrumb``, after the
SDK has serialised it — messages, exception values, stack frames' local variables and all.
"""

from __future__ import annotations

from typing import Any

from pilot.core.redaction import redact_value


def scrub(event: dict[str, Any], hint: Any = None) -> dict[str, Any]:
    """``before_send``: the event with every configured or loaded secret replaced by ``[REDACTED]``."""
    return redact_value(event)


def scrub_breadcrumb(crumb: dict[str, Any], hint: Any = None) -> dict[str, Any]:
    """``before_breadcrumb``: the same for breadcrumbs (kept in the event, sent with the next error)."""
    return redact_value(crumb)


def configure_sentry(settings: Any) -> bool:
    """Start reporting to Sentry when ``PILOT_SENTRY_DSN`` is set (environment
    ``PILOT_SENTRY_ENVIRONMENT``, release ``PILOT_SENTRY_RELEASE`` or ``pilot@<version>``).
    Returns whether reporting is on; without a DSN nothing is imported or changed."""
    obs = settings.observability
    if not obs.sentry_dsn:
        return False
    import sentry_sdk

    from pilot import __version__

    sentry_sdk.init(
        dsn=obs.sentry_dsn,
        environment=obs.sentry_environment,
        release=obs.sentry_release or f"pilot@{__version__}",
        before_send=scrub,
        before_breadcrumb=scrub_breadcrumb,
        auto_enabling_integrations=False,  # logging, stdlib, threading, excepthook… but no framework hooks
        traces_sample_rate=None,
        trace_propagation_targets=[],  # no sentry-trace/baggage headers on anyone's requests
    )
    return True


def shutdown_sentry(timeout_s: float = 2.0) -> None:
    """Send what is queued and stop reporting (tests; a no-op when Sentry was never started)."""
    import sys

    if "sentry_sdk" not in sys.modules:
        return
    import sentry_sdk

    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=timeout_s)
    sentry_sdk.get_global_scope().set_client(None)
