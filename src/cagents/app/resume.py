"""Resume: continue an interrupted or waiting execution from its last checkpoint.

The nodes that finished before the checkpoint do not run again (no model call is
repeated); the execution keeps its id, and its rows continue where they stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cagents.app.recorder import checkpoint_from_state
from cagents.app.recovery import recover_interrupted
from cagents.app.runs import drive, spec_from_snapshot
from cagents.app.tracing import with_tracer
from cagents.engine._sync import run_sync
from cagents.errors import ConflictError

if TYPE_CHECKING:
    from cagents.app.workbench import Workbench
    from cagents.config.loader import WorkflowSpec
    from cagents.engine import Checkpoint, RunResult
    from cagents.engine.events import Subscriber
    from cagents.store import ExecutionRecord

__all__ = ["aresume_execution", "check_resumable", "resume_execution", "RESUMABLE"]

#: Statuses an execution can be resumed from.
RESUMABLE = ("interrupted", "waiting")


async def aresume_execution(
    workbench: Workbench,
    execution_id: str,
    values: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    subscribers: Iterable[Subscriber] = (),
    stream: bool = False,
) -> RunResult:
    """Continue an execution from its last checkpoint; `values` answer a waiting human node."""
    from cagents.engine import RunHandle
    from cagents.engine.runner import Run

    record = await _resumable(workbench, execution_id)
    spec = spec_from_snapshot(record)
    last = await asyncio.to_thread(workbench.db.executions.last_state, execution_id)
    checkpoint = checkpoint_from_state(last) if last is not None else _first_checkpoint(spec, record)
    subscribers = with_tracer(workbench, spec, subscribers, env=env, deployment_id=record.deployment_id)
    run = Run(spec, recorder=workbench.recorder, subscribers=subscribers, env=env, stream=stream,
              checkpoint=checkpoint)
    handle = RunHandle(run)
    if handle.status == "waiting":
        if values is None:
            await asyncio.to_thread(
                workbench.db.executions.update, execution_id,
                status="waiting", waiting_for=handle.waiting_for,
            )
            raise ConflictError(_needs_values(execution_id, handle.waiting_for or {}))
        # The row is reopened by the first checkpoint, written only once the answer is accepted.
        workbench.recorder.expect_resume(checkpoint, paused=True)
    else:
        if values is not None:
            raise ConflictError(
                f"execution {execution_id} is not waiting for input; resume it without values"
            )
        workbench.recorder.expect_resume(checkpoint, paused=False)
        await workbench.recorder.reopen(execution_id)
    workbench.track(run)
    try:
        return await drive(workbench, handle, values)
    except ConflictError:  # another process claimed it first (see StoreRecorder._reopen)
        workbench.untrack(execution_id)
        raise


def resume_execution(
    workbench: Workbench,
    execution_id: str,
    values: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    subscribers: Iterable[Subscriber] = (),
    stream: bool = False,
) -> RunResult:
    """The plain twin of `aresume_execution`."""
    return run_sync(aresume_execution(workbench, execution_id, values, env=env, subscribers=subscribers,
                                      stream=stream))


async def check_resumable(
    workbench: Workbench, execution_id: str, values: Mapping[str, Any] | None = None
) -> ExecutionRecord:
    """Refuse (ExecutionError, NotFoundError) a resume that cannot start, before starting it:
    a host that runs it in the background answers the refusal to its caller."""
    record = await _resumable(workbench, execution_id)
    if record.status == "waiting" and values is None:
        raise ConflictError(_needs_values(execution_id, record.waiting_for or {}))
    if record.status != "waiting" and values is not None:
        raise ConflictError(f"execution {execution_id} is not waiting for input; resume it without values")
    return record


async def _resumable(workbench: Workbench, execution_id: str) -> ExecutionRecord:
    record = await asyncio.to_thread(workbench.db.executions.get, execution_id)
    if record.status in ("running", "pending"):
        if workbench.live_run(execution_id) is not None:
            raise ConflictError(f"execution {execution_id} is running in this process; it needs no resume")
        # Its owner may have died since this workbench opened.
        await asyncio.to_thread(recover_interrupted, workbench)
        record = await asyncio.to_thread(workbench.db.executions.get, execution_id)
    if record.status in RESUMABLE:
        return record
    if record.status in ("running", "pending"):
        raise ConflictError(
            f"execution {execution_id} is still running in another process; "
            f"cancel it first (`cagents executions cancel {execution_id}`) or wait for it"
        )
    raise ConflictError(
        f"execution {execution_id} is {record.status} and cannot be resumed (only interrupted or waiting "
        f"executions can); run it again from its config and inputs with "
        f"`cagents executions rerun {execution_id}`"
    )


def _first_checkpoint(spec: WorkflowSpec, record: ExecutionRecord) -> Checkpoint:
    """The position before the first node, for an execution that stopped before any checkpoint."""
    from cagents.engine import Checkpoint
    from cagents.engine.state import initial_state

    return Checkpoint(
        execution_id=record.id, step=0, node_id=spec.graph.entry,
        state=initial_state(spec, record.inputs or {}, coerce=True),
        frontier=[spec.graph.entry], waiting=[], visits={}, node_runs=0, metrics={},
    )


def _needs_values(execution_id: str, waiting_for: dict[str, Any]) -> str:
    node = waiting_for.get("node_id", "?")
    fields = ", ".join(waiting_for.get("fields") or {}) or "its outputs"
    prompt = waiting_for.get("prompt")
    asked = f" ({prompt})" if prompt else ""
    return (
        f"execution {execution_id} waits for input at node `{node}`{asked}: give values for {fields}, "
        f"e.g. `cagents executions resume {execution_id} --input NAME=VALUE`"
    )
