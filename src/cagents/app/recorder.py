"""The engine's recorder, written to the app database: accepted row, checkpoints, the end.

The engine awaits each call before it goes on, so a checkpoint row exists before the next
node starts. Database calls are synchronous: they run in a worker thread, so a SQLite file
locked by another process never blocks the event loop that drives the runs.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from cagents.engine.recorder import Checkpoint, RunInfo, RunSummary

if TYPE_CHECKING:
    from cagents.store import Database, StateRecord

__all__ = ["StoreRecorder", "checkpoint_from_state", "resume_data", "utc_datetime"]

#: The keys of a checkpoint kept in `execution_states.resume_data` (the rest has columns).
RESUME_KEYS = ("frontier", "waiting", "visits", "node_runs", "metrics", "duration_s", "tokens", "cost_usd")


def utc_datetime(timestamp: float) -> datetime:
    """Epoch seconds as the naive UTC datetime the store keeps."""
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None)


def resume_data(checkpoint: Checkpoint) -> dict[str, Any]:
    """What a checkpoint needs besides its state, step and node to resume a run."""
    return {key: getattr(checkpoint, key) for key in RESUME_KEYS}


def checkpoint_from_state(record: StateRecord) -> Checkpoint:
    """Rebuild the engine's checkpoint from a stored state row, to resume from it."""
    from cagents.errors import StoreError

    data = record.resume_data
    if record.state_data is None or data is None:
        broken = ", ".join(record.corrupt_fields) or "resume_data"
        raise StoreError(
            f"checkpoint {record.id} of execution {record.execution_id} cannot be read ({broken}); "
            "re-run the execution instead of resuming it"
        )
    return Checkpoint(
        execution_id=record.execution_id,
        step=record.step,
        node_id=record.node_id,
        state=dict(record.state_data),
        frontier=list(data.get("frontier") or []),
        waiting=list(data.get("waiting") or []),
        visits=dict(data.get("visits") or {}),
        node_runs=int(data.get("node_runs") or 0),
        metrics={k: dict(v) for k, v in (data.get("metrics") or {}).items()},
        duration_s=float(data.get("duration_s") or 0.0),
        tokens=int(data.get("tokens") or 0),
        cost_usd=float(data.get("cost_usd") or 0.0),
        created_at=record.created_at.replace(tzinfo=timezone.utc).timestamp(),
    )


class StoreRecorder:
    """Implements the engine's `Recorder` protocol on `cagents.store`.

    One recorder serves any number of runs of one process (`owner` names that process).
    It keeps, per execution, the node metrics of the previous checkpoint: the checkpoint
    carries cumulative metrics per node, and a state row wants what that node's run cost.
    """

    def __init__(
        self,
        db: Database,
        *,
        owner: str,
        on_finished: Callable[[str, str], None] | None = None,
    ) -> None:
        self.db = db
        self.owner = owner
        self.pid = os.getpid()
        self.hostname = socket.gethostname()
        self._on_finished = on_finished
        self._lock = threading.Lock()
        self._seen: dict[str, dict[str, dict[str, Any]]] = {}
        self._paused: set[str] = set()

    # ---- the Recorder protocol ----------------------------------------------------------
    async def accepted(self, info: RunInfo) -> None:
        with self._lock:
            self._seen[info.execution_id] = {}
        await asyncio.to_thread(self._accepted, info)

    async def checkpoint(self, checkpoint: Checkpoint) -> None:
        tokens: int | None = None
        cost: float | None = None
        duration: float | None = None
        with self._lock:
            seen = self._seen.setdefault(checkpoint.execution_id, {})
            now = checkpoint.metrics.get(checkpoint.node_id)
            if now is not None:
                before = seen.get(checkpoint.node_id) or {}
                duration = max(float(now.get("duration_s", 0.0)) - float(before.get("duration_s", 0.0)), 0.0)
                tokens = max(int(now.get("tokens", 0)) - int(before.get("tokens", 0)), 0)
                cost = max(float(now.get("cost_usd", 0.0)) - float(before.get("cost_usd", 0.0)), 0.0)
                seen[checkpoint.node_id] = dict(now)
            reopened = checkpoint.execution_id in self._paused
            self._paused.discard(checkpoint.execution_id)
        await asyncio.to_thread(self._checkpoint, checkpoint, duration, tokens, cost, reopened)

    async def finished(self, summary: RunSummary) -> None:
        with self._lock:
            if summary.status == "waiting":
                self._paused.add(summary.execution_id)
            else:
                self._seen.pop(summary.execution_id, None)
                self._paused.discard(summary.execution_id)
        await asyncio.to_thread(self._finished, summary)
        if self._on_finished is not None:
            self._on_finished(summary.execution_id, summary.status)

    # ---- resume support -----------------------------------------------------------------
    def expect_resume(self, checkpoint: Checkpoint, *, paused: bool) -> None:
        """Continue the bookkeeping of an execution resumed from `checkpoint`.

        A paused (waiting) execution is reopened by its first new checkpoint, which the
        engine writes only after the person's answer was accepted; an interrupted one is
        reopened with `reopen()` before it runs.
        """
        with self._lock:
            self._seen[checkpoint.execution_id] = {k: dict(v) for k, v in checkpoint.metrics.items()}
            if paused:
                self._paused.add(checkpoint.execution_id)
            else:
                self._paused.discard(checkpoint.execution_id)

    async def reopen(self, execution_id: str) -> None:
        """Mark an execution running again and owned by this process."""
        await asyncio.to_thread(self._reopen, execution_id)

    # ---- database work (worker threads) -------------------------------------------------
    def _claim(self, execution_id: str) -> None:
        self.db.sessions.claim(execution_id, owner_id=self.owner, pid=self.pid, hostname=self.hostname)

    def _accepted(self, info: RunInfo) -> None:
        self.db.executions.create(
            id=info.execution_id,
            workflow_name=info.workflow_name,
            status="running",
            config_snapshot=info.config_text,
            config_hash=info.config_hash,
            inputs=info.inputs,
            started_at=utc_datetime(info.started_at),
            retry_of=info.retry_of,
            deployment_id=info.deployment_id,
            owner=self.owner,
        )
        self._claim(info.execution_id)

    def _reopen(self, execution_id: str) -> None:
        """Claim the execution for this process; a ConflictError when another one was first."""
        try:
            self.db.executions.reopen(execution_id, owner=self.owner, from_statuses=("waiting", "interrupted"))
        except Exception:
            with self._lock:
                self._seen.pop(execution_id, None)
                self._paused.discard(execution_id)
            raise
        self._claim(execution_id)

    def _checkpoint(
        self, checkpoint: Checkpoint, duration: float | None, tokens: int | None, cost: float | None,
        reopened: bool,
    ) -> None:
        if reopened:
            self._reopen(checkpoint.execution_id)
        self.db.executions.add_state(
            checkpoint.execution_id,
            node_id=checkpoint.node_id,
            step=checkpoint.step,
            state_data=checkpoint.state,
            duration_seconds=duration,
            tokens=tokens,
            cost_usd=cost,
            resume_data=resume_data(checkpoint),
            created_at=utc_datetime(checkpoint.created_at) if checkpoint.created_at else None,
        )

    def _finished(self, summary: RunSummary) -> None:
        self.db.executions.finish(
            summary.execution_id,
            status=summary.status,
            outputs=summary.outputs,
            error_message=summary.error,
            completed_at=utc_datetime(summary.completed_at),
            duration_seconds=summary.duration_s,
            total_tokens=summary.total_tokens,
            total_cost_usd=summary.total_cost_usd,
            bottleneck_info=summary.bottleneck,
            simulated=summary.simulated,
            waiting_for=summary.waiting_for,
        )
        # A waiting run is owned by no process until someone answers it, so every end
        # (pause included) gives up the claim; resuming claims it again.
        self.db.sessions.release(summary.execution_id)
