"""Attach MLflow tracing to a run and write where its trace went onto the execution row.

Tracing is on by default (`CAGENTS_TRACING=off` or `config.observability.mlflow.enabled:
false` turn it off). The tracer only buffers events during the run; the trace is exported
in the background and its id (or why it is missing) lands on the row when it is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cagents.app.workbench import Workbench
    from cagents.config.loader import WorkflowSpec
    from cagents.engine.events import Subscriber

__all__ = ["with_tracer"]

log = logging.getLogger("cagents.app")


def with_tracer(
    workbench: Workbench,
    spec: WorkflowSpec,
    subscribers: Iterable[Subscriber],
    *,
    env: Mapping[str, str] | None = None,
    deployment_id: str | None = None,
) -> list[Subscriber]:
    """The run's subscribers, plus an MLflow tracer when tracing is on for this workflow."""
    from cagents.errors import CagentsError
    from cagents.observe import ObserveSettings, tracer_for

    chosen = list(subscribers)
    try:
        settings = ObserveSettings.from_env(spec)
    except CagentsError as error:  # e.g. a bad CAGENTS_TRACING value: say so, run untraced
        log.warning("tracing is off: %s", error)
        return chosen
    if not settings.enabled:
        return chosen

    def on_trace(result: Any) -> None:
        try:
            if result.trace_id:
                workbench.db.executions.update(result.execution_id, trace_id=result.trace_id)
            else:
                workbench.db.executions.update(result.execution_id, trace_note=result.problem)
        except Exception:  # the row may be gone or the database closed; the run is over
            log.warning("could not record the trace of %s", result.execution_id, exc_info=True)

    tracer = tracer_for(spec, settings=settings, deployment_id=deployment_id, env=env, on_trace=on_trace)
    if tracer is not None:
        chosen.append(tracer)
    return chosen
