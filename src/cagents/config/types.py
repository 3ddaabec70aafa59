"""The type mini-language of state fields: `str int float bool list dict list[T] dict[K,V] object`.

A parsed `TypeSpec` checks values (every state write goes through it), says whether one
type can flow into another (node outputs into state fields), resolves dotted paths for
templates and conditions, and produces the JSON Schema that structured output asks for.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["TypeSpec", "TypeSyntaxError", "parse_type", "ANY", "SCALAR_KINDS", "TYPE_NAMES"]

SCALAR_KINDS = ("str", "int", "float", "bool")
TYPE_NAMES = ("str", "int", "float", "bool", "list", "dict", "object", "list[T]", "dict[K,V]")
_KINDS = frozenset({"str", "int", "float", "bool", "list", "dict", "object", "any"})
_SYNONYMS = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "array": "list",
    "List": "list",
    "Dict": "dict",
    "mapping": "dict",
    "Any": "any",
}


class TypeSyntaxError(ValueError):
    """A type string or nested schema that does not parse; carries a fix hint."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message)


@dataclass(frozen=True)
class TypeSpec:
    """One parsed type. `fields` is the nested schema of an `object` (None: any keys)."""

    kind: str
    item: TypeSpec | None = None
    key: TypeSpec | None = None
    value: TypeSpec | None = None
    fields: tuple[tuple[str, TypeSpec], ...] | None = None

    # ---- text -------------------------------------------------------------------------
    def __str__(self) -> str:
        if self.kind == "list" and self.item is not None:
            return f"list[{self.item}]"
        if self.kind == "dict" and self.value is not None:
            return f"dict[{self.key or ANY_STR}, {self.value}]"
        return self.kind

    @property
    def field_map(self) -> dict[str, TypeSpec]:
        return dict(self.fields or ())

    # ---- values -----------------------------------------------------------------------
    def check(self, value: Any, where: str = "value") -> list[str]:
        """Every way `value` fails this type, each naming the path inside the value."""
        problems: list[str] = []
        self._check(value, where, problems)
        return problems

    def _check(self, value: Any, where: str, problems: list[str]) -> None:
        kind = self.kind
        if kind == "any":
            return
        if kind == "str":
            if not isinstance(value, str):
                problems.append(f"{where}: expected str, got {_describe(value)}")
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(f"{where}: expected int, got {_describe(value)}")
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{where}: expected float, got {_describe(value)}")
        elif kind == "bool":
            if not isinstance(value, bool):
                problems.append(f"{where}: expected bool, got {_describe(value)}")
        elif kind == "list":
            if not isinstance(value, list):
                problems.append(f"{where}: expected {self}, got {_describe(value)}")
            elif self.item is not None:
                for index, element in enumerate(value):
                    self.item._check(element, f"{where}[{index}]", problems)
        elif kind in ("dict", "object"):
            if not isinstance(value, dict):
                problems.append(f"{where}: expected {self}, got {_describe(value)}")
                return
            for name in value:
                if not isinstance(name, str):
                    problems.append(f"{where}: keys must be strings, got {_describe(name)}")
            if kind == "dict" and self.value is not None:
                for name, element in value.items():
                    self.value._check(element, f"{where}.{name}", problems)
            if kind == "object" and self.fields is not None:
                declared = self.field_map
                for name, spec in declared.items():
                    if name not in value:
                        problems.append(f"{where}.{name}: missing (declared as {spec})")
                    else:
                        spec._check(value[name], f"{where}.{name}", problems)
                for name in value:
                    if name not in declared:
                        problems.append(
                            f"{where}.{name}: not declared in the object schema "
                            f"(declared: {', '.join(declared) or 'none'})"
                        )

    def coerce(self, value: Any) -> Any:
        """Best-effort conversion of loosely typed input (CLI `k=v`, form fields) to this type.

        Only text is converted; anything that does not convert is returned unchanged so
        that `check` reports it.
        """
        if not isinstance(value, str) or self.kind in ("str", "any"):
            if self.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
                return float(value)
            return value
        text = value.strip()
        try:
            if self.kind == "int":
                return int(text)
            if self.kind == "float":
                number = float(text)
                return number if math.isfinite(number) else value
            if self.kind == "bool":
                lowered = text.lower()
                if lowered in ("true", "yes", "1", "on"):
                    return True
                if lowered in ("false", "no", "0", "off"):
                    return False
                return value
            return json.loads(text)
        except (ValueError, RecursionError):
            return value

    # ---- relations between types --------------------------------------------------------
    def accepts(self, other: TypeSpec) -> bool:
        """True when every value of `other` is a valid value of this type."""
        if self.kind == "any" or other.kind == "any":
            return True
        if self.kind == "float" and other.kind == "int":
            return True
        if self.kind != other.kind:
            if {self.kind, other.kind} != {"dict", "object"}:
                return False
            if self.kind == "object":
                return self.fields is None
            if self.value is None:
                return True
            return other.fields is not None and all(self.value.accepts(s) for _, s in other.fields)
        if self.kind == "list":
            return self.item is None or other.item is None or self.item.accepts(other.item)
        if self.kind == "dict":
            return self.value is None or other.value is None or self.value.accepts(other.value)
        if self.kind == "object":
            if self.fields is None or other.fields is None:
                return True
            mine, theirs = self.field_map, other.field_map
            return set(mine) == set(theirs) and all(mine[k].accepts(theirs[k]) for k in mine)
        return True

    def resolve(self, path: tuple[str | int, ...]) -> TypeSpec | None:
        """The type found at `path` inside a value of this type; None if it cannot exist."""
        spec: TypeSpec = self
        for step in path:
            if spec.kind == "any":
                return ANY
            if isinstance(step, int):
                if spec.kind != "list":
                    return None
                spec = spec.item or ANY
            elif spec.kind == "object":
                if spec.fields is None:
                    return ANY
                found = spec.field_map.get(step)
                if found is None:
                    return None
                spec = found
            elif spec.kind == "dict":
                spec = spec.value or ANY
            else:
                return None
        return spec

    def children(self) -> list[str]:
        """Names reachable one step below (for did-you-mean hints)."""
        return [name for name, _ in self.fields or ()]

    # ---- JSON Schema ----------------------------------------------------------------------
    def json_schema(self, description: str | None = None) -> dict[str, Any]:
        schema: dict[str, Any]
        if self.kind == "str":
            schema = {"type": "string"}
        elif self.kind == "int":
            schema = {"type": "integer"}
        elif self.kind == "float":
            schema = {"type": "number"}
        elif self.kind == "bool":
            schema = {"type": "boolean"}
        elif self.kind == "list":
            schema = {"type": "array"}
            if self.item is not None:
                schema["items"] = self.item.json_schema()
        elif self.kind == "dict":
            schema = {"type": "object"}
            if self.value is not None:
                schema["additionalProperties"] = self.value.json_schema()
        elif self.kind == "object":
            schema = {"type": "object"}
            if self.fields is not None:
                schema["properties"] = {name: spec.json_schema() for name, spec in self.fields}
                schema["required"] = [name for name, _ in self.fields]
                schema["additionalProperties"] = False
        else:
            schema = {}
        if description:
            schema["description"] = description
        return schema

    def example(self) -> Any:
        """A small valid value, for docs and placeholder outputs."""
        if self.kind == "str":
            return ""
        if self.kind == "int":
            return 0
        if self.kind == "float":
            return 0.0
        if self.kind == "bool":
            return False
        if self.kind == "list":
            return []
        if self.kind == "object" and self.fields is not None:
            return {name: spec.example() for name, spec in self.fields}
        if self.kind in ("dict", "object"):
            return {}
        return None


ANY = TypeSpec("any")
ANY_STR = TypeSpec("str")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    text = json.dumps(value, default=str, ensure_ascii=False)
    if len(text) > 40:
        text = text[:37] + "..."
    name = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}.get(
        type(value), type(value).__name__
    )
    return f"{name} {text}"


def parse_type(text: Any, schema: Any = None, *, _depth: int = 0) -> TypeSpec:
    """Parse a type string (and, for objects, a nested `schema` mapping)."""
    if _depth > 20:
        raise TypeSyntaxError("type is nested too deeply (more than 20 levels)")
    if not isinstance(text, str):
        raise TypeSyntaxError(
            f"a type must be a string, got {_describe(text)}",
            "write one of: " + ", ".join(TYPE_NAMES),
        )
    source = text.strip()
    spec = _Parser(source, _depth).parse()
    if schema is not None:
        if spec.kind == "object":
            return TypeSpec("object", fields=parse_schema(schema, _depth=_depth + 1))
        if spec.kind == "list" and spec.item is not None and spec.item.kind == "object":
            return TypeSpec("list", item=TypeSpec("object", fields=parse_schema(schema, _depth=_depth + 1)))
        raise TypeSyntaxError(
            f"`schema` only applies to `object` or `list[object]`, not `{source}`",
            "remove `schema`, or change the type to object",
        )
    return spec


def parse_schema(schema: Any, *, _depth: int = 0) -> tuple[tuple[str, TypeSpec], ...]:
    """A nested object schema: `{name: "type"}` or `{name: {type, schema, description}}`."""
    if not isinstance(schema, Mapping) or not schema:
        raise TypeSyntaxError(
            "an object `schema` must be a non-empty mapping of field name to type",
            "e.g. schema: {bio: str, score: int}",
        )
    fields: list[tuple[str, TypeSpec]] = []
    for name, entry in schema.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeSyntaxError(f"schema field name {name!r} is not an identifier")
        if isinstance(entry, Mapping):
            if "type" not in entry:
                raise TypeSyntaxError(f"schema field `{name}` has no `type`")
            unknown = set(entry) - {"type", "schema", "description", "required", "default"}
            if unknown:
                raise TypeSyntaxError(
                    f"schema field `{name}` has unknown key(s): {', '.join(sorted(map(str, unknown)))}",
                    "allowed: type, schema, description",
                )
            spec = parse_type(entry["type"], entry.get("schema"), _depth=_depth + 1)
        else:
            spec = parse_type(entry, _depth=_depth + 1)
        fields.append((name, spec))
    return tuple(fields)


class _Parser:
    """Recursive-descent parser for `list[dict[str, list[int]]]` and friends."""

    def __init__(self, text: str, depth: int):
        self.text = text
        self.pos = 0
        self.depth = depth

    def parse(self) -> TypeSpec:
        if not self.text:
            raise TypeSyntaxError("empty type", "write one of: " + ", ".join(TYPE_NAMES))
        spec = self._type(0)
        self._space()
        if self.pos != len(self.text):
            raise self._error(f"unexpected `{self.text[self.pos:]}` after `{self.text[:self.pos]}`")
        return spec

    def _space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def _error(self, message: str) -> TypeSyntaxError:
        return TypeSyntaxError(
            f"invalid type `{self.text}`: {message}",
            "types are str, int, float, bool, list, dict, object, list[T], dict[K, V]",
        )

    def _name(self) -> str:
        self._space()
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] == "_"):
            self.pos += 1
        word = self.text[start:self.pos]
        if not word:
            raise self._error("expected a type name")
        return word

    def _type(self, level: int) -> TypeSpec:
        if level + self.depth > 20:
            raise self._error("nested too deeply")
        word = self._name()
        kind = _SYNONYMS.get(word, word)
        if kind not in _KINDS:
            import difflib

            close = difflib.get_close_matches(word, [*_KINDS, *_SYNONYMS], n=1)
            hint = f"did you mean `{_SYNONYMS.get(close[0], close[0])}`?" if close else None
            raise TypeSyntaxError(
                f"unknown type `{word}` in `{self.text}`",
                hint or "types are str, int, float, bool, list, dict, object, list[T], dict[K, V]",
            )
        self._space()
        if self.pos < len(self.text) and self.text[self.pos] == "[":
            self.pos += 1
            if kind == "list":
                item = self._type(level + 1)
                self._expect("]")
                return TypeSpec("list", item=item)
            if kind == "dict":
                key = self._type(level + 1)
                if key.kind != "str":
                    raise self._error("dict keys must be str (JSON object keys are strings)")
                self._expect(",")
                value = self._type(level + 1)
                self._expect("]")
                return TypeSpec("dict", key=key, value=value)
            raise self._error(f"`{kind}` takes no parameters")
        return TypeSpec(kind)

    def _expect(self, char: str) -> None:
        self._space()
        if self.pos >= len(self.text) or self.text[self.pos] != char:
            raise self._error(f"expected `{char}`")
        self.pos += 1
