"""The offline simulator: deterministic, schema-valid answers without any network call.

Used when the provider is `simulator` or no key is configured, so workflows run and can be
tested offline. The same request always gets the same answer.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from typing import Any

from cagents.errors import LLMError
from cagents.llm._schema import resolve_ref
from cagents.llm.request import LLMRequest, LLMResult, Usage, messages_text
from cagents.llm.settings import Endpoint

__all__ = ["example_value", "simulate"]

_MAX_DEPTH = 6


def _seed(request: LLMRequest) -> int:
    blob = json.dumps({"messages": request.messages, "schema": request.output_schema},
                      sort_keys=True, default=str)
    return int(hashlib.sha256(blob.encode()).hexdigest()[:16], 16)


def example_value(schema: dict[str, Any], rng: random.Random, name: str = "value",
                  root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A value valid against `schema`, with readable placeholders ("simulated <name>")."""
    root = schema if root is None else root
    schema = resolve_ref(schema, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = [o for o in schema.get(key, []) if resolve_ref(o, root).get("type") != "null"]
        if options or schema.get(key):
            return example_value((options or schema[key])[0], rng, name, root, depth)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            part = resolve_ref(part, root)
            merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
            merged.setdefault("properties", {}).update(part.get("properties", {}))
        return example_value(merged, rng, name, root, depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        if depth >= _MAX_DEPTH:
            return {}
        return {field: example_value(sub, rng, field, root, depth + 1)
                for field, sub in schema.get("properties", {}).items()}
    if kind == "array":
        low = max(int(schema.get("minItems", 0)), 1)
        high = max(low, 2)
        if isinstance(schema.get("maxItems"), int):
            high = min(high, schema["maxItems"])
            low = min(low, high)
        count = rng.randint(low, high) if depth < _MAX_DEPTH else low
        item: dict[str, Any] = schema["items"] if isinstance(schema.get("items"), dict) else {
            "type": "string"}
        return [example_value(item, rng, f"{name} item", root, depth + 1) for _ in range(count)]
    if kind == "integer":
        return _number(schema, rng, integer=True)
    if kind == "number":
        return _number(schema, rng, integer=False)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _string(schema, name)


def _number(schema: dict[str, Any], rng: random.Random, *, integer: bool) -> int | float:
    """A small number inside the schema's bounds (1-10 when unbounded)."""
    given_low = schema.get("minimum", schema.get("exclusiveMinimum"))
    given_high = schema.get("maximum", schema.get("exclusiveMaximum"))
    low: float = 1
    high: float = 10
    if given_low is not None:
        low, high = given_low, given_low + 10
    if given_high is not None:
        high = given_high
        if given_low is None:
            low = given_high - 10
    step = 1 if integer else (high - low) / 100 or 0.01
    if "minimum" not in schema and "exclusiveMinimum" in schema:
        low += step
    if "maximum" not in schema and "exclusiveMaximum" in schema:
        high -= step
    if integer:
        first, last = math.ceil(low), math.floor(high)
        return rng.randint(first, max(first, last))
    return min(max(round(rng.uniform(low, max(low, high)), 2), low), high)


def _string(schema: dict[str, Any], name: str) -> str:
    text = f"simulated {name}"
    minimum, maximum = schema.get("minLength"), schema.get("maxLength")
    if isinstance(minimum, int) and len(text) < minimum:
        text = text + " x" * ((minimum - len(text) + 1) // 2)
    if isinstance(maximum, int):
        text = text[:maximum]
    return text


def _free_text(request: LLMRequest, model: str) -> str:
    users = [m for m in request.messages if m.get("role") == "user"]
    asked = messages_text(users[-1:]) if users else messages_text(request.messages)
    snippet = re.sub(r"\s+", " ", asked).strip()[:120]
    return f"Simulated answer from {model} to: {snippet}" if snippet else \
        f"Simulated answer from {model}."


def simulate(request: LLMRequest, endpoint: Endpoint) -> LLMResult:
    """Answer `request` offline; the result always carries `simulated=True` and cost 0."""
    rng = random.Random(_seed(request))
    schema = request.output_schema
    if schema is not None:
        data: Any = example_value(schema, rng, "output")
        content = json.dumps(data, ensure_ascii=False)
    else:
        content = _free_text(request, endpoint.model)
        data = content
    if request.validate is not None:
        try:
            data = request.validate(data)
        except ValueError as exc:
            label = f"{request.label}: " if request.label else ""
            raise LLMError(f"{label}the simulator's answer did not pass validation: {exc} "
                           "(set a real provider key to call a model)") from None
    if request.on_token is not None:
        for piece in re.findall(r"\S+\s*|\s+", content):
            request.on_token(piece)
    return LLMResult(
        content=content, data=data,
        usage=Usage.estimate(messages_text(request.messages), content),
        cost_usd=0.0, model=endpoint.model, provider=endpoint.provider, simulated=True,
        tool_calls=[], attempts=1,
    )
