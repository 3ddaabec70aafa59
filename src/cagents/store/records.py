"""What the repositories return: frozen records of plain Python values, JSON decoded.

No SQLAlchemy here, so hosts can type against these without opening a database. A JSON
column that cannot be decoded reads as None and is named in `corrupt_fields`: one bad
value must never hide the rest of a row, or the row from a list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from cagents.errors import StoreError

__all__ = [
    "DeploymentRecord",
    "ExecutionFilters",
    "ExecutionRecord",
    "Page",
    "StateRecord",
    "Summary",
    "decode_json",
    "encode_json",
    "iso",
    "to_utc_naive",
]

T = TypeVar("T")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with an explicit UTC offset, so a browser does not read it as local time."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).isoformat()


def to_utc_naive(value: datetime) -> datetime:
    """The store keeps naive UTC; aware datetimes are converted, naive ones taken as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


_stdlib_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _fast_encode(value: Any) -> str:
    """orjson when installed (about 10x faster), else the standard encoder.

    Used for checkpoint states, the one high-volume write, whose values the engine has
    already proven to be plain JSON. orjson refuses what it cannot write exactly here
    (datetimes, dataclasses, subclasses, integers beyond 64 bits); the standard encoder then
    decides, so nothing is stored that the standard encoder would refuse, but NaN.
    """
    if _orjson is not None:
        try:
            return _orjson.dumps(value, option=_ORJSON_STRICT).decode()
        except TypeError:
            pass
    return _stdlib_encode(value)


try:
    import orjson as _orjson

    _ORJSON_STRICT = (
        _orjson.OPT_PASSTHROUGH_DATETIME | _orjson.OPT_PASSTHROUGH_DATACLASS | _orjson.OPT_PASSTHROUGH_SUBCLASS
    )
except ImportError:  # pragma: no cover - orjson is a dependency; stay correct without it
    _orjson = None
    _ORJSON_STRICT = 0


def encode_json(value: Any, what: str, *, fast: bool = False) -> str | None:
    """JSON text of a value; a value JSON cannot hold is the caller's bug, named by `what`."""
    if value is None:
        return None
    try:
        return _fast_encode(value) if fast else _stdlib_encode(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} cannot be stored: it is not JSON ({exc}); pass only JSON values") from exc


def decode_json(
    raw: str | None, name: str, corrupt: list[str], *, expect: type | None = dict
) -> Any:
    """Decoded value, or None with `name` added to `corrupt` when the text is not valid."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, TypeError):
        corrupt.append(name)
        return None
    if expect is not None and not isinstance(value, expect):
        corrupt.append(name)
        return None
    return value


def _record_dict(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if isinstance(value, datetime):
            value = iso(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


@dataclass(frozen=True)
class ExecutionRecord:
    """One workflow run, as the Executions page lists and details it."""

    id: str
    workflow_name: str
    status: str
    config_snapshot: str | None
    config_hash: str | None
    inputs: dict[str, Any] | None
    outputs: dict[str, Any] | None
    error_message: str | None
    started_at: datetime
    completed_at: datetime | None
    duration_seconds: float | None
    total_tokens: int | None
    total_cost_usd: float | None
    bottleneck_info: dict[str, Any] | None
    deployment_id: str | None
    trace_id: str | None
    retry_of: str | None
    owner: str | None
    simulated: bool
    waiting_for: dict[str, Any] | None
    trace_note: str | None
    cancel_requested: bool
    corrupt_fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (ISO times with a UTC offset)."""
        return _record_dict(self)


@dataclass(frozen=True)
class StateRecord:
    """One checkpoint: the state after a node and what resuming from it needs."""

    id: int
    execution_id: str
    node_id: str
    state_data: dict[str, Any] | None
    created_at: datetime
    step: int
    duration_seconds: float | None
    tokens: int | None
    cost_usd: float | None
    resume_data: dict[str, Any] | None
    corrupt_fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _record_dict(self)


@dataclass(frozen=True)
class ExecutionFilters:
    """The Executions page filters; `since <= started_at < until`, naive UTC (aware converted)."""

    status: str | Sequence[str] | None = None
    workflow: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    deployment_id: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paged list; pass `next_cursor` back for the next one."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class Summary:
    """Counts and cost over the filtered executions; `running` includes pending and waiting."""

    total: int
    completed: int
    failed: int
    running: int
    total_cost_usd: float

    def to_dict(self) -> dict[str, Any]:
        return _record_dict(self)


@dataclass(frozen=True)
class DeploymentRecord:
    """A registered deployment; `is_alive` and the heartbeat age are computed when read."""

    deployment_id: str
    deployment_name: str
    workflow_name: str
    host: str
    port: int
    last_heartbeat: datetime
    ttl_seconds: int
    capabilities: dict[str, Any] | None
    deployment_metadata: dict[str, Any] | None
    registered_at: datetime
    is_alive: bool
    heartbeat_age_seconds: float
    corrupt_fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _record_dict(self)
