"""Throw-away PostgreSQL databases on the real server at 127.0.0.1 (trust auth, database `test`)."""

from __future__ import annotations

import os
import uuid

import psycopg

PG_ADMIN_DSN = os.environ.get("PILOT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def create_database() -> tuple[str, str]:
    """Create a fresh database; returns (name, sqlalchemy url)."""
    name = f"pilot_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return name, f"{base}/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
