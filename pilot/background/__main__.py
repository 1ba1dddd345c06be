"""``python -m pilot.background``: run a background worker (what ``pilot worker`` runs)."""

from __future__ import annotations

import logging
import os

from pilot.background.worker import run_worker


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("PILOT_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    run_worker()


if __name__ == "__main__":
    main()
