"""Runs a long-lived host drives in its own event loop, with the events each one emitted.

A REST request or a panel starts a run and returns at once; the run goes on as a task in
the host's loop. Every event it emits is kept (bounded), so a stream that connects late
replays what happened and then follows; the run's result is kept for a while after it ends.
Runs driven elsewhere (the CLI, a notebook, another server) are followed through the
database instead (`RecordedRun`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from cagents.app.resume import aresume_execution, check_resumable
from cagents.app.runs import Source, drive, spec_from_snapshot, start_workflow
from cagents.errors import CagentsError, ExecutionError

if TYPE_CHECKING:
    from cagents.app.workbench import Workbench
    from cagents.engine import RunResult
    from cagents.engine.events import Event

__all__ = ["STOPPED", "LiveRun", "LiveRuns", "RecordedRun"]

_log = logging.getLogger("cagents.app")

#: Token events beyond this many per run are dropped from the replay buffer (the rest stay).
MAX_TOKEN_EVENTS = 2000
#: Statuses after which an execution does not move without someone acting (resume, rerun).
STOPPED = frozenset({"completed", "failed", "cancelled", "waiting", "interrupted"})


class LiveRun:
    """One run driven here: its events so far, and its task."""

    def __init__(self, execution_id: str) -> None:
        self.execution_id = execution_id
        self.events: list[dict[str, Any]] = []
        self.task: asyncio.Task[RunResult] | None = None
        self.result: RunResult | None = None
        self.error: str | None = None
        self.finished_at: float | None = None
        self._tokens = 0
        self._changed = asyncio.Event()

    @property
    def done(self) -> bool:
        return self.finished_at is not None

    def publish(self, event: Event) -> None:
        """The engine's subscriber: keep the event and wake the followers."""
        if event.type == "token_streamed":
            self._tokens += 1
            if self._tokens > MAX_TOKEN_EVENTS:
                return
        self.events.append(event.to_dict())
        self._wake()

    def _finish(self, task: asyncio.Task[RunResult]) -> None:
        if task.cancelled():
            self.error = "the host stopped before the run ended"
        elif task.exception() is not None:
            error = task.exception()
            self.error = str(error)
            if not isinstance(error, CagentsError):
                _log.error("run %s failed", self.execution_id, exc_info=error)
            if not any(e["type"] == "execution_finished" for e in self.events):
                self.events.append({
                    "type": "execution_finished", "execution_id": self.execution_id, "at": time.time(),
                    "status": "failed", "error": self.error, "total_tokens": 0, "total_cost_usd": 0.0,
                    "duration_s": 0.0,
                })
        else:
            self.result = task.result()
        self.finished_at = time.monotonic()
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def accepted(self) -> None:
        """Wait until the run's row is in the database (its first event) or the run ended."""
        while True:
            changed = self._changed
            if self.events or self.done:
                return
            await changed.wait()

    async def events_after(self, index: int, timeout: float) -> list[dict[str, Any]]:
        """The events from `index` on; waits up to `timeout` for one when there are none yet.

        An empty list means nothing came in time, or the run is over (see `done`); waiting
        here is safe to cancel, unlike an abandoned `follow()`.
        """
        changed = self._changed
        if index >= len(self.events) and not self.done:
            try:
                await asyncio.wait_for(changed.wait(), timeout)
            except asyncio.TimeoutError:  # the builtin TimeoutError only from Python 3.11
                return []
        return self.events[index:]

    async def follow(self, start: int = 0) -> AsyncIterator[dict[str, Any]]:
        """Every event from `start` (default the first), then new ones as they come, until the run ends."""
        index = max(0, start)
        while True:
            changed = self._changed
            while index < len(self.events):
                yield self.events[index]
                index += 1
            if self.done:
                return
            await changed.wait()

    async def wait(self) -> RunResult | None:
        """Wait for the end; the result, or None when the run failed outside the engine."""
        if self.task is not None:
            await asyncio.wait({self.task})
        return self.result


class LiveRuns:
    """The runs of one host process, started in its running loop."""

    def __init__(self, workbench: Workbench, *, keep_finished: int = 200) -> None:
        self.workbench = workbench
        self.keep_finished = keep_finished
        self._runs: OrderedDict[str, LiveRun] = OrderedDict()

    def get(self, execution_id: str) -> LiveRun | None:
        return self._runs.get(execution_id)

    def start(
        self,
        source: Source,
        inputs: Mapping[str, Any] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        coerce_inputs: bool = False,
        retry_of: str | None = None,
        deployment_id: str | None = None,
        stream: bool = False,
    ) -> LiveRun:
        """Start a recorded run as a task; bad config or inputs raise here, before any task."""
        live: LiveRun | None = None

        def publish(event: Event) -> None:
            if live is not None:
                live.publish(event)

        handle = start_workflow(
            self.workbench, source, inputs, env=env, subscribers=[publish], coerce_inputs=coerce_inputs,
            retry_of=retry_of, deployment_id=deployment_id, stream=stream,
        )
        live = LiveRun(handle.execution_id)
        return self._launch(live, drive(self.workbench, handle))

    async def rerun(self, execution_id: str, *, env: Mapping[str, str] | None = None) -> LiveRun:
        """Run an execution again from its snapshot and inputs; the new run names the old."""
        record = await asyncio.to_thread(self.workbench.db.executions.get, execution_id)
        spec = spec_from_snapshot(record)
        if record.inputs is None and "inputs" in record.corrupt_fields:
            raise ExecutionError(f"the inputs of execution {execution_id} cannot be read; run the workflow anew")
        return self.start(spec, record.inputs or {}, env=env, coerce_inputs=True, retry_of=record.id,
                          deployment_id=None)

    async def resume(
        self, execution_id: str, values: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None
    ) -> LiveRun:
        """Continue an interrupted or waiting execution; refusals raise here."""
        await check_resumable(self.workbench, execution_id, values)
        live = LiveRun(execution_id)
        coroutine = aresume_execution(self.workbench, execution_id, values, env=env, subscribers=[live.publish])
        return self._launch(live, coroutine)

    def _launch(self, live: LiveRun, coroutine: Any) -> LiveRun:
        self._runs[live.execution_id] = live
        self._runs.move_to_end(live.execution_id)
        live.task = asyncio.get_running_loop().create_task(coroutine, name=f"cagents-run-{live.execution_id}")
        live.task.add_done_callback(live._finish)
        self._forget_old()
        return live

    def _forget_old(self) -> None:
        finished = [key for key, run in self._runs.items() if run.done]
        for key in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._runs[key]

    async def aclose(self, timeout: float = 5.0) -> None:
        """Cancel the runs still going (their rows say cancelled) and wait a little for them."""
        tasks = [run.task for run in self._runs.values() if run.task is not None and not run.task.done()]
        for execution_id, run in self._runs.items():
            if not run.done:
                live = self.workbench.live_run(execution_id)
                if live is not None:
                    live.cancel()
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()


class RecordedRun:
    """An execution followed through the database: another process runs it, or it is over.

    Each `poll()` (blocking: call it in a worker thread) returns what changed since the last
    one: a `state` event per new checkpoint (where it is, never the state itself), then an
    `execution` snapshot when the status, node count or totals moved. `ended` turns true
    once the row says the run stopped (finished, failed, cancelled, waiting or interrupted).
    """

    def __init__(self, workbench: Workbench, execution_id: str, *, after_state: int = 0) -> None:
        self.workbench = workbench
        self.execution_id = execution_id
        self.after_state = after_state
        self.ended = False
        self._snapshot: dict[str, Any] | None = None

    def poll(self) -> list[dict[str, Any]]:
        """New checkpoints and, when anything moved, a snapshot; NotFoundError for an unknown id."""
        from sqlalchemy import func, select

        from cagents.errors import NotFoundError
        from cagents.store.models import Execution, ExecutionState
        from cagents.store.records import decode_json, iso

        e, s = Execution.__table__.c, ExecutionState.__table__.c  # type: ignore[attr-defined]
        mine = s.execution_id == self.execution_id
        with self.workbench.db.read() as conn:  # one transaction: states and row agree
            row = conn.execute(select(
                e.workflow_name, e.status, e.error_message, e.started_at, e.completed_at,
                e.total_tokens, e.total_cost_usd, e.waiting_for,
            ).where(e.id == self.execution_id)).mappings().first()
            if row is None:
                raise NotFoundError("execution", self.execution_id)
            totals = conn.execute(
                select(func.count(s.id), func.sum(s.tokens), func.sum(s.cost_usd)).where(mine)
            ).one()
            new = conn.execute(
                select(s.id, s.node_id, s.step, s.created_at, s.duration_seconds, s.tokens, s.cost_usd)
                .where(mine, s.id > self.after_state).order_by(s.id)
            ).mappings().all()
        events: list[dict[str, Any]] = []
        for state in new:
            events.append({
                "type": "state", "execution_id": self.execution_id, "id": state["id"],
                "node_id": state["node_id"], "step": state["step"], "created_at": iso(state["created_at"]),
                "duration_seconds": state["duration_seconds"], "tokens": state["tokens"],
                "cost_usd": state["cost_usd"],
            })
            self.after_state = state["id"]
        last = new[-1] if new else None
        snapshot = {
            "type": "execution", "execution_id": self.execution_id, "workflow_name": row["workflow_name"],
            "status": row["status"], "nodes_finished": int(totals[0] or 0),
            "last_node": last["node_id"] if last else (self._snapshot or {}).get("last_node"),
            "total_tokens": row["total_tokens"] if row["total_tokens"] is not None else int(totals[1] or 0),
            "total_cost_usd": (row["total_cost_usd"] if row["total_cost_usd"] is not None
                               else round(float(totals[2] or 0.0), 8)),
            "error": row["error_message"], "started_at": iso(row["started_at"]),
            "completed_at": iso(row["completed_at"]),
            "waiting_for": decode_json(row["waiting_for"], "waiting_for", []),
        }
        if snapshot != self._snapshot:
            self._snapshot = snapshot
            events.append(snapshot)
        self.ended = row["status"] in STOPPED
        return events
