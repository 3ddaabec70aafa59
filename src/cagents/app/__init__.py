"""The use cases every host calls: run-and-record, resume, re-run, cancel, crash recovery.

Hosts (CLI, magics, REST, deployed services) open one `Workbench` and call these
functions, so every execution, wherever it ran, lands in the same database.
"""

from __future__ import annotations

from cagents.app.cancel import acancel_execution, cancel_execution
from cagents.app.recorder import StoreRecorder, checkpoint_from_state
from cagents.app.recovery import recover_interrupted
from cagents.app.resume import aresume_execution, resume_execution
from cagents.app.runs import (
    arerun_execution,
    arun_workflow,
    load_workflow,
    rerun_execution,
    run_workflow,
    start_workflow,
)
from cagents.app.workbench import Workbench

__all__ = [
    "StoreRecorder",
    "Workbench",
    "acancel_execution",
    "arerun_execution",
    "aresume_execution",
    "arun_workflow",
    "cancel_execution",
    "checkpoint_from_state",
    "load_workflow",
    "recover_interrupted",
    "rerun_execution",
    "resume_execution",
    "run_workflow",
    "start_workflow",
]
