"""JSON columns are read back with msgspec, and no stored row becomes unreadable."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from pilot.core.codec import dumps_str, loads_stored
from pilot.db.engine import create_engine
from pilot.settings import DatabaseSettings


def test_a_stored_value_reads_back_as_it_was_written_and_an_older_nan_token_still_reads():
    value = {"text": "你好 \u2028", "n": 2**63 - 1, "f": 0.1, "nested": [None, True, {"k": []}]}
    assert loads_stored(dumps_str(value)) == value
    older = loads_stored('{"score": NaN, "ok": Infinity}')  # what the stdlib writer left before msgspec
    assert math.isnan(older["score"]) and older["ok"] == math.inf


@pytest.mark.asyncio
async def test_the_engine_decodes_json_columns_with_the_stored_reader(tmp_path):
    engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path}/t.db"))
    table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("data", sa.JSON))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
            await conn.execute(table.insert(), [{"id": 1, "data": {"a": [1, 2]}}])
            await conn.execute(sa.text("INSERT INTO t (id, data) VALUES (2, '{\"x\": NaN}')"))  # an older row
            rows = dict((await conn.execute(sa.select(table.c.id, table.c.data))).all())
        assert rows[1] == {"a": [1, 2]} and math.isnan(rows[2]["x"])
        assert engine.dialect._json_deserializer is loads_stored
    finally:
        await engine.dispose()
