"""Safe loading of workflow text (YAML or JSON) into plain data that remembers where each key is.

The parser's events are turned into data here, without PyYAML's constructors: scalars follow
the YAML 1.2 core schema (`yes`, `on` and dates stay strings), only standard tags are read,
duplicate and non-string keys are refused, and size, nesting and alias expansion are bounded.
Every problem becomes a `ConfigError` with the file, line, column and a hint.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from cagents.errors import ConfigError, ConfigIssue

__all__ = ["Path", "Source", "load_file", "load_source"]

Path = tuple[str | int, ...]

DEFAULT_MAX_BYTES = 1_048_576
#: Deepest nesting of mappings and sequences accepted (the top-level mapping is level 1).
MAX_DEPTH = 100
#: Longest integer read; Python refuses to print ints past 640 digits when so configured.
MAX_INT_DIGITS = 500
#: Most values that aliases (`*name`) may add by repeating their anchor's content; a text
#: counts once more per 100 characters, so that aliasing long texts is bounded too.
MAX_ALIAS_NODES = 100_000


def _libyaml_parser() -> Any:
    """libyaml's parser when PyYAML was built with it; else None (the pure parser is used)."""
    try:
        from yaml import cyaml
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        return None
    return getattr(cyaml, "CParser", None)


_CParser: Any = _libyaml_parser()

_YAML_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset({"str", "int", "float", "bool", "null"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
# First characters of plain scalars that may be something other than a string.
_MAYBE_TYPED = frozenset("0123456789+-.~nNtTfF")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(
    r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
)
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NO_SPACE_AFTER_COLON = re.compile(r"^\s*(?:-\s+)?[A-Za-z_][\w.-]*:[^\s:/\[{]")
_NO_KEY = object()
_DEEP = f"the data is nested deeper than {MAX_DEPTH} levels"
_DEEP_HINT = "flatten the structure; a workflow never needs this much nesting"


class _Pos:
    """Where one value sits: its key (or item) position, its start, and its children's.

    `children` is a dict of `_Pos` by key for a mapping, a list for a sequence, else None.
    """

    __slots__ = ("children", "key", "value")

    def __init__(self, key: tuple[int, int] | None, value: tuple[int, int], children: Any) -> None:
        self.key = key
        self.value = value
        self.children = children


@dataclass(frozen=True)
class Source:
    """Loaded workflow text: the plain data plus the position of every key and value."""

    data: Any
    filename: str
    text: str = field(repr=False)
    _positions: _Pos | None = field(default=None, repr=False, compare=False)

    def _find(self, path: Path) -> _Pos | None:
        node = self._positions
        for part in path:
            node = _child(node, part)
            if node is None:
                return None
        return node

    def key_position(self, path: Path) -> tuple[int, int] | None:
        """1-based (line, column) of the key of a mapping entry, or of a sequence item."""
        node = self._find(path)
        return None if node is None else node.key

    def value_position(self, path: Path) -> tuple[int, int] | None:
        """1-based (line, column) where the value at `path` starts."""
        node = self._find(path)
        return None if node is None else node.value

    def locate(self, path: Path) -> tuple[int, int]:
        """Best place to point at for `path`: it, or its nearest located ancestor, or (1, 1)."""
        best = (1, 1)
        node = self._positions
        for part in path:
            node = _child(node, part)
            if node is None:
                break
            if node.key is not None:
                best = node.key
        return best


def _child(node: _Pos | None, part: str | int) -> _Pos | None:
    if node is None:
        return None
    children = node.children
    found: _Pos | None = None
    if isinstance(children, dict) and isinstance(part, str):
        found = children.get(part)
    elif isinstance(children, list) and type(part) is int and 0 <= part < len(children):
        found = children[part]
    return found


def load_file(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Source:
    """Read and load a workflow file; every failure, including I/O, is a `ConfigError`."""
    name = os.fsdecode(os.fspath(path))
    try:
        with open(name, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise _too_big(name, size, max_bytes)
            # A pipe or device reports size 0: read one byte past the limit to notice.
            raw = handle.read(size + 1 if size else max_bytes + 1)
    except FileNotFoundError:
        raise _error(
            name, "file not found", hint=f"check the path (relative paths start at {os.getcwd()})"
        ) from None
    except IsADirectoryError:
        raise _error(
            name, "is a directory, not a file", hint="give the path of a .yaml file"
        ) from None
    except PermissionError:
        raise _error(
            name, "cannot read the file: permission denied", hint="check the file's permissions"
        ) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise _error(name, f"cannot read the file: {reason}", hint="check the path") from None
    return load_source(raw, filename=name, max_bytes=max_bytes)


def load_source(
    text: str | bytes, *, filename: str = "<config>", max_bytes: int = DEFAULT_MAX_BYTES
) -> Source:
    """Load workflow text (YAML or JSON, str or UTF-8 bytes) into a `Source`."""
    return _load(text, filename, max_bytes, use_c=_CParser is not None)


def _load(text: str | bytes, filename: str, max_bytes: int, *, use_c: bool) -> Source:
    if isinstance(text, (bytes, bytearray, memoryview)):
        raw = bytes(text)
        if len(raw) > max_bytes:
            raise _too_big(filename, len(raw), max_bytes)
        decoded = _decode(raw, filename)
    elif isinstance(text, str):
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            line, column = _line_column(text, exc.start)
            raise _error(
                filename,
                f"the text holds an invalid character {text[exc.start]!r} (a lone surrogate)",
                line=line,
                column=column,
                hint="the text was decoded wrongly; read the file as UTF-8",
            ) from None
        if size > max_bytes:
            raise _too_big(filename, size, max_bytes)
        decoded = text[1:] if text.startswith("\ufeff") else text
    else:
        raise TypeError(f"load_source() needs str or bytes, not {type(text).__name__}")
    data, positions = _parse(decoded, filename, use_c=use_c)
    return Source(data, filename, decoded, positions)


def _decode(raw: bytes, filename: str) -> str:
    body = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + len(raw) - len(body)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        hint = "the file looks UTF-16 encoded; save it as UTF-8"
    else:
        hint = "save the file as UTF-8 (your editor's encoding setting)"
    line_start = raw.rfind(b"\n", 0, offset) + 1
    line = raw.count(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", "replace")) + 1
    raise _error(
        filename,
        f"the file is not valid UTF-8: byte 0x{raw[offset]:02x} at byte offset {offset}",
        line=line,
        column=column,
        hint=hint,
    )


def _parse(text: str, filename: str, *, use_c: bool) -> tuple[Any, _Pos | None]:
    failure: yaml.YAMLError | ConfigError
    try:
        return _read_yaml(text, filename, use_c=use_c)
    except (yaml.YAMLError, ConfigError) as exc:
        failure = exc
    if filename.lower().endswith(".json") or re.match(r"\s*\{", text):
        return _load_json(text, filename, failure)
    if isinstance(failure, ConfigError):
        raise failure
    raise ConfigError(_syntax_issue(failure, text, filename)) from None


def _read_yaml(text: str, filename: str, *, use_c: bool) -> tuple[Any, _Pos]:
    if use_c:
        try:
            return _Builder(filename).run(_CParser(text))
        except yaml.YAMLError:
            # The pure parser gives the error with clearer context, and reads the few things
            # libyaml refuses (JSON's surrogate-pair escapes).
            pass
    return _Builder(filename).run(_PyParser(text))


class _PyParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's pure-Python reader, scanner and parser, without its constructors."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


class _Anchor:
    __slots__ = ("height", "nodes", "pos", "value")

    def __init__(self, value: Any, pos: _Pos, nodes: int, height: int) -> None:
        self.value = value
        self.pos = pos
        self.nodes = nodes
        self.height = height


class _Frame:
    """A mapping or sequence being built, with the key that waits for its value."""

    __slots__ = (
        "anchor",
        "data",
        "height",
        "is_map",
        "key",
        "key_mark",
        "merge_mark",
        "merged",
        "merging",
        "nodes",
        "pos",
    )

    def __init__(self, is_map: bool, mark: tuple[int, int], anchor: str | None) -> None:
        self.is_map = is_map
        self.data: Any = {} if is_map else []
        self.pos = _Pos(None, mark, {} if is_map else [])
        self.anchor = anchor
        self.nodes = 1
        self.height = 1
        self.key: Any = _NO_KEY
        self.key_mark: tuple[int, int] | None = None
        self.merging = False
        self.merge_mark: tuple[int, int] | None = None
        self.merged: set[str] = set()


def _mark(event: Any) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1)


class _Builder:
    """Turns one stream of parser events into data and positions, enforcing every limit."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchor | None] = {}
        self.expanded = 0
        self.root: tuple[Any, _Pos, bool] | None = None

    def run(self, parser: Any) -> tuple[Any, _Pos]:
        get = parser.get_event
        documents = 0
        while True:
            event = get()
            kind = type(event)
            if kind is ScalarEvent:
                self._scalar(event)
            elif kind is MappingStartEvent:
                self._start(event, True)
            elif kind is SequenceStartEvent:
                self._start(event, False)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                self._end()
            elif kind is AliasEvent:
                self._alias(event)
            elif kind is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise self._fail(
                        "the file holds more than one YAML document",
                        _mark(event),
                        hint="keep one workflow per file: remove the second '---' "
                        "(one '---' at the very top is fine)",
                    )
            elif kind is StreamEndEvent:
                break
        if self.root is None or self.root[2]:
            raise self._fail(
                "the file is empty", (1, 1), hint="a workflow needs at least `flow:` and `nodes:`"
            )
        data, pos, _ = self.root
        if not isinstance(data, dict):
            found = "a list" if isinstance(data, list) else f"the value {_show(data)}"
            raise self._fail(
                f"a workflow file must be a mapping at the top level, found {found}",
                pos.value,
                hint="start the file with `key: value` lines such as `flow:` and `nodes:`",
            )
        return data, pos

    # -- events -------------------------------------------------------------------------------

    def _scalar(self, event: Any) -> None:
        mark = _mark(event)
        stack = self.stack
        if stack and stack[-1].is_map and stack[-1].key is _NO_KEY:
            key = self._key_text(event, mark)
            stack[-1].nodes += 1 + len(key) // 100
            if event.anchor is not None:
                self.anchors[event.anchor] = _Anchor(key, _Pos(None, mark, None), 1, 0)
            plain_merge = key == "<<" and event.tag is None and event.implicit[0]
            self._set_key(stack[-1], key, mark, merge=plain_merge)
            return
        value = self._resolve(event, mark)
        pos = _Pos(None, mark, None)
        weight = 1 + len(value) // 100 if type(value) is str else 1
        if event.anchor is not None:
            self.anchors[event.anchor] = _Anchor(value, pos, weight, 0)
        empty = value is None and event.value == "" and event.tag is None
        self._emit(value, pos, weight, 0, empty)

    def _start(self, event: Any, is_map: bool) -> None:
        mark = _mark(event)
        stack = self.stack
        what = "mapping" if is_map else "sequence"
        if stack and stack[-1].is_map and stack[-1].key is _NO_KEY:
            raise self._fail(
                f"a mapping key must be a string, not a {what}",
                mark,
                hint="complex keys ('? ...' or '[a]: b') are not supported; use a plain name",
            )
        if len(stack) >= MAX_DEPTH:
            raise self._fail(_DEEP, mark, hint=_DEEP_HINT)
        tag = event.tag
        if tag is not None and tag != "!" and tag != _YAML_TAG + ("map" if is_map else "seq"):
            raise self._bad_tag(tag, mark, what)
        if event.anchor is not None:
            self.anchors[event.anchor] = None  # being built: an alias to it now is recursive
        stack.append(_Frame(is_map, mark, event.anchor))

    def _end(self) -> None:
        frame = self.stack.pop()
        if frame.anchor is not None:
            self.anchors[frame.anchor] = _Anchor(frame.data, frame.pos, frame.nodes, frame.height)
        self._emit(frame.data, frame.pos, frame.nodes, frame.height)

    def _alias(self, event: Any) -> None:
        mark = _mark(event)
        name = event.anchor
        if name not in self.anchors:
            raise self._fail(
                f"alias '*{name}' refers to an anchor that is not defined",
                mark,
                hint=f"define '&{name}' on a value before '*{name}' uses it",
            )
        anchor = self.anchors[name]
        if anchor is None:
            raise self._fail(
                f"alias '*{name}' is used inside the value it refers to (a recursive alias)",
                mark,
                hint=f"an alias cannot contain itself; move '*{name}' out of the '&{name}' value",
            )
        stack = self.stack
        if stack and stack[-1].is_map and stack[-1].key is _NO_KEY:
            if not isinstance(anchor.value, str):
                raise self._fail(
                    f"a mapping key must be a string, but alias '*{name}' is not one",
                    mark,
                    hint="use a plain name as the key",
                )
            self._set_key(stack[-1], anchor.value, mark)
            return
        self.expanded += anchor.nodes
        if self.expanded > MAX_ALIAS_NODES:
            raise self._fail(
                f"aliases expand to more than {MAX_ALIAS_NODES:,} values",
                mark,
                hint="aliases ('*name') repeat their anchor's whole value (a text counts once "
                "per 100 characters) and nested aliases multiply (an 'alias bomb'): "
                "write the data out or use fewer aliases",
            )
        if len(stack) + anchor.height > MAX_DEPTH:
            raise self._fail(
                f"alias '*{name}' makes the data nested deeper than {MAX_DEPTH} levels",
                mark,
                hint=_DEEP_HINT,
            )
        value = _copy(anchor.value) if anchor.height else anchor.value
        self._emit(value, _Pos(None, mark, anchor.pos.children), anchor.nodes, anchor.height)

    # -- building -----------------------------------------------------------------------------

    def _emit(self, value: Any, pos: _Pos, nodes: int, height: int, empty: bool = False) -> None:
        stack = self.stack
        if not stack:
            self.root = (value, pos, empty)
            return
        top = stack[-1]
        top.nodes += nodes
        if height >= top.height:
            top.height = height + 1
        if not top.is_map:
            pos.key = pos.value
            top.data.append(value)
            top.pos.children.append(pos)
            return
        key = top.key
        top.key = _NO_KEY
        if top.merging:
            top.merging = False
            self._merge(top, value, pos)
            return
        pos.key = top.key_mark
        top.data[key] = value
        top.pos.children[key] = pos

    def _set_key(self, top: _Frame, key: str, mark: tuple[int, int], merge: bool = False) -> None:
        if merge:
            if top.merge_mark is not None:
                raise self._duplicate("<<", mark, top.merge_mark)
            top.merge_mark = mark
            top.merging = True
        elif key in top.data:
            if key in top.merged:
                top.merged.discard(key)  # an explicit key overrides a merged one
            else:
                first = top.pos.children[key].key
                raise self._duplicate(key, mark, first)
        top.key = key
        top.key_mark = mark

    def _merge(self, top: _Frame, value: Any, pos: _Pos) -> None:
        """`<<: *defaults` copies the keys the mapping does not set itself."""
        if isinstance(value, dict):
            sources = [(value, pos)]
        elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
            sources = list(zip(value, pos.children, strict=True))
        else:
            raise self._fail(
                "the merge key '<<' needs a mapping or a list of mappings",
                pos.value,
                hint="write '<<: *name' where '&name' marks a mapping",
            )
        for mapping, mapping_pos in sources:
            for key, item in mapping.items():
                if key not in top.data:
                    top.data[key] = item
                    top.pos.children[key] = mapping_pos.children[key]
                    top.merged.add(key)

    # -- scalars ------------------------------------------------------------------------------

    def _key_text(self, event: Any, mark: tuple[int, int]) -> str:
        """Mapping keys are strings: `true:`, `null:` and `on:` keep their text, numbers fail."""
        text: str = event.value
        if event.tag is None and event.implicit[0]:
            if text == "":
                raise self._fail("a mapping key is empty", mark, hint="write a name before the ':'")
            value = self._plain(text, mark)
            if type(value) is int or type(value) is float:
                path = self._path()
                raise self._fail(
                    f"mapping key {text} is a number; keys must be strings",
                    mark,
                    key=f"{path}.{text}" if path else text,
                    hint=f"quote the key: '{text}':",
                )
            return text
        value = self._resolve(event, mark)
        if not isinstance(value, str):
            raise self._fail(
                f"mapping key {_show(text)} is tagged {_short_tag(event.tag)}, not a string",
                mark,
                hint="remove the tag from the key",
            )
        return value

    def _resolve(self, event: Any, mark: tuple[int, int]) -> Any:
        value: str = event.value
        tag = event.tag
        if tag is None and event.implicit[0]:
            return self._plain(value, mark)
        if tag is None or tag == "!" or tag == _YAML_TAG + "str":
            if event.style == '"' and _SURROGATE.search(value):
                return self._join_surrogates(value, mark)
            return value
        name = tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else None
        if name not in _SCALAR_TAGS:
            raise self._bad_tag(tag, mark, "single value")
        if name == "null" and value in _NULLS:
            return None
        if name == "bool" and value in _BOOLS:
            return _BOOLS[value]
        if name in ("int", "float"):
            number = self._plain(value, mark)
            if type(number) is int and name == "float":
                try:
                    return float(number)
                except OverflowError:
                    pass  # refused below
            elif type(number) is (int if name == "int" else float):
                return number
        raise self._fail(
            f"{_show(value)} cannot be read as {_short_tag(tag)}",
            mark,
            hint=f"write a valid {name} or remove the {_short_tag(tag)} tag",
        )

    def _plain(self, text: str, mark: tuple[int, int]) -> Any:
        """YAML 1.2 core schema: only these forms are not strings."""
        if not text:
            return None
        if text[0] not in _MAYBE_TYPED:
            return text
        if text in _NULLS:
            return None
        if text in _BOOLS:
            return _BOOLS[text]
        base, digits = 0, text
        if _INT.fullmatch(text):
            base, digits = 10, text.lstrip("+-")
        elif _OCT.fullmatch(text):
            base, digits = 8, text[2:]
        elif _HEX.fullmatch(text):
            base, digits = 16, text[2:]
        if base:
            if len(digits) > MAX_INT_DIGITS:
                raise self._fail(
                    f"the number {_show(text)} has {len(digits):,} digits, more than "
                    f"{MAX_INT_DIGITS} allowed",
                    mark,
                    hint="quote it to keep it as text",
                )
            return int(text, 10) if base == 10 else int(digits, base)
        if _FLOAT.fullmatch(text):
            return float(text)
        if _INF.fullmatch(text):
            return float("-inf") if text[0] == "-" else float("inf")
        if _NAN.fullmatch(text):
            return float("nan")
        return text

    def _join_surrogates(self, value: str, mark: tuple[int, int]) -> str:
        """JSON writes characters beyond U+FFFF as two `\\u` escapes; join them."""
        try:
            return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:
            raise self._fail(
                "a string holds an unpaired surrogate escape (\\ud800-\\udfff)",
                mark,
                hint="write the character itself, or a valid '\\U0001F600' escape",
            ) from None

    # -- errors -------------------------------------------------------------------------------

    def _path(self) -> str:
        parts: list[str | int] = []
        for frame in self.stack:
            if not frame.is_map:
                parts.append(len(frame.data))
            elif frame.key is not _NO_KEY:
                parts.append(frame.key)
        return _format_path(parts)

    def _fail(
        self,
        message: str,
        mark: tuple[int, int],
        *,
        key: str | None = None,
        hint: str | None = None,
    ) -> ConfigError:
        return _error(
            self.filename,
            message,
            line=mark[0],
            column=mark[1],
            key=key if key is not None else (self._path() or None),
            hint=hint,
        )

    def _duplicate(
        self, key: str, mark: tuple[int, int], first: tuple[int, int] | None
    ) -> ConfigError:
        where = f"line {first[0]}" if first else "earlier"
        path = self._path()
        return self._fail(
            f"duplicate key {_show(key)} in the same mapping",
            mark,
            key=f"{path}.{key}" if path else key,
            hint=f"the key is already set at {where}; keep only one of them",
        )

    def _bad_tag(self, tag: str, mark: tuple[int, int], what: str) -> ConfigError:
        return self._fail(
            f"the tag {_short_tag(tag)} is not allowed on a {what}",
            mark,
            hint="only !!str, !!int, !!float, !!bool, !!null, !!seq and !!map are accepted "
            "(each on its kind of value); remove the tag",
        )


def _copy(value: Any) -> Any:
    """Aliases get their own copy, so the data stays a tree that is safe to change."""
    if type(value) is dict:
        return {key: _copy(item) for key, item in value.items()}
    if type(value) is list:
        return [_copy(item) for item in value]
    return value


def _load_json(
    text: str, filename: str, failure: yaml.YAMLError | ConfigError
) -> tuple[Any, _Pos | None]:
    """JSON text YAML did not accept: the `json` module's error is the clearer one.

    When `json` reads the text, a problem found on the YAML side (a duplicate key, too
    deep...) is real and keeps its position; a YAML syntax error was a YAML limitation
    (tabs, keys over 1024 characters), so the JSON data is used.
    """

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, value in items:
            if key in data:
                raise _error(
                    filename,
                    f"duplicate key {_show(key)} in the same object",
                    key=key,
                    hint="keep only one of them",
                )
            data[key] = value
        return data

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise _error(
            filename,
            f"invalid JSON: {exc.msg}",
            line=exc.lineno,
            column=exc.colno,
            hint=_json_hint(exc.msg),
        ) from None
    except (RecursionError, ValueError, ConfigError) as exc:
        if isinstance(failure, ConfigError):
            raise failure from None
        if isinstance(exc, ConfigError):
            raise
        if isinstance(exc, RecursionError):
            raise _error(filename, _DEEP, hint=_DEEP_HINT) from None
        raise _error(  # an integer too long to convert
            filename, f"invalid JSON: {exc}", hint="quote very long numbers"
        ) from None
    if isinstance(failure, ConfigError):
        raise failure
    if "\t" in text:
        # Valid JSON has tabs only between tokens, where a space means the same: with spaces
        # the pure parser reads it too, and the positions are kept.
        try:
            return _Builder(filename).run(_PyParser(text.replace("\t", " ")))
        except (yaml.YAMLError, ConfigError):
            pass
    if not isinstance(data, dict):
        raise _error(
            filename,
            "a workflow file must be a mapping at the top level",
            line=1,
            column=1,
            hint="the JSON text must be an object: { ... }",
        )
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise _error(filename, _DEEP, hint=_DEEP_HINT)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            for text_value in (key, item):
                if isinstance(text_value, str) and _SURROGATE.search(text_value):
                    raise _error(
                        filename,
                        "a string holds an unpaired surrogate escape (\\ud800-\\udfff)",
                        hint="write the character itself, or a valid escape pair",
                    )
            if isinstance(item, (dict, list)):
                pending.append((item, depth + 1))
            elif type(item) is int and item.bit_length() > 1_600:
                raise _error(
                    filename,
                    f"a number has more than {MAX_INT_DIGITS} digits",
                    hint="quote it to keep it as text",
                )
    return data, None


def _json_hint(msg: str) -> str:
    if msg.startswith("Expecting property name"):
        return "JSON keys need double quotes, and no comma may follow the last item"
    if msg.startswith("Expecting ',' delimiter"):
        return "a comma is missing between items, or a bracket is not closed"
    if msg.startswith("Expecting ':' delimiter"):
        return "a key must be followed by ':' and its value"
    if msg.startswith("Expecting value"):
        return "a value is missing (a comma after the last item?) or a word is not quoted"
    if msg.startswith("Unterminated string"):
        return "a string is not closed with a double quote"
    if msg.startswith("Invalid"):
        return "check the escapes and control characters in the strings"
    if msg.startswith("Extra data"):
        return "there is text after the end of the JSON object"
    return "check the JSON syntax at this point"


def _syntax_issue(exc: yaml.YAMLError, text: str, filename: str) -> ConfigIssue:
    """The parser's error, pointed at the line to fix, with a hint for the usual causes."""
    if isinstance(exc, yaml.reader.ReaderError):
        where = _line_column(text, exc.position)
        char = chr(exc.character) if isinstance(exc.character, int) else str(exc.character)
        return ConfigIssue(
            f"the text holds a character YAML does not allow: {char!r}",
            file=filename,
            line=where[0],
            column=where[1],
            hint="remove control characters from the file",
        )
    problem = str(getattr(exc, "problem", None) or exc)
    context = getattr(exc, "context", None) or ""
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    mark = problem_mark or context_mark
    opened = ""
    if context_mark is not None:
        opened = f"line {context_mark.line + 1}, column {context_mark.column + 1}"
    lines = text.splitlines()
    hint = "check the indentation, the space after each ':', and that quotes and brackets close"
    if "'\\t'" in problem:
        hint = "indent with spaces, not tabs: YAML does not allow tabs for indentation"
    elif "quoted scalar" in context:
        mark = context_mark or mark
        hint = "this quoted string is never closed: add the closing quote"
    elif "flow sequence" in context or "flow mapping" in context:
        bracket = "[" if "sequence" in context else "{"
        hint = f"the '{bracket}' opened at {opened} is not closed, or a comma is missing"
    elif "simple key" in context:
        mark = context_mark or mark
        hint = "write this line as 'key: value' (a space after the colon), or fix its indentation"
    elif "mapping values are not allowed" in problem:
        hint = "a value holds ': ': quote the value, or put a nested mapping on its own lines"
    elif "undefined tag handle" in problem:
        hint = "custom tags ('!name') are not supported; remove the tag"
    elif "expected <block end>" in problem:
        hint = "check the indentation: the keys of one mapping must start in the same column"
    elif "expected '<document start>'" in problem:
        hint = "text follows the end of the document: check the indentation, remove any '...' line"
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    if line is not None and "'\\t'" not in problem:
        for number in range(line, max(line - 3, 0), -1):
            if number <= len(lines) and _NO_SPACE_AFTER_COLON.match(lines[number - 1]):
                hint = f"line {number} has no space after its ':'; write 'key: value'"
                break
    message = f"invalid YAML: {problem}"
    if context and opened:
        message += f" ({context} started at {opened})"
    return ConfigIssue(message, file=filename, line=line, column=column, hint=hint)


def _line_column(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _format_path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out if len(out) <= 120 else "..." + out[-117:]


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _too_big(filename: str, size: int, limit: int) -> ConfigError:
    return _error(
        filename,
        f"the file is {size:,} bytes, over the limit of {limit:,} bytes",
        hint="split the workflow into smaller files, or raise max_bytes",
    )


def _error(
    filename: str,
    message: str,
    *,
    line: int | None = None,
    column: int | None = None,
    key: str | None = None,
    hint: str | None = None,
) -> ConfigError:
    return ConfigError(
        ConfigIssue(message, file=filename, line=line, column=column, key=key, hint=hint)
    )
