"""The interpreter: a run advances in steps over a frontier of nodes.

Each step runs every node of the frontier that no other pending node can still reach
(so branches of a fan-out meet at their join and run it once), concurrently. As each
node finishes, its writes are checked and applied, its outgoing edge chooses what runs
next, and a checkpoint is written before anything else starts. `Run.astep()` is one
step; `Run.arun()` loops over steps, so notebooks and tests can step through a run.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cagents.config.expressions import ExpressionError, parse_condition
from cagents.config.loader import WorkflowSpec
from cagents.config.models import END
from cagents.engine.events import (
    CheckpointWritten,
    Event,
    ExecutionAccepted,
    ExecutionFinished,
    ExecutionStarted,
    ExecutionWaiting,
    NodeFailed,
    NodeFinished,
    NodeRetrying,
    NodeStarted,
    Subscriber,
)
from cagents.engine.nodes import NodeContext, NodeOutcome, human_prompt, run_node
from cagents.engine.recorder import Checkpoint, MemoryRecorder, NodeMetrics, Recorder, RunInfo, RunSummary
from cagents.engine.state import check_writes, initial_state, json_copy
from cagents.errors import CagentsError, ExecutionError, InputError, LLMError, NodeError

__all__ = ["Run", "RunResult", "StepResult"]

TERMINAL = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True)
class StepResult:
    """What one step did: the nodes that ran and the fields that changed (old, new)."""

    step: int
    nodes: list[str]
    changes: dict[str, tuple[Any, Any]]
    status: str
    next_nodes: list[str]


@dataclass(frozen=True)
class RunResult:
    execution_id: str
    workflow_name: str
    status: str
    outputs: dict[str, Any]
    error: str | None
    total_tokens: int
    total_cost_usd: float
    duration_seconds: float
    bottleneck: dict[str, Any]
    simulated: bool = False
    waiting_for: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "workflow_name": self.workflow_name,
            "status": self.status,
            "outputs": self.outputs,
            "error": self.error,
            "total_tokens": self.total_tokens,
            "total_cost_usd": self.total_cost_usd,
            "duration_seconds": self.duration_seconds,
            "bottleneck": self.bottleneck,
            "simulated": self.simulated,
            "waiting_for": self.waiting_for,
        }


class _Cancelled(Exception):
    pass


@dataclass
class _Position:
    """Mutable bookkeeping of a run; everything here goes into checkpoints."""

    state: dict[str, Any]
    frontier: list[str]
    waiting: list[str] = field(default_factory=list)
    visits: dict[str, int] = field(default_factory=dict)
    node_runs: int = 0
    step: int = 0
    metrics: dict[str, NodeMetrics] = field(default_factory=dict)


class Run:
    """One execution of a workflow; create with `Workflow.start()` or `Run(spec, inputs)`."""

    def __init__(
        self,
        spec: WorkflowSpec,
        inputs: Mapping[str, Any] | None = None,
        *,
        execution_id: str | None = None,
        recorder: Recorder | None = None,
        subscribers: Iterable[Subscriber] = (),
        env: Mapping[str, str] | None = None,
        stream: bool = False,
        retry_of: str | None = None,
        deployment_id: str | None = None,
        tool_registry: Any = None,
        coerce_inputs: bool = False,
        checkpoint: Checkpoint | None = None,
        retry_backoff: float = 0.5,
    ):
        import os

        self.spec = spec
        self.execution_id = execution_id or (checkpoint.execution_id if checkpoint else str(uuid.uuid4()))
        self.recorder: Recorder = recorder if recorder is not None else MemoryRecorder()
        self.subscribers = list(subscribers)
        self.env: Mapping[str, str] = dict(os.environ) | dict(env or {})
        self.stream = stream
        self.retry_of = retry_of
        self.deployment_id = deployment_id
        self.tool_registry = tool_registry
        self.retry_backoff = retry_backoff
        self.inputs = dict(inputs or {})
        self.error: str | None = None
        self.waiting_for: dict[str, Any] | None = None
        self._cancel_requested = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._resumed_from: int | None = None
        self._deadline_handle: asyncio.TimerHandle | None = None
        self._deadline_loop: asyncio.AbstractEventLoop | None = None
        self._timed_out = False
        self._metric_snap: dict[str, dict[str, Any]] = {}
        self._node_cache: dict[Any, Any] = {}  # per-run: resolved tools and tool contexts
        self._final: RunResult | None = None
        self._loop_nodes = frozenset(n for n, e in spec.graph.out.items() if e.loop is not None)
        self._tokens = checkpoint.tokens if checkpoint else 0
        self._cost = checkpoint.cost_usd if checkpoint else 0.0
        if checkpoint is not None:
            self._pos = _Position(
                state=json_copy(checkpoint.state),
                frontier=list(checkpoint.frontier),
                waiting=list(checkpoint.waiting),
                visits=dict(checkpoint.visits),
                node_runs=checkpoint.node_runs,
                step=checkpoint.step,
                metrics={k: NodeMetrics(**v) for k, v in checkpoint.metrics.items()},
            )
            self._metric_snap = {k: dict(v) for k, v in checkpoint.metrics.items()}
            self.status = "waiting" if checkpoint.waiting and not self._runnable_any() else "interrupted"
            if checkpoint.waiting:
                asking = checkpoint.waiting[0]
                self.waiting_for = self._waiting_info(asking, self._human_prompt(asking))
            self._accepted = True
            self._resumed_from = checkpoint.step
            self._elapsed_before = checkpoint.duration_s
        else:
            self._pos = _Position(state=initial_state(spec, self.inputs, coerce=coerce_inputs),
                                  frontier=[spec.graph.entry])
            self.status = "pending"
            self._accepted = False
            self._elapsed_before = 0.0
        self._started: float | None = None
        self.started_at = time.time()

    # ---- public surface -----------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        return json_copy(self._pos.state)

    @property
    def next_nodes(self) -> list[str]:
        return list(dict.fromkeys(self._pos.frontier))

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def cancel(self) -> None:
        """Ask the run to stop; running nodes are cancelled, what finished is kept."""
        self._cancel_requested = True
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            for task in list(self._tasks):
                task.cancel()
        else:
            loop.call_soon_threadsafe(lambda: [t.cancel() for t in list(self._tasks)])

    async def arun(self) -> RunResult:
        """Step until the run completes, fails, is cancelled or waits for a person."""
        while not self.done and (self.status != "waiting" or self._cancel_requested):
            await self.astep()
        return self.result()

    async def aprovide(self, values: Mapping[str, Any], node_id: str | None = None) -> StepResult:
        """Give a waiting human node its answer, then take the next step."""
        if not self._pos.waiting:
            raise ExecutionError(f"execution {self.execution_id} is not waiting for input")
        node_id = node_id or self._pos.waiting[0]
        if node_id not in self._pos.waiting:
            raise ExecutionError(
                f"node `{node_id}` is not waiting; waiting: {', '.join(self._pos.waiting)}"
            )
        node = self.spec.config.node(node_id)
        problems: dict[str, str] = {}
        writes: dict[str, Any] = {}
        types = self.spec.output_types.get(node_id, {})
        for name in node.outputs:
            declared = types.get(name) or self.spec.state_types[name]
            if name not in values:
                problems[name] = f"required ({declared})"
                continue
            value = declared.coerce(values[name])
            found = declared.check(value, name)
            if found:
                problems[name] = "; ".join(found)
            writes[name] = value
        for name in values:
            if name not in node.outputs:
                problems[name] = f"not an output of `{node_id}` (expected: {', '.join(node.outputs)})"
        if problems:
            raise InputError(problems)
        self._loop = asyncio.get_running_loop()
        changes: dict[str, tuple[Any, Any]] = {}
        self._pos.step += 1
        self._pos.waiting.remove(node_id)
        self.status = "running"
        self.waiting_for = None
        await self._finish_node(node_id, NodeOutcome(writes=writes), 0.0, changes)
        if not self._pos.frontier:
            await self._complete()
        return StepResult(self._pos.step, [node_id], changes, self.status, self.next_nodes)

    async def astep(self) -> StepResult:
        """Run the next step: every frontier node that is not waiting for a join."""
        if self.done:
            return StepResult(self._pos.step, [], {}, self.status, [])
        self._loop = asyncio.get_running_loop()
        await self._ensure_started()
        if self._cancel_requested:  # also ends a run that waits for a person
            self.waiting_for = None
            await self._stop("cancelled", "cancelled by request")
            return StepResult(self._pos.step, [], {}, self.status, [])
        if self._pos.waiting and not self._runnable_any():
            self.status = "waiting"
            return StepResult(self._pos.step, [], {}, self.status, self.next_nodes)
        runnable = self._runnable()
        self._pos.step += 1
        changes: dict[str, tuple[Any, Any]] = {}
        try:
            await self._run_step(runnable, changes)
        except _Cancelled:
            await self._stop("cancelled", "cancelled by request")
        except asyncio.CancelledError:
            # The task running the step was cancelled from outside (Ctrl-C in a notebook,
            # a host shutting down): record the cancellation, then let it propagate.
            await self._stop("cancelled", "cancelled while running")
            raise
        except CagentsError as error:
            await self._stop("failed", str(error))
        if self.status == "running":
            if self._pos.waiting and not self._runnable_any():
                await self._pause()
            elif not self._pos.frontier:
                await self._complete()
        return StepResult(self._pos.step, runnable, changes, self.status, self.next_nodes)

    def result(self) -> RunResult:
        final = self._final
        if final is not None and final.status == self.status:
            return final  # a finished run does not change: built once, in _record_end
        total_tokens, total_cost = self._totals()
        return RunResult(
            execution_id=self.execution_id,
            workflow_name=self.spec.name,
            status=self.status,
            outputs=self.state,
            error=self.error,
            total_tokens=total_tokens,
            total_cost_usd=round(total_cost, 8),
            duration_seconds=round(self._elapsed(), 6),
            bottleneck=self.bottleneck(),
            simulated=any(m.simulated for m in self._pos.metrics.values()),
            waiting_for=self.waiting_for,
        )

    def bottleneck(self) -> dict[str, Any]:
        """Per node duration, tokens, cost and share of the total node time."""
        metrics = self._pos.metrics
        total = sum(m.duration_s for m in metrics.values()) or 0.0
        nodes = {
            node_id: {
                "runs": m.runs,
                "duration_s": round(m.duration_s, 6),
                "tokens": m.tokens,
                "cost_usd": round(m.cost_usd, 8),
                "share": round(m.duration_s / total, 4) if total else 0.0,
                "simulated": m.simulated,
            }
            for node_id, m in metrics.items()
        }
        slowest = max(metrics.values(), key=lambda m: m.duration_s, default=None)
        return {
            "bottleneck_node": slowest.node_id if slowest else None,
            "total_node_seconds": round(total, 6),
            "nodes": nodes,
        }

    # ---- internals ----------------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception:  # a broken subscriber must not break the run
                import logging

                logging.getLogger("cagents.engine").exception("event subscriber failed")

    def _elapsed(self) -> float:
        if self._started is None:
            return self._elapsed_before
        return self._elapsed_before + (time.perf_counter() - self._started)

    def _totals(self) -> tuple[int, float]:
        metrics = self._pos.metrics.values()
        return sum(m.tokens for m in metrics), sum(m.cost_usd for m in metrics)

    async def _ensure_started(self) -> None:
        if self._started is None:
            self._started = time.perf_counter()
        if not self._accepted:
            self._accepted = True
            await self.recorder.accepted(
                RunInfo(
                    execution_id=self.execution_id,
                    workflow_name=self.spec.name,
                    config_text=self.spec.text,
                    config_hash=self.spec.config_hash,
                    inputs=json_copy(self.inputs),
                    started_at=self.started_at,
                    retry_of=self.retry_of,
                    deployment_id=self.deployment_id,
                )
            )
            self._emit(ExecutionAccepted(self.execution_id, workflow_name=self.spec.name,
                                         inputs=json_copy(self.inputs), config_hash=self.spec.config_hash))
            self._emit(ExecutionStarted(self.execution_id, workflow_name=self.spec.name))
        elif self.status in ("interrupted", "pending"):
            self._emit(ExecutionStarted(self.execution_id, workflow_name=self.spec.name,
                                        resumed_from_step=self._resumed_from))
        if self.status in ("pending", "interrupted", "waiting"):
            self.status = "running"

    def _human_prompt(self, node_id: str) -> str:
        """The question of a waiting human node, rendered again from the restored state."""
        ctx = NodeContext(spec=self.spec, node=self.spec.config.node(node_id), state=self._pos.state,
                          execution_id=self.execution_id, env=self.env, emit=self._emit)
        try:
            return human_prompt(ctx)
        except CagentsError:
            return ""

    def _runnable_any(self) -> bool:
        return bool(self._runnable())

    def _runnable(self) -> list[str]:
        waiting = self._pos.waiting
        pending = [n for n in dict.fromkeys(self._pos.frontier) if n not in waiting]
        if len(pending) == 1 and len(self._pos.frontier) == 1:
            return pending
        ancestors = self.spec.graph.ancestors
        others = set(self._pos.frontier)
        # A node waits while another pending node can still reach it (a join in the making).
        ready = [
            n for n in pending
            if not any(m != n and m in others for m in ancestors.get(n, ()))
        ]
        if ready:
            return ready
        # Branches that reach each other (a cycle) run anyway, but nothing runs past a
        # human node that has not been answered: the run waits for it.
        return [n for n in pending if not any(m in waiting for m in ancestors.get(n, ()))]

    def _deadline_left(self) -> float:
        return self.spec.config.execution.timeout - self._elapsed()

    def _start_node(self, node_id: str) -> Any:
        self._pos.node_runs += 1
        limit = self.spec.config.execution.max_steps
        if limit is not None and self._pos.node_runs > limit:
            raise ExecutionError(
                f"more than {limit} node runs (config.execution.max_steps); the workflow may be looping"
            )
        if node_id in self._loop_nodes:  # only loops need their run counts (max_iterations)
            self._pos.visits[node_id] = self._pos.visits.get(node_id, 0) + 1
        if node_id in self.spec.graph.map_targets:
            return self._run_map(node_id)
        return self._run_with_retries(node_id, None, None)

    def _arm_deadline(self) -> None:
        """One timer per run enforces config.execution.timeout by cancelling running nodes.

        The timer lives on the loop that runs the steps; a run stepped from another loop
        (the plain API's background loop, then a notebook's) gets a timer there, and the
        old one, which must not touch this loop's tasks from its thread, does nothing.
        """
        loop = asyncio.get_running_loop()
        if self._deadline_handle is not None:
            if self._deadline_loop is loop:
                return
            self._disarm_deadline()
        left = max(self._deadline_left(), 0.0)

        def expire() -> None:
            if self._deadline_loop is not loop:
                return
            self._timed_out = True
            for task in list(self._tasks):
                task.cancel()

        self._deadline_handle = loop.call_later(left, expire)
        self._deadline_loop = loop

    def _disarm_deadline(self) -> None:
        handle, loop = self._deadline_handle, self._deadline_loop
        self._deadline_handle = self._deadline_loop = None
        if handle is not None and loop is not None:
            try:
                same = asyncio.get_running_loop() is loop
            except RuntimeError:
                same = False
            if same:
                handle.cancel()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(handle.cancel)

    def _timeout_error(self) -> ExecutionError:
        return ExecutionError(
            f"execution timed out after {self.spec.config.execution.timeout:g} s (config.execution.timeout)"
        )

    async def _run_step(self, runnable: list[str], changes: dict[str, tuple[Any, Any]]) -> None:
        if self._deadline_left() <= 0:
            raise self._timeout_error()
        self._arm_deadline()
        if len(runnable) == 1:
            # The common case: one node, awaited in this task (no extra task to schedule).
            node_id = runnable[0]
            current = asyncio.current_task()
            assert current is not None
            self._tasks.add(current)
            try:
                outcome, duration = await self._start_node(node_id)
            except asyncio.CancelledError:
                if self._timed_out:
                    current.uncancel() if hasattr(current, "uncancel") else None
                    raise self._timeout_error() from None
                if self._cancel_requested:
                    current.uncancel() if hasattr(current, "uncancel") else None
                    raise _Cancelled() from None
                raise
            finally:
                self._tasks.discard(current)
            await self._finish_node(node_id, outcome, duration, changes)
            return
        loop = asyncio.get_running_loop()
        finished: collections.deque[tuple[str, asyncio.Task[Any]]] = collections.deque()
        wake: list[asyncio.Future[None]] = []

        def on_done(task: asyncio.Task[Any], node_id: str) -> None:
            finished.append((node_id, task))
            if wake and not wake[0].done():
                wake[0].set_result(None)

        tasks: list[asyncio.Task[Any]] = []
        for node_id in runnable:
            task = loop.create_task(self._start_node(node_id))
            task.add_done_callback(functools.partial(on_done, node_id=node_id))
            tasks.append(task)
            self._tasks.add(task)
        try:
            # Nodes finish in any order; each one's writes and checkpoint land as it does.
            for _ in range(len(tasks)):
                while not finished:
                    wake[:] = [loop.create_future()]
                    await wake[0]
                node_id, task = finished.popleft()
                self._tasks.discard(task)
                if task.cancelled():
                    if self._timed_out:
                        raise self._timeout_error()
                    raise _Cancelled()
                error = task.exception()
                if error is not None:
                    raise error
                outcome, duration = task.result()
                await self._finish_node(node_id, outcome, duration, changes)
        except asyncio.CancelledError:
            if self._cancel_requested:
                raise _Cancelled() from None
            raise
        finally:
            leftovers = [t for t in tasks if not t.done()]
            for task in leftovers:
                task.cancel()
            if leftovers:
                await asyncio.gather(*leftovers, return_exceptions=True)
            for task in tasks:
                self._tasks.discard(task)

    async def _finish_node(
        self,
        node_id: str,
        outcome: NodeOutcome,
        duration: float,
        changes: dict[str, tuple[Any, Any]],
    ) -> None:
        if outcome.waiting:
            if node_id not in self._pos.waiting:
                self._pos.waiting.append(node_id)
            self.waiting_for = self._waiting_info(node_id, outcome.prompt or "")
            # The pause is a resumable position too: a host answers it from the recorder.
            await self._write_checkpoint(node_id)
            return
        writes = check_writes(self.spec, node_id, outcome.writes)
        for name, value in writes.items():
            old = self._pos.state.get(name)
            if old != value:
                changes[name] = (old, value)
            self._pos.state[name] = value
        metrics = self._pos.metrics.get(node_id)
        if metrics is None:
            metrics = self._pos.metrics[node_id] = NodeMetrics(node_id)
        if node_id not in self.spec.graph.map_targets:
            metrics.add(duration, outcome.tokens, outcome.cost_usd, outcome.simulated)
        self._metric_snap[node_id] = vars(metrics).copy()
        self._tokens += outcome.tokens
        self._cost += outcome.cost_usd
        successors = self._successors(node_id)
        frontier = self._pos.frontier
        frontier.remove(node_id)
        for successor in successors:
            # A node already pending is the join of branches: it runs once for all of them.
            if successor != END and successor not in frontier:
                frontier.append(successor)
        if self.subscribers:
            self._emit(NodeFinished(self.execution_id, node_id=node_id, step=self._pos.step, duration_s=duration,
                                    tokens=outcome.tokens, cost_usd=outcome.cost_usd, outputs=writes,
                                    simulated=outcome.simulated, note=outcome.note))
        await self._write_checkpoint(node_id)

    def _waiting_info(self, node_id: str, prompt: str) -> dict[str, Any]:
        """What a waiting human node asks for: its prompt and the JSON Schema of each value."""
        node = self.spec.config.node(node_id)
        schema = {
            name: (self.spec.output_types.get(node_id, {}).get(name) or self.spec.state_types[name]).json_schema(
                self.spec.config.state.fields[name].description
            )
            for name in node.outputs
        }
        return {"node_id": node_id, "prompt": prompt, "fields": schema}

    async def _write_checkpoint(self, node_id: str) -> None:
        # State values are replaced on write, never changed in place, so shallow copies
        # are true snapshots here.
        checkpoint = Checkpoint(
            execution_id=self.execution_id,
            step=self._pos.step,
            node_id=node_id,
            state=dict(self._pos.state),
            frontier=list(self._pos.frontier),
            waiting=list(self._pos.waiting),
            visits=dict(self._pos.visits),
            node_runs=self._pos.node_runs,
            metrics=dict(self._metric_snap),
            duration_s=self._elapsed(),
            tokens=self._tokens,
            cost_usd=self._cost,
            created_at=time.time(),
        )
        await self.recorder.checkpoint(checkpoint)
        if self.subscribers:
            self._emit(CheckpointWritten(self.execution_id, node_id=node_id, step=self._pos.step))

    def _successors(self, node_id: str) -> list[str]:
        edge = self.spec.graph.out.get(node_id)
        if edge is None:
            return []
        kind = edge.kind
        if kind == "linear":
            return [edge.to]  # type: ignore[list-item]
        if kind == "fanout":
            return list(edge.to)  # type: ignore[arg-type]
        if kind == "parallel":
            return [edge.parallel.target_node]  # type: ignore[union-attr]
        if kind == "loop":
            loop = edge.loop
            assert loop is not None
            done = bool(self._pos.state.get(loop.field_name))
            if done or self._pos.visits.get(node_id, 0) >= loop.max_iterations:
                return [loop.exit_to]
            return [loop.back_to or node_id]
        assert edge.routes is not None
        for route in edge.routes:
            if route.is_default:
                return [route.to]
            try:
                if parse_condition(route.logic).truthy(self._pos.state):
                    return [route.to]
            except ExpressionError as error:
                raise NodeError(node_id, f"route condition `{route.logic}`: {error.message}") from None
        conditions = "; ".join(route.logic for route in edge.routes)
        raise NodeError(node_id, f"no route matched ({conditions}) and there is no default route")

    async def _run_with_retries(
        self, node_id: str, item: Any, item_index: int | None
    ) -> tuple[NodeOutcome, float]:
        node = self.spec.config.node(node_id)
        attempts = 1 + (node.retries or 0)
        memory = None
        for attempt in range(1, attempts + 1):
            if self.subscribers:
                self._emit(NodeStarted(self.execution_id, node_id=node_id, step=self._pos.step,
                                       kind=node.effective_kind, item_index=item_index))
            started = time.perf_counter()
            ctx = NodeContext(
                spec=self.spec, node=node, state=self._pos.state, execution_id=self.execution_id,
                env=self.env, emit=self._emit, stream=self.stream, item=item, item_index=item_index,
                memory=memory, tool_registry=self.tool_registry, extra=self._node_cache,
                listening=bool(self.subscribers),
            )
            try:
                if node.timeout is not None and node.effective_kind != "code":
                    outcome = await asyncio.wait_for(run_node(ctx), node.timeout)
                else:
                    outcome = await run_node(ctx)
                return outcome, time.perf_counter() - started
            except asyncio.TimeoutError:
                error: Exception = NodeError(node_id, f"timed out after {node.timeout:g} s (node timeout)")
                transient = True
            except LLMError as exc:
                error, transient = exc, exc.transient
            except ExecutionError as exc:
                error, transient = exc, False
            except Exception as exc:  # a bug or an unexpected library error: still name the node
                error, transient = NodeError(node_id, f"{type(exc).__name__}: {exc}"), False
                error.__cause__ = exc
            duration = time.perf_counter() - started
            if transient and attempt < attempts:
                delay = self.retry_backoff * (2 ** (attempt - 1))
                self._emit(NodeRetrying(self.execution_id, node_id=node_id, attempt=attempt,
                                        error=str(error), delay_s=delay))
                await asyncio.sleep(delay)
                continue
            self._emit(NodeFailed(self.execution_id, node_id=node_id, step=self._pos.step, error=str(error),
                                  duration_s=duration, item_index=item_index))
            raise error
        raise AssertionError("unreachable")

    async def _run_map(self, node_id: str) -> tuple[NodeOutcome, float]:
        graph = self.spec.graph
        source = graph.map_targets[node_id]
        parallel = graph.out[source].parallel
        assert parallel is not None
        items = self._pos.state.get(parallel.items_name) or []
        if not isinstance(items, list):
            raise NodeError(node_id, f"`{parallel.items_name}` is not a list; cannot map over it")
        limit = parallel.max_concurrency or self.spec.config.execution.max_concurrency
        gate = asyncio.Semaphore(limit)
        node = self.spec.config.node(node_id)
        started = time.perf_counter()
        metrics = self._pos.metrics.setdefault(node_id, NodeMetrics(node_id))
        spent = [0, 0.0]

        async def one(index: int, item: Any) -> Any:
            async with gate:
                outcome, duration = await self._run_with_retries(node_id, item, index)
            writes = check_writes(self.spec, node_id, outcome.writes)
            metrics.add(duration, outcome.tokens, outcome.cost_usd, outcome.simulated)
            spent[0] += outcome.tokens
            spent[1] += outcome.cost_usd
            self._emit(NodeFinished(self.execution_id, node_id=node_id, step=self._pos.step, duration_s=duration,
                                    tokens=outcome.tokens, cost_usd=outcome.cost_usd, outputs=writes,
                                    simulated=outcome.simulated, item_index=index, note=outcome.note))
            if len(node.outputs) == 1:
                return writes.get(node.outputs[0])
            return {name: writes.get(name) for name in node.outputs}

        item_tasks = [asyncio.ensure_future(one(i, item)) for i, item in enumerate(items)]
        try:
            results = await asyncio.gather(*item_tasks)
        except BaseException:
            # gather does not stop the other items when one fails: stop them here, so no
            # item keeps calling the model after the node (and the run) has failed.
            for task in item_tasks:
                task.cancel()
            await asyncio.gather(*item_tasks, return_exceptions=True)
            raise
        collected = list(results)
        collect_type = self.spec.state_types[parallel.collect_name]
        problems = collect_type.check(collected, parallel.collect_name)
        if problems:
            raise NodeError(node_id, "collected results do not fit: " + "; ".join(problems),
                            field_name=parallel.collect_name)
        return NodeOutcome(writes={parallel.collect_name: collected}, tokens=int(spent[0]), cost_usd=spent[1],
                           note=f"mapped over {len(items)} item(s)"), time.perf_counter() - started

    async def _complete(self) -> None:
        self.status = "completed"
        await self._record_end()

    async def _pause(self) -> None:
        self.status = "waiting"
        assert self.waiting_for is not None
        self._emit(ExecutionWaiting(self.execution_id, node_id=self.waiting_for["node_id"],
                                    prompt=self.waiting_for["prompt"], fields=self.waiting_for["fields"]))
        await self._record_end()

    async def _stop(self, status: str, error: str) -> None:
        self.status = status
        self.error = error
        await self._record_end()

    async def _record_end(self) -> None:
        self._disarm_deadline()
        self._final = None
        result = self.result()
        if self.status in TERMINAL:
            self._final = result
        await self.recorder.finished(
            RunSummary(
                execution_id=self.execution_id,
                status=self.status,
                outputs=result.outputs,
                error=self.error,
                started_at=self.started_at,
                completed_at=time.time(),
                duration_s=result.duration_seconds,
                total_tokens=result.total_tokens,
                total_cost_usd=result.total_cost_usd,
                bottleneck=result.bottleneck,
                simulated=result.simulated,
                waiting_for=self.waiting_for,
            )
        )
        self._emit(ExecutionFinished(self.execution_id, status=self.status, error=self.error,
                                     total_tokens=result.total_tokens, total_cost_usd=result.total_cost_usd,
                                     duration_s=result.duration_seconds))
