"""Deep links into the MLflow UI: an execution's trace and a workflow's experiment.

MLflow 3's UI is a hash-routed single page app: a trace opens in the experiment's traces
tab with `?selectedEvaluationId=<trace id>` (its `/traces/<trace id>` route only redirects
there). The experiment id a link needs comes with the trace (`TraceResult.experiment_id`),
or is looked up by name or by trace id through MLflow's REST API.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from cagents.errors import CagentsError, NotFoundError

__all__ = ["experiment_url", "find_experiment_id", "find_trace_experiment_id", "trace_url"]


def _base(base_url: str) -> str:
    return base_url.rstrip("/")


def experiment_url(base_url: str, experiment_id: str) -> str:
    """The traces tab of an experiment (one workflow's executions)."""
    return f"{_base(base_url)}/#/experiments/{quote(str(experiment_id), safe='')}/traces"


def trace_url(base_url: str, experiment_id: str, trace_id: str) -> str:
    """One execution's trace, opened in its experiment's traces tab."""
    query = urlencode({"selectedEvaluationId": trace_id})
    return f"{experiment_url(base_url, experiment_id)}?{query}"


def _get(base_url: str, path: str, params: dict[str, str], timeout: float) -> Any:
    import httpx

    url = f"{_base(base_url)}{path}"
    try:
        response = httpx.get(url, params=params, timeout=timeout)
    except httpx.HTTPError as error:
        raise CagentsError(f"cannot reach the MLflow server at {base_url}: {error}; "
                           "is it running (`cagents mlflow`)?") from None
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        raise CagentsError(f"the MLflow server at {base_url} answered {response.status_code} "
                           f"to {path}: {response.text[:200]}")
    return response.json()


def find_experiment_id(base_url: str, name: str, *, timeout: float = 10.0) -> str:
    """The id of the experiment named `name` (a workflow's), asked of the MLflow server."""
    found = _get(base_url, "/api/2.0/mlflow/experiments/get-by-name", {"experiment_name": name}, timeout)
    if not found or "experiment" not in found:
        raise NotFoundError("MLflow experiment", name)
    return str(found["experiment"]["experiment_id"])


def find_trace_experiment_id(base_url: str, trace_id: str, *, timeout: float = 10.0) -> str:
    """The experiment a trace belongs to, asked of the MLflow server."""
    found = _get(base_url, f"/api/3.0/mlflow/traces/{quote(trace_id, safe='')}", {}, timeout)
    info = (found or {}).get("trace", {}).get("trace_info", {})
    experiment = info.get("trace_location", {}).get("mlflow_experiment", {}).get("experiment_id")
    if not experiment:
        raise NotFoundError("MLflow trace", trace_id)
    return str(experiment)
