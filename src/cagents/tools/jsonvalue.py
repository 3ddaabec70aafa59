"""Turn a tool's result into plain JSON data (or say exactly where it is not JSON)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import math
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

__all__ = ["NotJSONError", "to_json_value"]


class NotJSONError(ValueError):
    """A value cannot become JSON; the message names the path inside the result."""


def to_json_value(value: Any, *, max_nodes: int = 1_000_000) -> Any:
    """A copy of `value` made of dict/list/str/int/float/bool/None only.

    Common Python values are converted (tuples, sets, dates, paths, enums, dataclasses,
    pydantic models, bytes as base64); NaN, cycles and structures whose expansion exceeds
    `max_nodes` (YAML alias bombs) are refused.
    """
    budget = [max_nodes]
    return _convert(value, "$", budget, set())


def _convert(value: Any, path: str, budget: list[int], active: set[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise NotJSONError("result is too large (too many values); ask for less")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotJSONError(f"{path} is {value}, which JSON cannot represent")
        return float(value)
    if isinstance(value, enum.Enum):
        return _convert(value.value, path, budget, active)
    if isinstance(value, decimal.Decimal):
        return _convert(float(value), path, budget, active)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (PurePath, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if hasattr(value, "model_dump") and callable(value.model_dump):
        return _convert(value.model_dump(mode="json"), path, budget, active)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _convert(dataclasses.asdict(value), path, budget, active)
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        if id(value) in active:
            raise NotJSONError(f"{path} contains itself (a cycle)")
        active.add(id(value))
        try:
            if isinstance(value, Mapping):
                return {
                    _key(key, path): _convert(item, f"{path}.{key}", budget, active)
                    for key, item in value.items()
                }
            items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
            return [_convert(item, f"{path}[{i}]", budget, active) for i, item in enumerate(items)]
        finally:
            active.discard(id(value))
    raise NotJSONError(f"{path} is a {type(value).__name__}, which is not JSON-serialisable")


def _key(key: Any, path: str) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float, dt.date)):
        return str(key) if not isinstance(key, dt.date) else key.isoformat()
    raise NotJSONError(f"{path} has a key of type {type(key).__name__}; JSON keys are strings")
