"""A JSON request body read field by field, with errors that name the field: one way for
every host that takes JSON (the Jupyter REST API, the headless deployment registry)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from cagents.errors import RequestError

__all__ = ["MAX_BODY_BYTES", "Body", "parse_body"]

#: Bodies above this are refused (413) before they are parsed.
MAX_BODY_BYTES = 5 * 1024 * 1024

T = TypeVar("T")
_MISSING: Any = object()
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               dict: "an object", list: "an array"}


class Body:
    """A JSON object from a request body or query, read field by field with clear errors."""

    def __init__(self, data: Mapping[str, Any], where: str = "body") -> None:
        self.data = data
        self.where = where

    def get(self, name: str, kind: type[T], default: Any = _MISSING, *, max_len: int | None = None) -> T:
        """The field `name` as `kind`; a missing required field or a wrong type is a 400/422."""
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise RequestError(f"{self.where} field '{name}' is required", field=name, status=422)
            return default  # type: ignore[no-any-return]
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise RequestError(
                f"{self.where} field '{name}' must be {_TYPE_NAMES.get(kind, kind.__name__)}, "
                f"got {type(value).__name__}", field=name, status=422,
            )
        if max_len is not None and hasattr(value, "__len__") and len(value) > max_len:
            raise RequestError(f"{self.where} field '{name}' is longer than {max_len}", field=name, status=422)
        return value  # type: ignore[no-any-return]

    def strings(self, name: str, *, max_items: int = 200) -> dict[str, str]:
        """An optional object of string values (inputs from a form, env values)."""
        value: dict[str, Any] = self.get(name, dict, {})
        if len(value) > max_items:
            raise RequestError(f"{self.where} field '{name}' has more than {max_items} entries",
                               field=name, status=422)
        for key, item in value.items():
            if not isinstance(item, str):
                raise RequestError(f"{self.where} field '{name}.{key}' must be a string, got "
                                   f"{type(item).__name__}", field=f"{name}.{key}", status=422)
        return value

    def unknown(self, allowed: set[str]) -> None:
        """Refuse fields the route does not know (a typo would otherwise be ignored)."""
        extra = sorted(set(self.data) - allowed)
        if extra:
            raise RequestError(
                f"{self.where} field '{extra[0]}' is not known here; known fields: {', '.join(sorted(allowed))}",
                field=extra[0], status=422,
            )

    def fields(self, types: Mapping[str, type], required: tuple[str, ...] = ()) -> dict[str, Any]:
        """Exactly these fields (unknown ones refused), each of its type; absent optional ones left out."""
        self.unknown(set(types))
        out: dict[str, Any] = {}
        for name, kind in types.items():
            value = self.get(name, kind, _MISSING if name in required else None)
            if value is not None:
                out[name] = value
        return out


def parse_body(raw: bytes | None, *, allowed: set[str] | None = None) -> Body:
    """The JSON object in a request body (an empty body is `{}`); 400/413 with the reason otherwise."""
    raw = raw or b""
    if len(raw) > MAX_BODY_BYTES:
        raise RequestError(f"the request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB", status=413)
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestError(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise RequestError(f"the request body must be a JSON object, got {type(data).__name__}")
    body = Body(data)
    if allowed is not None:
        body.unknown(allowed)
    return body
