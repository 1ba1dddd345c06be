"""Run Alembic migrations programmatically (``pilot db upgrade`` and embedded start-up)."""

from __future__ import annotations

import logging
from pathlib import Path

# Alembic logs each of its plugins at INFO when imported; keep start-up output to what matters.
logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``. Sync: call via ``asyncio.to_thread`` from async code."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
