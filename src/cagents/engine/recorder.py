"""The recorder interface the engine writes through, and an in-memory recorder.

The engine awaits the recorder at three points: the accepted record before the first
node runs, a checkpoint after every node (before the next node starts), and the final
summary. The SQL store implements the same protocol; `MemoryRecorder` serves library
use without a database, and resume works from either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = ["RunInfo", "Checkpoint", "NodeMetrics", "RunSummary", "Recorder", "MemoryRecorder"]


@dataclass(frozen=True)
class RunInfo:
    """What is known when an execution is accepted."""

    execution_id: str
    workflow_name: str
    config_text: str
    config_hash: str
    inputs: dict[str, Any]
    started_at: float
    retry_of: str | None = None
    deployment_id: str | None = None


@dataclass
class NodeMetrics:
    """Accumulated cost of one node in one execution (all its runs and map items)."""

    node_id: str
    runs: int = 0
    duration_s: float = 0.0
    tokens: int = 0
    cost_usd: float = 0.0
    simulated: bool = False

    def add(self, duration_s: float, tokens: int, cost_usd: float, simulated: bool) -> None:
        self.runs += 1
        self.duration_s += duration_s
        self.tokens += tokens
        self.cost_usd += cost_usd
        self.simulated = self.simulated or simulated


@dataclass(slots=True)
class Checkpoint:
    """The resumable position of a run, written after a node finished.

    `frontier` lists the nodes still to run (including ones of the same step that had
    not finished yet); `waiting` the human nodes waiting for input.
    """

    execution_id: str
    step: int
    node_id: str
    state: dict[str, Any]
    frontier: list[str]
    waiting: list[str]
    visits: dict[str, int]
    node_runs: int
    metrics: dict[str, dict[str, Any]]
    duration_s: float = 0.0
    tokens: int = 0
    cost_usd: float = 0.0
    created_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass(frozen=True)
class RunSummary:
    """The end of an execution (or its pause, when status is `waiting`)."""

    execution_id: str
    status: str
    outputs: dict[str, Any]
    error: str | None
    started_at: float
    completed_at: float
    duration_s: float
    total_tokens: int
    total_cost_usd: float
    bottleneck: dict[str, Any]
    simulated: bool = False
    waiting_for: dict[str, Any] | None = None


class Recorder(Protocol):
    async def accepted(self, info: RunInfo) -> None: ...

    async def checkpoint(self, checkpoint: Checkpoint) -> None: ...

    async def finished(self, summary: RunSummary) -> None: ...


@dataclass
class MemoryRecorder:
    """Keeps executions and their checkpoints in this process (library use, tests)."""

    runs: dict[str, RunInfo] = field(default_factory=dict)
    checkpoints: dict[str, list[Checkpoint]] = field(default_factory=dict)
    summaries: dict[str, RunSummary] = field(default_factory=dict)

    async def accepted(self, info: RunInfo) -> None:
        self.runs[info.execution_id] = info
        self.checkpoints.setdefault(info.execution_id, [])

    async def checkpoint(self, checkpoint: Checkpoint) -> None:
        # Checkpoints are built from fresh copies of the state; keeping them as they are is safe.
        self.checkpoints.setdefault(checkpoint.execution_id, []).append(checkpoint)

    async def finished(self, summary: RunSummary) -> None:
        self.summaries[summary.execution_id] = summary

    def last_checkpoint(self, execution_id: str) -> Checkpoint | None:
        found = self.checkpoints.get(execution_id) or []
        return found[-1] if found else None
