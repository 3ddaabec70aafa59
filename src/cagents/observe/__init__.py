"""Observability: an MLflow trace for every execution, and the workbench's local MLflow server.

Importing this package is cheap: MLflow is imported only by the background exporter, and
only once an execution with tracing on has finished.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cagents.observe.links import (
        experiment_url,
        find_experiment_id,
        find_trace_experiment_id,
        trace_url,
    )
    from cagents.observe.redact import Redactor
    from cagents.observe.server import MlflowServer, MlflowServerError
    from cagents.observe.settings import ObserveSettings
    from cagents.observe.tracer import MlflowTracer, TraceResult, tracer_for
    from cagents.observe.tracer import flush as flush_traces

__all__ = [
    "MlflowServer",
    "MlflowServerError",
    "MlflowTracer",
    "ObserveSettings",
    "Redactor",
    "TraceResult",
    "experiment_url",
    "find_experiment_id",
    "find_trace_experiment_id",
    "flush_traces",
    "trace_url",
    "tracer_for",
]

_WHERE = {
    "MlflowServer": ("server", "MlflowServer"),
    "MlflowServerError": ("server", "MlflowServerError"),
    "MlflowTracer": ("tracer", "MlflowTracer"),
    "ObserveSettings": ("settings", "ObserveSettings"),
    "Redactor": ("redact", "Redactor"),
    "TraceResult": ("tracer", "TraceResult"),
    "experiment_url": ("links", "experiment_url"),
    "find_experiment_id": ("links", "find_experiment_id"),
    "find_trace_experiment_id": ("links", "find_trace_experiment_id"),
    "flush_traces": ("tracer", "flush"),
    "trace_url": ("links", "trace_url"),
    "tracer_for": ("tracer", "tracer_for"),
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'cagents.observe' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"cagents.observe.{where[0]}"), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
