"""The asyncio interpreter of workflows: runs, steps, checkpoints, resume, events."""

from __future__ import annotations

from cagents.engine.events import Event
from cagents.engine.recorder import Checkpoint, MemoryRecorder, Recorder, RunInfo, RunSummary
from cagents.engine.runner import Run, RunResult, StepResult
from cagents.engine.workflow import RunHandle, Workflow, load

__all__ = [
    "Checkpoint",
    "Event",
    "MemoryRecorder",
    "Recorder",
    "Run",
    "RunHandle",
    "RunInfo",
    "RunResult",
    "RunSummary",
    "StepResult",
    "Workflow",
    "load",
]
