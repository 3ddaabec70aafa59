"""Run-and-record: start, run and re-run workflows so that every execution is in the database.

Each use case has a coroutine (`arun_workflow`) and a plain twin (`run_workflow`) that also
works inside a running event loop (a notebook). Values in `env` (API keys typed into an
env area) reach the run and nothing else: they are never written to the database.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from cagents.app.tracing import with_tracer
from cagents.engine._sync import run_sync
from cagents.errors import ExecutionError

if TYPE_CHECKING:
    from cagents.app.workbench import Workbench
    from cagents.config.loader import WorkflowSpec
    from cagents.engine import RunHandle, RunResult, Workflow
    from cagents.engine.events import Subscriber
    from cagents.store import ExecutionRecord

__all__ = [
    "Source",
    "arerun_execution",
    "arun_workflow",
    "load_workflow",
    "rerun_execution",
    "run_workflow",
    "spec_from_snapshot",
    "start_workflow",
]

#: What a use case accepts as the workflow: a file path, YAML/JSON text, or a compiled one.
Source = Union[str, "os.PathLike[str]", "WorkflowSpec", "Workflow"]


def load_workflow(source: Source) -> WorkflowSpec:
    """Compile a path, YAML text, `WorkflowSpec` or `Workflow` into a `WorkflowSpec`."""
    from cagents.config.loader import WorkflowSpec, load_config
    from cagents.engine import Workflow

    if isinstance(source, WorkflowSpec):
        return source
    if isinstance(source, Workflow):
        return source.spec
    if isinstance(source, (str, os.PathLike)):
        return load_config(Path(source) if isinstance(source, os.PathLike) else source)
    raise TypeError(f"expected a path, YAML text or a Workflow, got {type(source).__name__}")


def spec_from_snapshot(record: ExecutionRecord) -> WorkflowSpec:
    """The workflow an execution ran, compiled again from its config snapshot."""
    from cagents.config._source import load_source
    from cagents.config.loader import compile_source

    if not record.config_snapshot:
        raise ExecutionError(
            f"execution {record.id} has no config snapshot, so it cannot be run again; "
            "run the workflow file with `cagents run` instead"
        )
    return compile_source(load_source(record.config_snapshot, filename=f"<execution {record.id}>"))


def start_workflow(
    workbench: Workbench,
    source: Source,
    inputs: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    subscribers: Iterable[Subscriber] = (),
    stream: bool = False,
    coerce_inputs: bool = False,
    deployment_id: str | None = None,
    retry_of: str | None = None,
    execution_id: str | None = None,
) -> RunHandle:
    """A recorded run that has not started yet: step it, run it, cancel it.

    Inputs are checked now (InputError lists every problem); the execution row is written
    when the first step starts, before any node runs.
    """
    from cagents.engine import RunHandle
    from cagents.engine.runner import Run

    spec = load_workflow(source)
    subscribers = with_tracer(workbench, spec, subscribers, env=env, deployment_id=deployment_id)
    run = Run(
        spec, inputs, recorder=workbench.recorder, subscribers=subscribers, env=env,
        stream=stream, coerce_inputs=coerce_inputs, execution_id=execution_id, retry_of=retry_of,
        deployment_id=deployment_id,
    )
    workbench.track(run)
    return RunHandle(run)


async def arun_workflow(
    workbench: Workbench,
    source: Source,
    inputs: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    subscribers: Iterable[Subscriber] = (),
    stream: bool = False,
    coerce_inputs: bool = False,
    deployment_id: str | None = None,
    retry_of: str | None = None,
) -> RunResult:
    """Run a workflow to its end (or its pause for a person) and record it."""
    handle = start_workflow(
        workbench, source, inputs, env=env, subscribers=subscribers, stream=stream,
        coerce_inputs=coerce_inputs, deployment_id=deployment_id, retry_of=retry_of,
    )
    return await drive(workbench, handle)


def run_workflow(
    workbench: Workbench,
    source: Source,
    inputs: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    subscribers: Iterable[Subscriber] = (),
    stream: bool = False,
    coerce_inputs: bool = False,
    deployment_id: str | None = None,
    retry_of: str | None = None,
) -> RunResult:
    """The plain twin of `arun_workflow`."""
    handle = start_workflow(
        workbench, source, inputs, env=env, subscribers=subscribers, stream=stream,
        coerce_inputs=coerce_inputs, deployment_id=deployment_id, retry_of=retry_of,
    )
    return run_sync(drive(workbench, handle))


async def drive(
    workbench: Workbench, handle: RunHandle, values: Mapping[str, Any] | None = None
) -> RunResult:
    """Run a tracked handle on (answering a waiting node first when `values` are given)."""
    try:
        if values is not None:
            return await handle.aresume(values)
        return await handle.arun()
    finally:
        if handle.done:
            workbench.untrack(handle.execution_id)


async def arerun_execution(
    workbench: Workbench,
    execution_id: str,
    *,
    env: Mapping[str, str] | None = None,
    subscribers: Iterable[Subscriber] = (),
    stream: bool = False,
) -> RunResult:
    """Run an execution again from scratch: same config snapshot, same inputs, a new id
    whose `retry_of` names the original."""
    record = await asyncio.to_thread(workbench.db.executions.get, execution_id)
    spec = spec_from_snapshot(record)
    if record.inputs is None and "inputs" in record.corrupt_fields:
        raise ExecutionError(f"the inputs of execution {execution_id} cannot be read; run the workflow anew")
    return await arun_workflow(
        workbench, spec, record.inputs or {}, env=env, subscribers=subscribers, stream=stream,
        coerce_inputs=True, retry_of=record.id,
    )


def rerun_execution(
    workbench: Workbench,
    execution_id: str,
    *,
    env: Mapping[str, str] | None = None,
    subscribers: Iterable[Subscriber] = (),
    stream: bool = False,
) -> RunResult:
    """The plain twin of `arerun_execution`."""
    return run_sync(
        arerun_execution(workbench, execution_id, env=env, subscribers=subscribers, stream=stream)
    )
