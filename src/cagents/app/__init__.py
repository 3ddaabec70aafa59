"""The use cases every host calls: run-and-record, resume, re-run, cancel, crash recovery.

Hosts (CLI, magics, REST, deployed services) open one `Workbench` and call these
functions, so every execution, wherever it ran, lands in the same database. Names load on
first use, so a host that needs one small module (`cagents.app.workflows`) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_LAZY = {
    "acancel_execution": "cancel",
    "cancel_execution": "cancel",
    "StoreRecorder": "recorder",
    "checkpoint_from_state": "recorder",
    "recover_interrupted": "recovery",
    "aresume_execution": "resume",
    "resume_execution": "resume",
    "arerun_execution": "runs",
    "arun_workflow": "runs",
    "load_workflow": "runs",
    "rerun_execution": "runs",
    "run_workflow": "runs",
    "start_workflow": "runs",
    "Workbench": "workbench",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cagents.app' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"cagents.app.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
