"""``python -m pilot.background``: run a background worker (what ``pilot worker`` runs)."""

from __future__ import annotations

from pilot.background.worker import run_worker
from pilot.core.redaction import install_redaction
from pilot.observability.logs import configure_logging
from pilot.settings import get_settings


def main() -> None:
    settings = get_settings()
    install_redaction(settings)  # configured secrets never reach logs, events or rows
    configure_logging(settings)  # PILOT_LOG_FORMAT, PILOT_LOG_LEVEL
    run_worker(settings)


if __name__ == "__main__":
    main()
