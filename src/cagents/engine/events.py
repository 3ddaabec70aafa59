"""Events the engine emits while a workflow runs; recorders and tracers subscribe to them.

Events are plain frozen dataclasses with JSON-able fields, so a host can forward them as
they are (server-sent events, widget messages) and a tracer can map them to spans.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "Event",
    "ExecutionAccepted",
    "ExecutionStarted",
    "NodeStarted",
    "NodeFinished",
    "NodeFailed",
    "NodeRetrying",
    "TokenStreamed",
    "ToolCalled",
    "CheckpointWritten",
    "ExecutionWaiting",
    "ExecutionFinished",
    "Subscriber",
]


@dataclass(frozen=True)
class Event:
    execution_id: str
    at: float = field(default_factory=time.time, kw_only=True)

    @property
    def type(self) -> str:
        name = type(self).__name__
        return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["type"] = self.type
        return data


@dataclass(frozen=True)
class ExecutionAccepted(Event):
    workflow_name: str
    inputs: dict[str, Any]
    config_hash: str


@dataclass(frozen=True)
class ExecutionStarted(Event):
    workflow_name: str
    resumed_from_step: int | None = None


@dataclass(frozen=True)
class NodeStarted(Event):
    node_id: str
    step: int
    kind: str
    item_index: int | None = None


@dataclass(frozen=True)
class NodeFinished(Event):
    node_id: str
    step: int
    duration_s: float
    tokens: int = 0
    cost_usd: float = 0.0
    outputs: dict[str, Any] = field(default_factory=dict)
    simulated: bool = False
    item_index: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class NodeFailed(Event):
    node_id: str
    step: int
    error: str
    duration_s: float = 0.0
    item_index: int | None = None


@dataclass(frozen=True)
class NodeRetrying(Event):
    node_id: str
    attempt: int
    error: str
    delay_s: float


@dataclass(frozen=True)
class TokenStreamed(Event):
    node_id: str
    text: str


@dataclass(frozen=True)
class ToolCalled(Event):
    node_id: str
    tool: str
    arguments: dict[str, Any]
    result: Any
    error: str | None
    duration_s: float


@dataclass(frozen=True)
class CheckpointWritten(Event):
    node_id: str
    step: int


@dataclass(frozen=True)
class ExecutionWaiting(Event):
    node_id: str
    prompt: str
    fields: dict[str, Any]  # JSON Schema of each value the person must give


@dataclass(frozen=True)
class ExecutionFinished(Event):
    status: str  # completed | failed | cancelled | waiting
    error: str | None
    total_tokens: int
    total_cost_usd: float
    duration_s: float


Subscriber = Callable[[Event], None]
