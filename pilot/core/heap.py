"""Keep the garbage collector off the heap a process builds at start-up.

A started πlot process holds ~1M long-lived objects (modules, the openai SDK's and pydantic's
types, SQLAlchemy's mappers, the runtime). CPython's full (generation 2) collection walks all of
them whenever enough new objects survive; under load that is a pause of 100–570 ms measured in
workers and API processes mid-run (``tests/bench/bench_background.py --gc-log``), stalling every
run and stream of the process at once. :func:`freeze_startup_heap`, called once start-up is done,
moves what exists then to the permanent generation (``gc.freeze``): it is never scanned again,
and objects made later are collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect once, then freeze everything still alive; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
