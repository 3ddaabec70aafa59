"""Cancel: stop an execution wherever it runs.

A run of this process is cancelled at once. A run of another process gets a request in
the database, which that process's heartbeat carries out. An execution nothing drives
(waiting for a person, interrupted) is marked cancelled directly.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cagents.app.recovery import recover_interrupted
from cagents.engine._sync import run_sync
from cagents.errors import ConflictError

if TYPE_CHECKING:
    from cagents.app.workbench import Workbench
    from cagents.store import ExecutionRecord

__all__ = ["acancel_execution", "cancel_execution", "FINISHED"]

FINISHED = ("completed", "failed", "cancelled")
CANCEL_MESSAGE = "cancelled by request"


async def acancel_execution(workbench: Workbench, execution_id: str, *, wait: float = 2.0) -> ExecutionRecord:
    """Cancel an execution; returns its record (a live run of this process is given up to
    `wait` seconds to record its cancellation before the record is read)."""
    return await asyncio.to_thread(_cancel, workbench, execution_id, wait)


def cancel_execution(workbench: Workbench, execution_id: str) -> ExecutionRecord:
    """The plain twin of `acancel_execution`; it does not wait for a live run to stop, since
    that run may need the very event loop the caller is blocking."""
    return run_sync(acancel_execution(workbench, execution_id, wait=0.0))


def _cancel(workbench: Workbench, execution_id: str, wait: float) -> ExecutionRecord:
    executions = workbench.db.executions
    record = executions.get(execution_id)
    if record.status in FINISHED:
        raise ConflictError(
            f"execution {execution_id} is already {record.status}; there is nothing to cancel"
        )
    run = workbench.live_run(execution_id)
    if run is not None:
        run.cancel()
        if record.status in ("running", "pending"):
            done = workbench.wait_stopped(execution_id, wait)
            if not done:
                executions.request_cancel(execution_id)
            return executions.get(execution_id)
    if record.status in ("running", "pending"):
        recover_interrupted(workbench)  # an owner that died cannot carry out a request
        record = executions.get(execution_id)
        if record.status in ("running", "pending"):
            executions.request_cancel(execution_id)
            return executions.get(execution_id)
    if record.status in FINISHED:
        return record
    _cancel_idle(workbench, execution_id)
    return executions.get(execution_id)


def _cancel_idle(workbench: Workbench, execution_id: str) -> None:
    """Cancel an execution no process drives (waiting or interrupted)."""
    from cagents.store.models import utcnow

    workbench.db.executions.update(
        execution_id, status="cancelled", error_message=CANCEL_MESSAGE, completed_at=utcnow(),
        waiting_for=None, cancel_requested=True,
    )
    workbench.db.sessions.release(execution_id)
