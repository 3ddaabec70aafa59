"""The Python API: `cagents.load(...)` -> `Workflow`, with `run`, `arun` and stepwise `start`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from cagents.config.loader import WorkflowSpec, load_config
from cagents.engine._sync import run_sync
from cagents.engine.events import Subscriber
from cagents.engine.recorder import Checkpoint, Recorder
from cagents.engine.runner import Run, RunResult, StepResult

__all__ = ["Workflow", "RunHandle", "load"]


class RunHandle:
    """A run you drive: `step()` runs the next node(s) and returns what changed.

    Every method has an `a`-prefixed coroutine twin for async code; the plain ones also
    work inside a running event loop (a notebook) by running on a background loop.
    """

    def __init__(self, run: Run):
        self._run = run

    @property
    def execution_id(self) -> str:
        return self._run.execution_id

    @property
    def state(self) -> dict[str, Any]:
        return self._run.state

    @property
    def status(self) -> str:
        return self._run.status

    @property
    def next_nodes(self) -> list[str]:
        return self._run.next_nodes

    @property
    def waiting_for(self) -> dict[str, Any] | None:
        return self._run.waiting_for

    @property
    def done(self) -> bool:
        return self._run.done

    def step(self) -> StepResult:
        return run_sync(self._run.astep())

    async def astep(self) -> StepResult:
        return await self._run.astep()

    def run(self) -> RunResult:
        return run_sync(self._run.arun())

    async def arun(self) -> RunResult:
        return await self._run.arun()

    def resume(self, values: Mapping[str, Any] | None = None, *, node_id: str | None = None) -> RunResult:
        """Continue: give a waiting human node its answer (if any), then run to the end."""
        return run_sync(self.aresume(values, node_id=node_id))

    async def aresume(self, values: Mapping[str, Any] | None = None, *, node_id: str | None = None) -> RunResult:
        if values is not None or self._run.status == "waiting":
            await self._run.aprovide(values or {}, node_id)
        return await self._run.arun()

    def cancel(self) -> None:
        self._run.cancel()

    def result(self) -> RunResult:
        return self._run.result()

    def __repr__(self) -> str:
        return f"<RunHandle {self.execution_id} {self.status} next={self.next_nodes}>"


class Workflow:
    """A validated workflow, ready to run any number of times."""

    def __init__(self, spec: WorkflowSpec):
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name

    def start(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        recorder: Recorder | None = None,
        subscribers: Iterable[Subscriber] = (),
        env: Mapping[str, str] | None = None,
        stream: bool = False,
        coerce_inputs: bool = False,
        execution_id: str | None = None,
        retry_of: str | None = None,
        deployment_id: str | None = None,
        tool_registry: Any = None,
        retry_backoff: float = 0.5,
        **kw_inputs: Any,
    ) -> RunHandle:
        """A run that has not started; inputs are checked now (InputError lists every problem)."""
        merged = {**(inputs or {}), **kw_inputs}
        run = Run(self.spec, merged, recorder=recorder, subscribers=subscribers, env=env, stream=stream,
                  coerce_inputs=coerce_inputs, execution_id=execution_id, retry_of=retry_of,
                  deployment_id=deployment_id, tool_registry=tool_registry, retry_backoff=retry_backoff)
        return RunHandle(run)

    def resume_from(
        self,
        checkpoint: Checkpoint,
        *,
        recorder: Recorder | None = None,
        subscribers: Iterable[Subscriber] = (),
        env: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> RunHandle:
        """A handle that continues an execution from one of its checkpoints."""
        run = Run(self.spec, recorder=recorder, subscribers=subscribers, env=env, stream=stream,
                  checkpoint=checkpoint)
        return RunHandle(run)

    def run(self, inputs: Mapping[str, Any] | None = None, **kwargs: Any) -> RunResult:
        return self.start(inputs, **kwargs).run()

    async def arun(self, inputs: Mapping[str, Any] | None = None, **kwargs: Any) -> RunResult:
        return await self.start(inputs, **kwargs).arun()

    def input_schema(self) -> dict[str, Any]:
        return self.spec.input_schema()

    def __repr__(self) -> str:
        return f"<Workflow {self.name!r}: {len(self.spec.config.nodes)} nodes>"


def load(value: str | os.PathLike[str], *, filename: str | None = None) -> Workflow:
    """Load and validate a workflow from a file path or YAML/JSON text."""
    return Workflow(load_config(value, filename=filename))
