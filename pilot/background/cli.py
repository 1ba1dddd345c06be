"""``pilot worker``: run a background-run worker (arq) against $REDIS_URL and $DATABASE_URL."""

from __future__ import annotations

import click


@click.command("worker")
@click.option("--max-jobs", type=int, default=None, help="concurrent runs in this process (default: $PILOT_WORKER_MAX_JOBS or 50)")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"]))
def worker_command(max_jobs: int | None, log_level: str) -> None:
    """Run background workflow runs (mode "background") until SIGTERM/SIGINT.

    Needs REDIS_URL. Start as many as you like, on any hosts sharing Redis and the database:
    each job (one run) goes to exactly one worker; a worker that dies mid-run is detected by its
    missing heartbeat and the run resumes elsewhere from its finished nodes. On SIGTERM running
    jobs get a grace period, then are handed back to be resumed by another worker."""
    from pilot.background.worker import run_worker
    from pilot.core.redaction import install_redaction
    from pilot.observability.logs import configure_logging
    from pilot.settings import get_settings

    settings = get_settings()
    install_redaction(settings)  # configured secrets never reach logs, events or rows
    configure_logging(settings, level=log_level)
    if not settings.redis.enabled:
        raise click.ClickException("the worker needs REDIS_URL (background runs are queued in Redis)")
    overrides = {"max_jobs": max_jobs} if max_jobs else {}
    run_worker(settings, **overrides)
