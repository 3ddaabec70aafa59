"""The one background thread that writes finished executions to MLflow, and the only module
that imports MLflow.

Jobs arrive from tracers when an execution finishes; the thread turns each into a span
tree, redacts it, writes it with MLflow's client-side span API (explicit parents and
times) and lets MLflow's exporter store it. It then checks the trace landed and reports
the trace id, or why there is none, to the tracer. Nothing here ever raises into a run.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from cagents.engine.events import Event

if TYPE_CHECKING:
    from cagents.observe._plan import SpanPlan, TracePlan
    from cagents.observe.settings import ObserveSettings

__all__ = ["Job", "TraceResult", "exporter"]

_log = logging.getLogger("cagents.observe")

_NO_OP_TRACE_ID = "MLFLOW_NO_OP_SPAN_TRACE_ID"
_GATHER_S = 0.05
#: Traces written before each drain of MLflow's queues; MLflow drops traces when its queue
#: (1,000 tasks, a few per trace) overflows.
_BATCH_MAX = 50


@dataclass(frozen=True)
class TraceResult:
    """What became of one execution's trace: its id, or why it is missing."""

    execution_id: str
    trace_id: str | None
    problem: str | None = None
    experiment_id: str | None = None
    tracking_uri: str | None = None


@dataclass
class Job:
    events: list[Event]
    settings: ObserveSettings
    spec: Any
    deployment_id: str | None
    secrets: set[str]
    env: Mapping[str, str] | None
    done: Callable[[TraceResult], None]


class _Problem(Exception):
    """A reason the trace cannot be written, already phrased for the person reading it."""


class _Exporter:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._mlflow_failures: _FailureLog | None = None
        self._experiments: dict[tuple[str, str], str] = {}
        self._reachable: dict[str, float] = {}
        self._finished: set[int] = set()  # ids of the current batch's jobs already reported

    # ---- caller side (cheap) ------------------------------------------------------------
    def submit(self, job: Job) -> None:
        with self._lock:
            self._pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="cagents-trace-export", daemon=True)
                self._thread.start()
        self._queue.put(job)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every submitted job is written or given up; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # ---- background ---------------------------------------------------------------------
    def _loop(self) -> None:
        first = True
        while True:
            batch = [self._queue.get()]
            # Let executions finishing meanwhile join this batch: fewer wake-ups competing
            # with the caller for the GIL, and one MLflow flush for all of them.
            time.sleep(_GATHER_S)
            while len(batch) < _BATCH_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if first:
                first = False
                # Traces still queued at exit get a few seconds to be written (MLflow writes
                # synchronously once its own queue has been drained at exit).
                atexit.register(self.flush, 10.0)
            self._write_batch(batch)

    def _write_batch(self, batch: list[Job]) -> None:
        self._finished.clear()
        written: list[tuple[Job, TraceResult]] = []
        for job in batch:
            try:
                written.append((job, self._write(job)))
            except _Problem as problem:
                self._finish(job, TraceResult(job.events[0].execution_id, None, str(problem),
                                              tracking_uri=job.settings.tracking_uri))
            except Exception as error:  # MLflow or a bug: the run must never see it
                _log.debug("trace export failed", exc_info=True)
                self._finish(job, TraceResult(job.events[0].execution_id, None,
                                              f"trace not written: {_short(error)}",
                                              tracking_uri=job.settings.tracking_uri))
        if not written:
            return
        try:
            self._confirm(written)
        except Exception as error:  # e.g. MLflow's flush failed: say so rather than hang waiters
            _log.debug("trace confirmation failed", exc_info=True)
            for job, result in written:
                if id(job) not in self._finished:
                    self._finish(job, replace(result, trace_id=None,
                                              problem=f"trace not confirmed: {_short(error)}"))

    def _write(self, job: Job) -> TraceResult:
        from cagents.observe._plan import plan_trace
        from cagents.observe.redact import Redactor, secret_values

        settings = job.settings
        plan = plan_trace(job.events, spec=job.spec, deployment_id=job.deployment_id)
        redactor = Redactor(secret_values(os.environ, job.env, extra=job.secrets))
        _redact_plan(plan, redactor)
        mlflow = _import_mlflow()
        if self._mlflow_failures is None:
            self._mlflow_failures = _FailureLog.install()
        if settings.is_remote:
            self._check_reachable(settings.tracking_uri)
        _use_tracking_uri(mlflow, settings)
        experiment_id = self._experiment(mlflow, settings, settings.experiment_for(plan.workflow))
        trace_id = _write_trace(mlflow, plan, experiment_id)
        return TraceResult(plan.execution_id, trace_id, None, experiment_id, settings.tracking_uri)

    def _confirm(self, written: list[tuple[Job, TraceResult]]) -> None:
        """Drain MLflow's export queues once for the batch, then report each trace as stored or not.

        MLflow logs and drops a trace it cannot store; reading it back is the only way to know.
        """
        import mlflow

        assert self._mlflow_failures is not None
        mlflow.flush_trace_async_logging()
        for job, result in written:
            if _landed(mlflow, result):
                self._finish(job, result)
                continue
            # The experiment may be gone (deleted, another database): look it up anew next time.
            self._experiments = {k: v for k, v in self._experiments.items() if k[0] != result.tracking_uri}
            reason = self._mlflow_failures.last() or "MLflow did not store it (see the `mlflow` logger)"
            self._finish(job, TraceResult(result.execution_id, None, f"trace not written: {reason}",
                                          result.experiment_id, result.tracking_uri))

    def _finish(self, job: Job, result: TraceResult) -> None:
        if result.problem:
            from cagents.observe.redact import Redactor, secret_values

            redactor = Redactor(secret_values(os.environ, job.env, extra=job.secrets))
            result = replace(result, problem=redactor.text(result.problem))
        self._finished.add(id(job))
        try:
            job.done(result)
        except Exception:
            _log.exception("trace callback failed")
        with self._idle:
            self._pending -= 1
            if not self._pending:
                self._idle.notify_all()

    def _check_reachable(self, uri: str) -> None:
        """Fail fast (no MLflow retries for minutes) when a tracking server does not answer."""
        checked = self._reachable.get(uri)
        if checked is not None and time.monotonic() - checked < 30:
            return
        import requests

        try:
            requests.get(uri.rstrip("/") + "/health", timeout=5)
        except requests.RequestException as error:
            self._reachable.pop(uri, None)
            raise _Problem(f"the MLflow tracking server {uri} is unreachable ({_reason(error)}); "
                           "start it or fix MLFLOW_TRACKING_URI") from None
        self._reachable[uri] = time.monotonic()

    def _experiment(self, mlflow: Any, settings: ObserveSettings, name: str) -> str:
        key = (settings.tracking_uri, name)
        found = self._experiments.get(key)
        if found is not None:
            return found
        from mlflow.exceptions import MlflowException

        client = _client(mlflow, settings.tracking_uri)
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            try:
                experiment_id = client.create_experiment(
                    name,
                    artifact_location=settings.artifact_location if settings.is_local else None,
                    tags={"mlflow.experimentKind": "genai_development", "cagents.workflow": name},
                )
            except MlflowException as error:
                if getattr(error, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                    raise
                experiment = client.get_experiment_by_name(name)
                if experiment is None:
                    raise
                experiment_id = experiment.experiment_id
        elif experiment.lifecycle_stage == "deleted":
            raise _Problem(f"the MLflow experiment {name!r} is deleted; restore it in the MLflow UI "
                           "or name another in config.observability.mlflow.experiment_name")
        else:
            experiment_id = experiment.experiment_id
        self._experiments[key] = experiment_id
        return str(experiment_id)


_CLIENTS: dict[str | None, Any] = {}


def _client(mlflow: Any, uri: str | None) -> Any:
    client = _CLIENTS.get(uri)
    if client is None:
        client = _CLIENTS[uri] = mlflow.MlflowClient(uri)
    return client


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise _Problem("MLflow is not installed: `pip install 'cagents[mlflow]'` (or mlflow-skinny) "
                       "to trace executions, or set CAGENTS_TRACING=off") from None
    return mlflow


def _use_tracking_uri(mlflow: Any, settings: ObserveSettings) -> None:
    """Point MLflow's process-wide tracking URI (and its span exporter) at ours.

    MLflow binds its exporter to the URI current when tracing first starts, and mirrors
    the URI into MLFLOW_TRACKING_URI; we rebind whenever the URI we wrote to last is not
    the one wanted (or someone changed MLflow's), and undo the mirror so later settings and
    child processes still see what the user set.
    """
    global _BOUND_URI
    uri = settings.tracking_uri
    if _BOUND_URI == uri and mlflow.get_tracking_uri() == uri:
        return
    if settings.is_local:
        path = settings.sqlite_path
        (path.parent if path is not None else settings.home).mkdir(parents=True, exist_ok=True)
        # Creating a new store logs "Creating initial MLflow database tables..." at INFO into
        # the user's cell or terminal: our business, not theirs.
        logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    mlflow.flush_trace_async_logging()  # traces in flight go where they were meant to
    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    mlflow.tracing.reset()  # set_tracking_uri rebinds only when MLflow's own URI changed
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before
    _BOUND_URI = uri


_BOUND_URI: str | None = None


def _write_trace(mlflow: Any, plan: TracePlan, experiment_id: str) -> str:
    root = plan.root
    span = mlflow.start_span_no_context(
        name=root.name, span_type=root.span_type, inputs=root.inputs, attributes=root.attributes,
        tags=plan.tags, metadata=plan.metadata, experiment_id=experiment_id, start_time_ns=root.start_ns,
    )
    trace_id = str(span.trace_id)
    if not trace_id or trace_id == _NO_OP_TRACE_ID:
        raise _Problem("MLflow tracing is disabled in this process (mlflow.tracing.disable() or "
                       "MLFLOW_TRACING_ENABLED=false), or MLflow failed to start the trace; "
                       "see the `mlflow` logger")
    for child in root.children:
        _write_span(mlflow, child, span)
    _end(span, root)
    return trace_id


def _write_span(mlflow: Any, plan: SpanPlan, parent: Any) -> None:
    span = mlflow.start_span_no_context(
        name=plan.name, span_type=plan.span_type, parent_span=parent, inputs=plan.inputs,
        attributes=plan.attributes, start_time_ns=plan.start_ns,
    )
    for child in plan.children:
        _write_span(mlflow, child, span)
    _end(span, plan)


def _end(span: Any, plan: SpanPlan) -> None:
    from mlflow.entities import SpanStatus, SpanStatusCode

    end = plan.end_ns if plan.end_ns is not None else plan.start_ns
    status: Any = "OK"
    if plan.error is not None:
        span.record_exception(plan.error)  # an `exception` event, as MLflow's UI shows errors
        status = SpanStatus(SpanStatusCode.ERROR, description=plan.error)
    span.end(outputs=plan.outputs, status=status, end_time_ns=end)


def _landed(mlflow: Any, result: TraceResult) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        trace = _client(mlflow, result.tracking_uri).get_trace(result.trace_id)
    except MlflowException:
        return False
    return trace.info.trace_metadata.get("mlflow.trace.infoFinalized") == "true" or bool(trace.data.spans)


def _redact_plan(plan: TracePlan, redactor: Any) -> None:
    plan.tags = {k: redactor.text(v) for k, v in plan.tags.items()}
    plan.metadata = {k: redactor.text(v) for k, v in plan.metadata.items()}
    stack = [plan.root]
    while stack:
        span = stack.pop()
        span.inputs = redactor.value(span.inputs)
        span.outputs = redactor.value(span.outputs)
        span.attributes = redactor.value(span.attributes)
        if span.error is not None:
            span.error = redactor.text(span.error)
        stack.extend(span.children)


class _FailureLog(logging.Handler):
    """Keeps the last export failure MLflow logged (it logs and drops instead of raising)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._last: tuple[float, str] | None = None

    @classmethod
    def install(cls) -> _FailureLog:
        handler = cls()
        logging.getLogger("mlflow.tracing").addHandler(handler)
        return handler

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "fail" in message.lower():
            self._last = (time.monotonic(), message)

    def last(self, within_s: float = 60.0) -> str | None:
        if self._last is None or time.monotonic() - self._last[0] > within_s:
            return None
        return _strip_ansi(self._last[1])[:500]


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _reason(error: BaseException) -> str:
    """`connection refused` rather than a page of urllib3 wrapping."""
    text = str(error)
    match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if match:
        return match.group(1).strip().lower()
    if "timed out" in text.lower():
        return "timed out"
    return type(error).__name__


def _short(error: BaseException) -> str:
    text = _strip_ansi(str(error)).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300] if text else ''}".rstrip(": ")


_EXPORTER = _Exporter()


def exporter() -> _Exporter:
    """The process's exporter (one thread, started with the first finished execution)."""
    return _EXPORTER
