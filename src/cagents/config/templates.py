"""Prompt templates with `{state.x}`, `{x}`, `{a.b.c}` and `{items[0].name}` placeholders.

A placeholder is a dotted path of identifiers with optional `[N]` indexes inside braces; any
other brace text (a JSON example, `{ }`, `{1}`, `{x!r}`, `{x:>10}`) stays literal text. `{{`
renders `{`, and a `}}` that closes such an escape renders `}` (so `{{x}}` renders `{x}`); a
`}}` with no `{{` before it stays as written, so unescaped nested JSON such as
`{"a": {"b": 1}}` survives. Values are looked up in mappings and lists only, never as
attributes of Python objects.

Resolution: `{state.x}` reads only the state; a bare `{x}` reads the node's variables first
(inputs, `item`, `item_index`, memory), then the state. Under a null object a nested path
reads as null (objects may be partially filled); a key missing from an existing object is an
error, as is an index out of range.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cagents.errors import CagentsError

__all__ = ["Placeholder", "Template", "TemplateError", "parse_template", "render_text", "resolve"]

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# Up to 9 digits: an index is a list position, and int() refuses very long digit strings.
_PATH = rf"{_IDENT}(?:\[\d{{1,9}}\])*(?:\.{_IDENT}(?:\[\d{{1,9}}\])*)*"
_PLACEHOLDER = rf"\{{[ \t]*(?P<path>{_PATH})[ \t]*\}}"
_TOKEN = re.compile(rf"\{{\{{|\}}\}}|{_PLACEHOLDER}")
_SINGLE = re.compile(rf"\s*{_PLACEHOLDER}\s*")
_SEGMENT = re.compile(rf"({_IDENT})|\[(\d+)\]")
_MAX_LISTED = 20


class TemplateError(CagentsError, ValueError):
    """A template cannot be read, or a placeholder does not resolve."""

    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        placeholder: str | None = None,
        offset: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.placeholder = placeholder
        self.offset = offset
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": "TemplateError",
            "message": self.message,
            "placeholder": self.placeholder,
            "offset": self.offset,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class Placeholder:
    """One `{path}` in a template."""

    #: The path as written, without braces or surrounding spaces: "state.items[0].name".
    text: str
    #: The path without a leading "state": ("items", 0, "name"); the first part is a name.
    path: tuple[str | int, ...]
    #: Written as `state.x`: resolves in the state only.
    explicit_state: bool
    #: 0-based index of the "{" in the template text.
    offset: int


def render_text(value: Any) -> str:
    """How a value appears in a prompt: JSON-like, so the model reads lists and objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    try:
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, (list, tuple, dict)):
            return json.dumps(value, ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"cannot write a {type(value).__name__} into a prompt: {exc}") from None
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return list(value)
    return str(value)


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and placeholders, ready to render many times."""

    text: str
    placeholders: tuple[Placeholder, ...]
    _parts: tuple[str | Placeholder, ...] = field(repr=False, compare=False)
    _single: Placeholder | None = field(repr=False, compare=False)

    @property
    def single(self) -> Placeholder | None:
        """The placeholder when the template is exactly one (blanks around allowed), else None."""
        return self._single

    def render(self, variables: Mapping[str, Any], state: Mapping[str, Any]) -> str:
        """The prompt text, every placeholder replaced; raises TemplateError if one is missing."""
        out: list[str] = []
        for part in self._parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(render_text(resolve(part, variables, state)))
        return "".join(out)

    def render_value(self, variables: Mapping[str, Any], state: Mapping[str, Any]) -> Any:
        """The value with its type when the template is one placeholder, else the text."""
        if self._single is not None:
            return resolve(self._single, variables, state)
        return self.render(variables, state)


def resolve(
    placeholder: Placeholder, variables: Mapping[str, Any], state: Mapping[str, Any]
) -> Any:
    """The value a placeholder names, looked up in mappings and lists only."""
    head = placeholder.path[0]
    scopes = (state,) if placeholder.explicit_state else (variables, state)
    for scope in scopes:
        if head in scope:
            value = scope[head]
            break
    else:
        raise _missing_name(placeholder, variables, state)
    for depth, key in enumerate(placeholder.path[1:], start=1):
        if value is None:
            return None
        where = _path_text(placeholder, depth)
        if isinstance(key, int):
            if not isinstance(value, (list, tuple)):
                kind = _type_name(value)
                problem = f"'{where}' is a {kind}, not a list, so [{key}] does not apply"
                raise _error(placeholder, problem)
            if key >= len(value):
                problem = f"index [{key}] is out of range: '{where}' has {len(value)} item(s)"
                raise _error(placeholder, problem)
            value = value[key]
        elif isinstance(value, Mapping):
            if key not in value:
                keys = [str(k) for k in value]
                close = difflib.get_close_matches(key, keys, n=1)
                raise _error(
                    placeholder,
                    f"'{where}' has no key '{key}'; it has: {_listing(keys, close)}",
                    f"did you mean '{close[0]}'?" if close else None,
                )
            value = value[key]
        else:
            kind = _type_name(value)
            problem = f"'{where}' is a {kind}, not an object, so it has no field '{key}'"
            raise _error(placeholder, problem)
    return value


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _path_text(placeholder: Placeholder, parts: int) -> str:
    text = "state." if placeholder.explicit_state else ""
    for i, key in enumerate(placeholder.path[:parts]):
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if i else key)
    return text


def _listing(names: list[str], first: list[str]) -> str:
    ordered = first + sorted(n for n in names if n not in first)
    if not ordered:
        return "(nothing)"
    more = len(ordered) - _MAX_LISTED
    return ", ".join(ordered[:_MAX_LISTED]) + (f", ... ({more} more)" if more > 0 else "")


def _error(placeholder: Placeholder, problem: str, hint: str | None = None) -> TemplateError:
    return TemplateError(
        f"placeholder {{{placeholder.text}}}: {problem}",
        placeholder=placeholder.text,
        offset=placeholder.offset,
        hint=hint,
    )


def _missing_name(
    placeholder: Placeholder, variables: Mapping[str, Any], state: Mapping[str, Any]
) -> TemplateError:
    head = str(placeholder.path[0])
    if placeholder.explicit_state:
        names = [str(k) for k in state]
        problem = f"the state has no field '{head}'"
        if head in variables:
            return _error(
                placeholder,
                f"{problem}; '{head}' is a node variable",
                f"write {{{placeholder.text.removeprefix('state.')}}} to use it",
            )
    else:
        names = sorted({str(k) for k in variables} | {str(k) for k in state})
        problem = f"no input, variable or state field is named '{head}'"
    close = difflib.get_close_matches(head, names, n=3)
    hint = f"did you mean '{close[0]}'?" if close else None
    return _error(placeholder, f"{problem}; available: {_listing(names, close)}", hint)


def _placeholder(path_text: str, offset: int) -> Placeholder:
    path: list[str | int] = [
        name if name else int(index) for name, index in _SEGMENT.findall(path_text)
    ]
    explicit = len(path) > 1 and path[0] == "state" and isinstance(path[1], str)
    return Placeholder(path_text, tuple(path[1:] if explicit else path), explicit, offset)


@functools.lru_cache(maxsize=2048)
def _parse(text: str) -> Template:
    parts: list[str | Placeholder] = []
    placeholders: list[Placeholder] = []
    literal: list[str] = []
    open_escapes = 0
    position = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token == "{{":
            literal.append("{")
            open_escapes += 1
        elif token == "}}":
            literal.append("}" if open_escapes else "}}")
            open_escapes = max(open_escapes - 1, 0)
        else:
            if any(literal):
                parts.append("".join(literal))
            literal = []
            placeholder = _placeholder(match.group("path"), match.start())
            parts.append(placeholder)
            placeholders.append(placeholder)
    literal.append(text[position:])
    if any(literal):
        parts.append("".join(literal))
    single = placeholders[0] if _SINGLE.fullmatch(text) else None
    return Template(text, tuple(placeholders), tuple(parts), single)


def parse_template(text: str) -> Template:
    """Find the placeholders of a template once (results are cached by text)."""
    if not isinstance(text, str):
        raise TemplateError(f"a template must be a string, got {type(text).__name__}")
    return _parse(text)
