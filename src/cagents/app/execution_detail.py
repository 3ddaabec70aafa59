"""What an execution looks like to a person: the light list row and the detail view.

Plain JSON-able dicts, shared by every host (REST, CLI, magics, panels): the record's fields,
the state history as a timeline with each node's share and the bottleneck, links (deployment,
MLflow trace) and the actions the execution's status allows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cagents.errors import ConflictError, NotFoundError
from cagents.store.records import iso

if TYPE_CHECKING:
    from cagents.app.workbench import Workbench
    from cagents.store import DeploymentRecord, ExecutionRecord, StateRecord

__all__ = [
    "ACTIONS",
    "allowed_actions",
    "config_filename",
    "detail_from",
    "execution_detail",
    "list_item",
    "record_fields",
    "require_action",
]

#: Every action a host may offer, in the order panels show them.
ACTIONS = ("cancel", "resume", "rerun", "download-config", "view-trace")
#: Statuses after which nothing runs any more (cancel has nothing to stop).
_FINISHED = ("completed", "failed", "cancelled")
_RESUMABLE = ("interrupted", "waiting")
#: An error in a list row is cut here; the detail has all of it.
MAX_LIST_ERROR = 300
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


# ---- what an execution allows ------------------------------------------------------------
def allowed_actions(record: ExecutionRecord) -> list[str]:
    """The actions the execution's status and stored data allow, in `ACTIONS` order."""
    allowed: set[str] = set()
    if record.status not in _FINISHED:
        allowed.add("cancel")
    if record.status in _RESUMABLE and record.config_snapshot:
        allowed.add("resume")
    if record.config_snapshot and "inputs" not in record.corrupt_fields:
        allowed.add("rerun")
    if record.config_snapshot:
        allowed.add("download-config")
    if record.trace_id:
        allowed.add("view-trace")
    return [action for action in ACTIONS if action in allowed]


def require_action(record: ExecutionRecord, action: str) -> None:
    """Refuse (409) an action `allowed_actions` does not list, saying why and what to do."""
    if action in allowed_actions(record):
        return
    if action in ("rerun", "resume", "download-config") and not record.config_snapshot:
        raise ConflictError(
            f"execution {record.id} was recorded without a config snapshot, so it cannot be "
            f"{'run again' if action != 'download-config' else 'downloaded'}; run the workflow file anew"
        )
    if action == "rerun":
        raise ConflictError(f"the inputs of execution {record.id} cannot be read; run the workflow anew")
    if action == "cancel":
        raise ConflictError(f"execution {record.id} is already {record.status}; there is nothing to cancel")
    if action == "resume":
        raise ConflictError(
            f"execution {record.id} is {record.status} and cannot be resumed (only interrupted or "
            "waiting executions can); run it again instead"
        )
    raise ConflictError(f"execution {record.id} does not allow {action!r} (it is {record.status})")


# ---- the list row and the record -------------------------------------------------------------
def record_fields(record: ExecutionRecord) -> dict[str, Any]:
    """The record as JSON with its actions, without the config text (its own download) or the
    raw bottleneck blob (the detail shows it as `nodes` and `bottleneck`)."""
    data = record.to_dict()
    data.pop("config_snapshot", None)
    data.pop("bottleneck_info", None)
    data["has_config"] = bool(record.config_snapshot)
    data["actions"] = allowed_actions(record)
    return data


def list_item(record: ExecutionRecord) -> dict[str, Any]:
    """One row of the Executions list: the columns and buttons, none of the large values."""
    error = record.error_message
    if error is not None and len(error) > MAX_LIST_ERROR:
        error = error[: MAX_LIST_ERROR - 3] + "..."
    return {
        "id": record.id,
        "workflow_name": record.workflow_name,
        "status": record.status,
        "started_at": iso(record.started_at),
        "completed_at": iso(record.completed_at),
        "duration_seconds": record.duration_seconds,
        "total_tokens": record.total_tokens,
        "total_cost_usd": record.total_cost_usd,
        "error_message": error,
        "deployment_id": record.deployment_id,
        "trace_id": record.trace_id,
        "retry_of": record.retry_of,
        "simulated": record.simulated,
        "cancel_requested": record.cancel_requested,
        "waiting_node": (record.waiting_for or {}).get("node_id") if record.status == "waiting" else None,
        "config_hash": record.config_hash,
        "corrupt_fields": list(record.corrupt_fields),
        "actions": allowed_actions(record),
    }


# ---- the detail ----------------------------------------------------------------------------
def execution_detail(workbench: Workbench, execution_id: str, *, include_state: bool = False) -> dict[str, Any]:
    """The detail view of one execution (blocking: hosts on an event loop call it in a thread).

    `include_state` adds the state after each node to the timeline (it can be large).
    """
    record = workbench.db.executions.get(execution_id)
    states = workbench.db.executions.states(execution_id)
    deployment = None
    if record.deployment_id:
        try:
            deployment = workbench.db.deployments.get(record.deployment_id)
        except NotFoundError:  # deregistered since: the id still links the execution to it
            deployment = None
    return detail_from(record, states, deployment=deployment, include_state=include_state)


def detail_from(
    record: ExecutionRecord,
    states: Sequence[StateRecord],
    *,
    deployment: DeploymentRecord | None = None,
    include_state: bool = False,
) -> dict[str, Any]:
    """The detail view from what the store returned (no database access)."""
    nodes = _node_totals(record, states)
    bottleneck = _bottleneck(record, nodes)
    detail = record_fields(record)
    detail["timeline"] = _timeline(states, bottleneck["node_id"] if bottleneck else None, include_state)
    detail["nodes"] = nodes
    detail["bottleneck"] = bottleneck
    detail["links"] = {
        "deployment_id": record.deployment_id,
        "deployment": _deployment(deployment),
        "trace_id": record.trace_id,
        "mlflow_experiment": _experiment(record),
        "retry_of": record.retry_of,
    }
    return detail


def _timeline(
    states: Sequence[StateRecord], bottleneck_node: str | None, include_state: bool
) -> list[dict[str, Any]]:
    """One entry per checkpoint, oldest first; a human node's pause is an entry `waiting`."""
    total = sum(s.duration_seconds or 0.0 for s in states)
    entries = []
    for state in states:
        paused_nodes = (state.resume_data or {}).get("waiting") or []
        waiting = state.duration_seconds is None and state.node_id in paused_nodes
        duration = state.duration_seconds
        started = state.created_at - timedelta(seconds=duration) if duration is not None else state.created_at
        entry: dict[str, Any] = {
            "step": state.step,
            "node_id": state.node_id,
            "status": "waiting" if waiting else "completed",
            "created_at": iso(state.created_at),
            "started_at": iso(started),
            "ended_at": None if waiting else iso(state.created_at),
            "duration_seconds": round(duration, 6) if duration is not None else None,
            "tokens": state.tokens,
            "cost_usd": state.cost_usd,
            "share": round(duration / total, 4) if duration is not None and total > 0 else None,
            "bottleneck": state.node_id == bottleneck_node,
        }
        if include_state:
            entry["state"] = state.state_data
        entries.append(entry)
    return entries


def _node_totals(record: ExecutionRecord, states: Sequence[StateRecord]) -> list[dict[str, Any]]:
    """Per node: runs, duration, tokens, cost and share of the node time.

    The engine's own totals (written when the run ended or paused) win; a run still going, or
    one that died, is totalled from its checkpoints.
    """
    info = (record.bottleneck_info or {}).get("nodes")
    if isinstance(info, dict) and info:
        return [
            {
                "node_id": node_id,
                "runs": data.get("runs"),
                "duration_seconds": data.get("duration_s"),
                "tokens": data.get("tokens"),
                "cost_usd": data.get("cost_usd"),
                "share": data.get("share"),
            }
            for node_id, data in info.items()
            if isinstance(data, dict)
        ]
    totals: dict[str, dict[str, Any]] = {}
    for state in states:
        if state.duration_seconds is None:
            continue  # a pause, not a run of the node
        node = totals.setdefault(state.node_id, {"node_id": state.node_id, "runs": 0, "duration_seconds": 0.0,
                                                 "tokens": 0, "cost_usd": 0.0, "share": 0.0})
        node["runs"] += 1
        node["duration_seconds"] += state.duration_seconds
        node["tokens"] += state.tokens or 0
        node["cost_usd"] += state.cost_usd or 0.0
    total = sum(node["duration_seconds"] for node in totals.values())
    for node in totals.values():
        node["share"] = round(node["duration_seconds"] / total, 4) if total > 0 else 0.0
    return list(totals.values())


def _bottleneck(record: ExecutionRecord, nodes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The node that took the most time, or None before any node took any."""
    named = (record.bottleneck_info or {}).get("bottleneck_node")
    slowest = next((node for node in nodes if node["node_id"] == named), None)
    if slowest is None and nodes:
        slowest = max(nodes, key=lambda node: node["duration_seconds"] or 0.0)
    if slowest is None or not slowest["duration_seconds"]:
        return None
    return dict(slowest)


def _deployment(deployment: DeploymentRecord | None) -> dict[str, Any] | None:
    if deployment is None:
        return None
    return {
        "deployment_id": deployment.deployment_id,
        "deployment_name": deployment.deployment_name,
        "host": deployment.host,
        "port": deployment.port,
        "is_alive": deployment.is_alive,
        "last_heartbeat": iso(deployment.last_heartbeat),
    }


def _experiment(record: ExecutionRecord) -> str:
    """The MLflow experiment of the execution's traces: the config's name, else the workflow's."""
    if record.config_snapshot:
        import yaml

        try:
            config = yaml.safe_load(record.config_snapshot)
            name = config["config"]["observability"]["mlflow"]["experiment_name"]
        except (yaml.YAMLError, KeyError, TypeError):
            name = None
        if isinstance(name, str) and name.strip():
            return name
    return record.workflow_name


# ---- the config download -------------------------------------------------------------------
def config_filename(record: ExecutionRecord) -> str:
    """`<workflow>-<first 8 of the id>.yaml`, safe in a Content-Disposition header and a path."""
    workflow = _UNSAFE_NAME.sub("_", record.workflow_name).strip("._") or "workflow"
    short = _UNSAFE_NAME.sub("_", record.id)[:8] or "execution"
    return f"{workflow[:100]}-{short}.yaml"
