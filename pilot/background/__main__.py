"""``python -m pilot.background``: run a background worker (what ``pilot worker`` runs)."""

from __future__ import annotations

import logging
import os

from pilot.background.worker import run_worker
from pilot.core.redaction import install_redaction
from pilot.settings import get_settings


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("PILOT_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = get_settings()
    install_redaction(settings)  # configured secrets never reach logs, events or rows
    run_worker(settings)


if __name__ == "__main__":
    main()
