"""Executions reported by deployed services, written into the workbench's history.

A service runs workflows against its own database and sends each execution here (the row
and its checkpoints) as it goes. Reports are idempotent: the same execution reported again
updates its row, and checkpoints already stored (same step and node) are not added twice,
so a service may resend after a lost answer.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cagents.errors import ConflictError, NotFoundError, RequestError, StoreError

if TYPE_CHECKING:
    from cagents.app.workbench import Workbench

__all__ = ["EXECUTION_FIELDS", "MAX_STATES", "STATE_FIELDS", "report_execution"]

#: Most checkpoints one report may carry (a service sends more in several reports).
MAX_STATES = 500

_TEXT, _DICT, _NUMBER, _INT, _BOOL, _TIME = "text", "dict", "number", "int", "bool", "time"
#: Execution fields a report may carry, with their kind and whether they are required.
EXECUTION_FIELDS: dict[str, tuple[str, bool]] = {
    "id": (_TEXT, True), "workflow_name": (_TEXT, True), "status": (_TEXT, True),
    "started_at": (_TIME, True), "completed_at": (_TIME, False), "deployment_id": (_TEXT, False),
    "config_snapshot": (_TEXT, False), "config_hash": (_TEXT, False), "inputs": (_DICT, False),
    "outputs": (_DICT, False), "error_message": (_TEXT, False), "duration_seconds": (_NUMBER, False),
    "total_tokens": (_INT, False), "total_cost_usd": (_NUMBER, False), "bottleneck_info": (_DICT, False),
    "simulated": (_BOOL, False), "waiting_for": (_DICT, False), "trace_id": (_TEXT, False),
}
#: Checkpoint fields a report may carry.
STATE_FIELDS: dict[str, tuple[str, bool]] = {
    "node_id": (_TEXT, True), "step": (_INT, True), "state_data": (_DICT, True),
    "created_at": (_TIME, False), "duration_seconds": (_NUMBER, False), "tokens": (_INT, False),
    "cost_usd": (_NUMBER, False), "resume_data": (_DICT, False),
}
_KIND_NAMES = {_TEXT: "a string", _DICT: "an object", _NUMBER: "a number", _INT: "an integer",
               _BOOL: "true or false", _TIME: "an ISO 8601 date-time string"}
# Reports of one execution are applied one at a time, so two concurrent ones cannot both
# insert the same checkpoint.
_LOCKS = [threading.Lock() for _ in range(64)]
# The fields `create` takes by name; the rest of a new report goes in its `more`.
_CREATED = frozenset({"id", "status", "config_snapshot", "config_hash", "inputs", "workflow_name", "started_at"})


def _bad(where: str, message: str) -> RequestError:
    return RequestError(f"{where} {message}", field=where, status=422)


def _value(where: str, kind: str, value: Any) -> Any:
    """`value` checked against `kind` (times parsed to naive UTC); a 422 naming `where` otherwise."""
    from cagents.store.records import to_utc_naive

    ok = {
        _TEXT: isinstance(value, str), _DICT: isinstance(value, dict), _BOOL: isinstance(value, bool),
        _INT: isinstance(value, int) and not isinstance(value, bool),
        _NUMBER: isinstance(value, (int, float)) and not isinstance(value, bool),
        _TIME: isinstance(value, str),
    }[kind]
    if not ok:
        raise _bad(where, f"must be {_KIND_NAMES[kind]}, got {type(value).__name__}")
    if kind == _TIME:
        try:
            return to_utc_naive(datetime.fromisoformat(value))
        except ValueError:
            raise _bad(where, f"must be {_KIND_NAMES[_TIME]}, got {value[:40]!r}") from None
    if kind == _NUMBER:
        return float(value)
    return value


def _fields(data: Any, spec: Mapping[str, tuple[str, bool]], where: str) -> dict[str, Any]:
    """The known fields of one object, checked; unknown or missing ones are a 422."""
    if not isinstance(data, Mapping):
        raise _bad(where, f"must be an object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(spec))
    if unknown:
        raise _bad(f"{where}.{unknown[0]}", f"is not known here; known fields: {', '.join(sorted(spec))}")
    out: dict[str, Any] = {}
    for name, (kind, required) in spec.items():
        value = data.get(name)
        if value is None:
            if required:
                raise _bad(f"{where}.{name}", "is required")
            if name in data:
                out[name] = None
            continue
        out[name] = _value(f"{where}.{name}", kind, value)
    return out


def _checked(deployment_id: str, execution: Any, states: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from cagents.store.models import EXECUTION_STATUSES

    record = _fields(execution, EXECUTION_FIELDS, "execution")
    if record["status"] not in EXECUTION_STATUSES:
        raise _bad("execution.status", f"must be one of {', '.join(EXECUTION_STATUSES)}, "
                   f"got {record['status']!r}")
    if len(record["id"]) > 64 or not record["id"].strip():
        raise _bad("execution.id", "must be a non-empty string of at most 64 characters")
    reported = record.pop("deployment_id", None)
    if reported is not None and reported != deployment_id:
        raise _bad("execution.deployment_id", f"is {reported!r}, but the report was sent for deployment "
                   f"{deployment_id!r}; send it to deployments/{reported}/executions")
    if states is None:
        states = []
    if not isinstance(states, Sequence) or isinstance(states, (str, bytes)):
        raise _bad("states", f"must be an array, got {type(states).__name__}")
    if len(states) > MAX_STATES:
        raise _bad("states", f"has {len(states)} checkpoints; send at most {MAX_STATES} per report")
    rows = [_fields(state, STATE_FIELDS, f"states[{index}]") for index, state in enumerate(states)]
    return record, rows


def report_execution(
    workbench: Workbench, deployment_id: str, execution: Any, states: Any = None
) -> dict[str, Any]:
    """Create or update a reported execution and add its new checkpoints.

    Returns `{"execution_id", "created", "states_added", "cancel_requested"}` (the last: someone
    asked here to cancel it, so the service should stop it). An execution id the workbench knows
    from elsewhere (another deployment, or a run of its own) is a 409.
    """
    from cagents.app.deployments import cancel_requests

    if not isinstance(deployment_id, str) or not deployment_id.strip() or len(deployment_id) > 128:
        raise _bad("deployment_id", "must be a non-empty string of at most 128 characters")
    record, rows = _checked(deployment_id, execution, states)
    execution_id = record["id"]
    with _LOCKS[hash(execution_id) % len(_LOCKS)]:
        created = _upsert(workbench, deployment_id, record)
        added = _add_states(workbench, execution_id, rows, new=created)
    return {"execution_id": execution_id, "deployment_id": deployment_id, "created": created,
            "states_added": added,
            "cancel_requested": bool(cancel_requests(workbench, deployment_id, execution_id))}


def _upsert(workbench: Workbench, deployment_id: str, record: dict[str, Any]) -> bool:
    """Write the row; True when it was new. Most reports are of new executions: insert first."""
    db = workbench.db
    execution_id = record["id"]
    try:
        db.executions.create(
            id=execution_id, workflow_name=record["workflow_name"], status=record["status"],
            config_snapshot=record.get("config_snapshot"), config_hash=record.get("config_hash"),
            inputs=record.get("inputs"), started_at=record["started_at"], deployment_id=deployment_id,
            owner=f"deployment:{deployment_id}",
            more={name: value for name, value in record.items() if name not in _CREATED},
        )
    except StoreError as error:
        try:  # it exists already (reported before): update it, if it is this deployment's
            existing = db.executions.get(execution_id)
        except NotFoundError:
            raise error from None
    else:
        return True
    if existing.deployment_id != deployment_id:
        owner = f"deployment '{existing.deployment_id}'" if existing.deployment_id else "this workbench"
        raise ConflictError(f"execution '{execution_id}' belongs to {owner}, not to deployment "
                            f"'{deployment_id}'; a service must report only its own executions")
    _update(workbench, execution_id, record)
    return False


def _update(workbench: Workbench, execution_id: str, record: dict[str, Any]) -> None:
    fields = {name: value for name, value in record.items() if name != "id"}
    if fields:
        workbench.db.executions.update(execution_id, **fields)


def _stored_keys(workbench: Workbench, execution_id: str) -> set[tuple[int, str]]:
    """(step, node_id) of the checkpoints already stored, without decoding their states."""
    from sqlalchemy import select

    from cagents.store.models import ExecutionState

    query = select(ExecutionState.step, ExecutionState.node_id).where(
        ExecutionState.execution_id == execution_id)
    with workbench.db.read() as conn:
        return {(int(step), str(node)) for step, node in conn.execute(query).all()}


def _add_states(workbench: Workbench, execution_id: str, rows: list[dict[str, Any]], *, new: bool) -> int:
    if not rows:
        return 0
    seen = set() if new else _stored_keys(workbench, execution_id)
    added = 0
    for row in sorted(rows, key=lambda r: (r["step"], r.get("created_at") or datetime.min)):
        key = (row["step"], row["node_id"])
        if key in seen:
            continue
        seen.add(key)
        workbench.db.executions.add_state(
            execution_id, node_id=row["node_id"], step=row["step"], state_data=row["state_data"],
            duration_seconds=row.get("duration_seconds"), tokens=row.get("tokens"),
            cost_usd=row.get("cost_usd"), resume_data=row.get("resume_data"),
            created_at=row.get("created_at"),
        )
        added += 1
    return added
