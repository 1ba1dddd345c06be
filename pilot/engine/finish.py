"""Ending a run: its terminal row and ``run.finished`` (called by the executor for a terminal status).

The usual end is ONE transaction (:meth:`pilot.events.recorder.EventRecorder.close_with`): the
holder's fenced ``running → terminal`` UPDATE (:func:`pilot.engine.lifecycle.finish_in`), the
events still buffered with the node results they imply, and ``run.finished``; the final event is
published only once all of it is committed, so a client never sees ``run.finished`` before the
row is terminal. If the database refuses any of it (an event or outputs it cannot hold, or an
outage), that transaction is rolled back and the run ends step by step (:func:`_end_apart`):
events written on their own (a refused one becomes the run's error), the row finished (without
outputs it refuses), then ``run.finished``.

Either way a fence that says no (the sweeper or another attempt ended the run and wrote its
``run.finished``) stops this attempt without a second ``run.finished``: ``"interrupted"``.
"""

from __future__ import annotations

import logging
from typing import Any

from pilot.core.redaction import redact, redact_value
from pilot.db.errors import db_reason
from pilot.engine import lifecycle

log = logging.getLogger("pilot.engine")

INTERRUPTED = "interrupted"  # not terminal: the attempt stopped, another one resumes the run


async def finish_run(
    execution_id: str, deps: Any, token: str, recorder: Any, *, status: str, outputs: dict[str, Any] | None,
    error: str | None, usage: dict[str, Any], elapsed_ms: float,
) -> str:
    """End the run with ``status``; returns the status it ended with (a storage failure turns
    success into ``failed``), or ``"interrupted"`` when another process had ended it."""
    outputs, error = redact_value(outputs), redact(error)  # the row, like the events: no secret (credentials)
    try:
        await recorder.stop_writer()  # what is still buffered goes into the last transaction
        if recorder.error is not None and status == "succeeded":  # an earlier batch was refused
            status, outputs, error = "failed", None, recorder.error

        async def transition(session: Any) -> bool:
            return await lifecycle.finish_in(session, execution_id, token, status=status, outputs=outputs,
                                             error=error, usage=usage, last_seq=recorder.seq + 1)

        try:
            ended = await recorder.close_with("run.finished", _finished(status, outputs, error, elapsed_ms, usage), transition)
        except Exception as exc:  # noqa: BLE001 - rolled back: end it step by step instead
            log.warning("ending %s in one transaction failed (%s); ending it step by step", execution_id, db_reason(exc))
            return await _end_apart(execution_id, deps, token, recorder, status, outputs, error, usage, elapsed_ms)
        if not ended:
            return await _stop_unended(execution_id, recorder)
        return status
    finally:
        deps.active.unregister(execution_id)


def _finished(status: str, outputs: Any, error: str | None, elapsed_ms: float, usage: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"status": status, "outputs": outputs, "elapsed_ms": elapsed_ms, "usage": usage}
    if error is not None:
        data["error"] = error
    return data


async def _stop_unended(execution_id: str, recorder: Any) -> str:
    # The fence said no: the sweeper (or another attempt) ended this run and wrote its
    # run.finished. Writing a second one would contradict the stored row.
    log.warning("execution %s was ended by another process; this attempt stops without ending it", execution_id)
    await recorder.aclose(close_stream=False)
    return INTERRUPTED


async def _end_apart(execution_id, deps, token, recorder, status, outputs, error, usage, elapsed_ms) -> str:
    """The step-by-step end, each write on its own so that what the database refuses is isolated."""
    stored_error: str | None = None
    try:
        await recorder.flush()  # events and the node results projected from them
    except Exception as exc:  # noqa: BLE001 - recorded below as the run's failure
        stored_error = f"could not store the run: {db_reason(exc)}"
    stored_error = stored_error or recorder.error
    if stored_error is not None and status == "succeeded":
        # A run whose record is incomplete did not succeed: say why, truthfully.
        status, outputs, error = "failed", None, stored_error
    ended = True
    try:
        try:
            ended = await lifecycle.finish(deps.sessions, execution_id, token, status=status, outputs=outputs,
                                           error=error, usage=usage, last_seq=recorder.seq + 1)
        except Exception as exc:  # noqa: BLE001 - e.g. outputs the database refuses: end it anyway
            log.error("could not store the end of %s: %s", execution_id, db_reason(exc))
            status, outputs, error = "failed", None, f"could not store the run's outputs: {db_reason(exc)}"
            ended = await lifecycle.finish(deps.sessions, execution_id, token, status=status, outputs=None,
                                           error=error, usage={}, last_seq=recorder.seq + 1)
    except Exception as exc:  # noqa: BLE001 - the database is gone; the sweeper ends the row later
        log.error("could not store the end of %s: %s", execution_id, db_reason(exc))
    if not ended:
        return await _stop_unended(execution_id, recorder)
    recorder.emit_nowait("run.finished", _finished(status, outputs, error, elapsed_ms, usage))
    await recorder.aclose()
    return status
