"""`MlflowTracer`: the engine subscriber that gives every execution an MLflow trace.

The callback only appends the event to the execution's list (no I/O, no MLflow import);
when the execution finishes, the list goes to the background exporter, which writes the
trace and reports back its id, or why it is missing, through `on_trace`, `trace_id` and
`problem`. A tracer is meant for one execution (`tracer_for` builds it from the workflow's
settings) but keys everything by execution id, so a host whose settings do not vary per
workflow may share one across executions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cagents.engine.events import CheckpointWritten, Event, ExecutionFinished, TokenStreamed
from cagents.observe._export import Job, TraceResult, exporter
from cagents.observe.settings import ObserveSettings

__all__ = ["MlflowTracer", "TraceResult", "flush", "tracer_for"]

_SKIPPED = (TokenStreamed, CheckpointWritten)


class MlflowTracer:
    """Subscribe it to a run (`subscribers=[tracer]`); read `trace_id` / `problem` after `wait()`.

    `env` is the run's environment (what was passed to `start(env=...)`): the values of its
    credential-named entries, like those of `os.environ` and `secrets`, never reach a trace.
    `on_trace(result)` is called from the exporter thread once per finished execution.
    """

    def __init__(
        self,
        settings: ObserveSettings | None = None,
        *,
        workflow: Any = None,
        deployment_id: str | None = None,
        env: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
        on_trace: Callable[[TraceResult], None] | None = None,
    ):
        self.settings = settings if settings is not None else ObserveSettings.from_env(workflow)
        self.deployment_id = deployment_id
        self._spec = getattr(workflow, "spec", workflow)
        self._env = env
        self._secrets = set(secrets)
        self._on_trace = on_trace
        self._buffers: dict[str, list[Event]] = {}
        self._results: dict[str, TraceResult] = {}
        self._last: TraceResult | None = None
        self._outstanding = 0
        self._changed = threading.Condition()

    def __call__(self, event: Event) -> None:
        """Record one event; hands the execution to the exporter when it finishes."""
        if isinstance(event, _SKIPPED):
            return
        buffer = self._buffers.get(event.execution_id)
        if buffer is None:
            buffer = self._buffers[event.execution_id] = []
        buffer.append(event)
        if type(event) is ExecutionFinished:
            del self._buffers[event.execution_id]
            if not self.settings.enabled:
                self._record(TraceResult(event.execution_id, None,
                                         f"tracing is off ({self.settings.disabled_reason})"), counted=False)
                return
            with self._changed:
                self._outstanding += 1
            exporter().submit(Job(buffer, self.settings, self._spec, self.deployment_id,
                                  self._secrets, self._env, self._record))  # exporter thread

    @property
    def trace_id(self) -> str | None:
        """The trace of the last execution that finished and was written, else None."""
        return self._last.trace_id if self._last else None

    @property
    def problem(self) -> str | None:
        """Why the last finished execution has no trace (None when it has one or is pending)."""
        return self._last.problem if self._last else None

    def result(self, execution_id: str | None = None) -> TraceResult | None:
        """The outcome for one execution (default: the last one written or given up)."""
        if execution_id is None:
            return self._last
        return self._results.get(execution_id)

    def wait(self, timeout: float | None = 30.0) -> bool:
        """Block until every execution this tracer handed over is written; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._outstanding == 0, timeout)

    def _record(self, result: TraceResult, counted: bool = True) -> None:
        with self._changed:
            self._results[result.execution_id] = result
            self._last = result
            if counted:
                self._outstanding -= 1
            self._changed.notify_all()
        if self._on_trace is not None:
            self._on_trace(result)

    def __repr__(self) -> str:
        state = "on" if self.settings.enabled else "off"
        return f"<MlflowTracer {state} {self.settings.tracking_uri}>"


def tracer_for(
    workflow: Any,
    *,
    settings: ObserveSettings | None = None,
    deployment_id: str | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    on_trace: Callable[[TraceResult], None] | None = None,
) -> MlflowTracer | None:
    """A tracer for one execution of `workflow`, or None when tracing is off for it."""
    settings = settings if settings is not None else ObserveSettings.from_env(workflow)
    if not settings.enabled:
        return None
    return MlflowTracer(settings, workflow=workflow, deployment_id=deployment_id, env=env,
                        secrets=secrets, on_trace=on_trace)


def flush(timeout: float | None = 30.0) -> bool:
    """Wait until every trace handed to the exporter in this process is written."""
    return exporter().flush(timeout)
