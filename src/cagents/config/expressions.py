"""Safe condition expressions for conditional routes, e.g. `state.score >= 8 and not state.done`.

A condition uses Python expression syntax. It is parsed with `ast` and interpreted here over a
whitelist of node kinds (state paths, literals, comparisons, boolean and arithmetic operators,
a few named functions); nothing is compiled to code or evaluated by Python, and no attribute
of a Python object is ever read. Everything outside the whitelist is refused at parse time.

Semantics worth knowing:
- `state.a.b` and a bare `a.b` are the same state path ("a", "b"); `state` alone is an error.
- A missing top-level field is an error; a missing nested key (or a key under a null object)
  reads as null, because objects may be partially filled. A missing dict key in `d["k"]` too.
- `true`/`false`/`null`/`none` are literals, as are Python's `True`/`False`/`None`.
- `is` / `is not` compare by identity with null/true/false and by equality otherwise.
- `str(x)` writes booleans, null, lists and objects as JSON (`true`, `null`, `[1, 2]`).
- The route condition `default` is the caller's business: `parse_condition("default")` reads
  it as the bare state path ("default",).
"""

from __future__ import annotations

import ast
import difflib
import functools
import json
import math
import operator
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from cagents.errors import CagentsError

__all__ = [
    "ALLOWED_FUNCTIONS",
    "LITERAL_NAMES",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_TEXT_LENGTH",
    "Condition",
    "ExpressionError",
    "parse_condition",
]

#: Longest condition text accepted, in characters.
MAX_TEXT_LENGTH = 2000
#: Deepest nesting of sub-expressions accepted (keeps a hostile config off the stack limit).
MAX_DEPTH = 50
#: Largest string or list that `*` or `+` may build.
MAX_ITEMS = 1_000_000
_MAX_INT_BITS = 4096

#: Lower-case literal names, as YAML and JSON authors write them.
LITERAL_NAMES: Mapping[str, Any] = {"true": True, "false": False, "null": None, "none": None}

_NULL_HINT = "the field may not be set yet; test it first, e.g. `state.x != null and state.x < 3`"

_Eval = Callable[[Mapping[str, Any]], Any]


class ExpressionError(CagentsError, ValueError):
    """A condition is not valid, or failed on the state it was evaluated against."""

    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        text: str | None = None,
        offset: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.text = text
        self.offset = offset
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": "ExpressionError",
            "message": self.message,
            "text": self.text,
            "offset": self.offset,
            "hint": self.hint,
        }


class _Fail(Exception):
    """A run-time problem without location; the evaluator adds the expression text."""

    def __init__(self, problem: str, hint: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _hint_for(*values: Any) -> str | None:
    return _NULL_HINT if any(v is None for v in values) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))


def _check_size(result: Any, symbol: str) -> Any:
    if isinstance(result, int) and result.bit_length() > _MAX_INT_BITS:
        raise _Fail(f"'{symbol}' gives a number too large (over {_MAX_INT_BITS} bits)")
    return result


# --- functions callable from conditions -----------------------------------------------------


def _need_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _Fail(f"{name}() needs a string, got {_type_name(value)}", _hint_for(value))
    return value


def _need_number(name: str, value: Any) -> int | float:
    if not _is_number(value):
        raise _Fail(f"{name}() needs a number, got {_type_name(value)}", _hint_for(value))
    return value  # type: ignore[no-any-return]


def _need_collection(name: str, value: Any, kinds: tuple[type, ...] = (list, tuple, set)) -> Any:
    if not isinstance(value, kinds):
        names = ", ".join(k.__name__ for k in kinds)
        raise _Fail(f"{name}() needs one of {names}, got {_type_name(value)}", _hint_for(value))
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"{_type_name(value)} is not a JSON value")


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        if isinstance(value, bool) or value is None or not _is_number(value):
            return json.dumps(value, ensure_ascii=False, default=_json_default)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise _Fail(f"str() cannot write this {_type_name(value)}: {exc}") from None


def _fn_len(value: Any) -> int:
    return len(_need_collection("len", value, (str, list, tuple, dict, set)))


def _fn_int(value: Any) -> int:
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise _Fail(f"int() cannot convert the string {value[:40]!r}") from None
    raise _Fail(f"int() cannot convert {_type_name(value)}", _hint_for(value))


def _fn_float(value: Any) -> float:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise _Fail(f"float() cannot convert the string {value[:40]!r}") from None
    raise _Fail(f"float() cannot convert {_type_name(value)}", _hint_for(value))


def _fn_abs(value: Any) -> int | float:
    return abs(_need_number("abs", value))


def _extreme(name: str, pick: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    items = _need_collection(name, args[0]) if len(args) == 1 else args
    if not items:
        raise _Fail(f"{name}() of an empty list")
    try:
        return pick(items)
    except TypeError:
        kinds = ", ".join(sorted({_type_name(i) for i in items}))
        raise _Fail(f"{name}() cannot compare {kinds}", _hint_for(*items)) from None


def _fn_round(value: Any, ndigits: Any = None) -> int | float:
    number = _need_number("round", value)
    if ndigits is not None and (
        not isinstance(ndigits, int) or isinstance(ndigits, bool) or abs(ndigits) > 100
    ):
        raise _Fail("round() needs a whole number of digits between -100 and 100")
    try:
        return round(number) if ndigits is None else round(number, ndigits)
    except (OverflowError, ValueError):
        raise _Fail(f"round() cannot round {_type_name(number)} {number!r}") from None


def _fn_sum(value: Any) -> int | float:
    items = _need_collection("sum", value)
    if not all(_is_number(i) for i in items):
        kinds = ", ".join(sorted({_type_name(i) for i in items if not _is_number(i)}))
        raise _Fail(f"sum() needs a list of numbers, found {kinds}")
    return _check_size(sum(items), "sum")  # type: ignore[no-any-return]


def _fn_sorted(value: Any) -> list[Any]:
    items = _need_collection("sorted", value, (list, tuple, set, dict, str))
    try:
        return sorted(items)
    except TypeError:
        kinds = ", ".join(sorted({_type_name(i) for i in items}))
        raise _Fail(f"sorted() cannot order a mix of {kinds}") from None


def _fn_startswith(text: Any, prefix: Any) -> bool:
    return _need_str("startswith", text).startswith(_need_str("startswith", prefix))


def _fn_endswith(text: Any, suffix: Any) -> bool:
    return _need_str("endswith", text).endswith(_need_str("endswith", suffix))


def _contains(container: Any, item: Any) -> bool:
    """`item in container` for strings, lists and objects only (no Python protocol calls)."""
    if isinstance(container, str):
        if not isinstance(item, str):
            raise _Fail(f"cannot look for {_type_name(item)} in a string", _hint_for(item))
        return item in container
    if isinstance(container, (list, tuple)):
        return item in container
    if isinstance(container, (dict, set, frozenset)):
        try:
            return item in container
        except TypeError:
            kinds = f"{_type_name(item)} in a {_type_name(container)}"
            raise _Fail(f"cannot look up a {kinds}") from None
    raise _Fail(
        f"cannot look inside {_type_name(container)}; need a string, list or object",
        _hint_for(container),
    )


#: name -> (fewest arguments, most arguments or None for any, implementation)
_FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Any]]] = {
    "len": (1, 1, _fn_len),
    "str": (1, 1, _to_text),
    "int": (1, 1, _fn_int),
    "float": (1, 1, _fn_float),
    "bool": (1, 1, bool),
    "abs": (1, 1, _fn_abs),
    "min": (1, None, lambda *args: _extreme("min", min, args)),
    "max": (1, None, lambda *args: _extreme("max", max, args)),
    "round": (1, 2, _fn_round),
    "sum": (1, 1, _fn_sum),
    "any": (1, 1, lambda v: any(_need_collection("any", v, (list, tuple, set, dict)))),
    "all": (1, 1, lambda v: all(_need_collection("all", v, (list, tuple, set, dict)))),
    "sorted": (1, 1, _fn_sorted),
    "lower": (1, 1, lambda v: _need_str("lower", v).lower()),
    "upper": (1, 1, lambda v: _need_str("upper", v).upper()),
    "strip": (1, 1, lambda v: _need_str("strip", v).strip()),
    "startswith": (2, 2, _fn_startswith),
    "endswith": (2, 2, _fn_endswith),
    "contains": (2, 2, _contains),
}

#: The functions a condition may call, e.g. `len(state.items) > 0`, `lower(state.name) == "bob"`.
ALLOWED_FUNCTIONS: frozenset[str] = frozenset(_FUNCTIONS)

# --- operators ----------------------------------------------------------------------------------

_BINARY: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
}
_REFUSED_BINARY = {
    ast.Pow: ("**", "multiply explicitly, e.g. `x * x`"),
    ast.MatMult: ("@", None),
    ast.LShift: ("<<", None),
    ast.RShift: (">>", None),
    ast.BitOr: ("|", "use `or`"),
    ast.BitXor: ("^", None),
    ast.BitAnd: ("&", "use `and`"),
}
_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_COMPARE_SYMBOLS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}


def _arith(symbol: str, fn: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    """Arithmetic on numbers, plus `+` joining and `*` repeating strings/lists, size-capped."""
    if _is_number(left) and _is_number(right):
        try:
            return _check_size(fn(left, right), symbol)
        except ZeroDivisionError:
            hint = "test the divisor first, e.g. `b != 0 and a / b > 1`"
            raise _Fail("division by zero", hint) from None
        except OverflowError:
            raise _Fail(f"'{symbol}' gives a number too large") from None
    sequences = (str, list, tuple)
    size = None
    if symbol == "+" and isinstance(left, sequences) and type(left) is type(right):
        size = len(left) + len(right)
    elif symbol == "*" and isinstance(left, sequences) and isinstance(right, int):
        size = len(left) * max(right, 0)
    elif symbol == "*" and isinstance(right, sequences) and isinstance(left, int):
        size = len(right) * max(left, 0)
    if size is None:
        raise _Fail(
            f"cannot apply '{symbol}' to {_type_name(left)} and {_type_name(right)}",
            _hint_for(left, right),
        )
    if size > MAX_ITEMS:
        raise _Fail(f"'{symbol}' would build {size:,} items; the limit is {MAX_ITEMS:,}")
    return fn(left, right)


def _compare(symbol: str, left: Any, right: Any) -> bool:
    if symbol == "==":
        return bool(left == right)
    if symbol == "!=":
        return bool(left != right)
    if symbol == "in":
        return _contains(right, left)
    if symbol == "not in":
        return not _contains(right, left)
    if symbol in ("is", "is not"):
        exact = left is None or right is None or isinstance(left, bool) or isinstance(right, bool)
        same = left is right if exact else bool(left == right)
        return same if symbol == "is" else not same
    try:
        return bool(_ORDERING[symbol](left, right))
    except TypeError:
        raise _Fail(
            f"cannot compare {_type_name(left)} and {_type_name(right)} with '{symbol}'",
            _hint_for(left, right),
        ) from None


def _index(container: Any, key: Any) -> Any:
    if isinstance(container, dict):
        try:
            return container.get(key)
        except TypeError:
            raise _Fail(f"a {_type_name(key)} cannot be an object key") from None
    if isinstance(container, (list, tuple, str)):
        kind, size = _type_name(container), len(container)
        if not isinstance(key, int) or isinstance(key, bool):
            raise _Fail(f"a {kind} index must be a whole number, got {_type_name(key)}")
        if not -size <= key < size:
            raise _Fail(f"index {key} is out of range for a {kind} of length {size}")
        return container[key]
    raise _Fail(f"cannot index {_type_name(container)}", _hint_for(container))


# --- compiling the syntax tree into closures ------------------------------------------------------

_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Starred: "starred expressions (`*x`) are not allowed",
    ast.NamedExpr: "assignment expressions (`:=`) are not allowed",
    ast.Await: "`await` is not allowed",
    ast.Yield: "`yield` is not allowed",
    ast.YieldFrom: "`yield` is not allowed",
    ast.Slice: "slices such as `a[1:3]` are not supported; index single items, e.g. `a[0]`",
}


class _Compiler:
    """Checks one parsed condition against the whitelist and turns it into nested closures."""

    def __init__(self, text: str, source: str, lead: int) -> None:
        self.text = text
        self.source = source  # what was parsed: `text` on one line, leading blanks removed
        self.raw = source.encode("utf-8")
        self.lead = lead
        self.paths: set[tuple[str, ...]] = set()
        self.functions: set[str] = set()

    def offset(self, node: ast.AST) -> int | None:
        col = getattr(node, "col_offset", None)
        if col is None:
            return None
        return self.lead + len(self.raw[:col].decode("utf-8", "ignore"))

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or self.source

    def refuse(self, node: ast.AST, message: str, hint: str | None = None) -> NoReturn:
        raise ExpressionError(
            f"{message}: `{self.segment(node)}`",
            text=self.text,
            offset=self.offset(node),
            hint=hint,
        )

    def failed(self, node: ast.AST, fail: _Fail) -> ExpressionError:
        shown = self.source.strip()
        where = self.segment(node)
        at = f", at `{where}`" if where != shown else ""
        message = f"condition `{shown}`{at}: {fail.problem}"
        return ExpressionError(message, text=self.text, offset=self.offset(node), hint=fail.hint)

    def check_name(self, node: ast.AST, name: str) -> None:
        if name.startswith("__"):
            self.refuse(node, f"names starting with '__' are not allowed ('{name}')")

    def compile(self, node: ast.AST, depth: int) -> _Eval:
        if depth > MAX_DEPTH:
            self.refuse(node, f"the condition is nested too deeply (more than {MAX_DEPTH} levels)")
        method = getattr(self, f"_c_{type(node).__name__}", None)
        if method is None:
            refused = _REFUSED_NODES.get(type(node), f"{type(node).__name__} is not allowed")
            self.refuse(node, refused)
        result: _Eval = method(node, depth + 1)
        return result

    def guarded(self, node: ast.AST, run: Callable[[Mapping[str, Any]], Any]) -> _Eval:
        """Wrap a step that can fail so the error names the expression and its location."""

        def step(state: Mapping[str, Any]) -> Any:
            try:
                return run(state)
            except _Fail as fail:
                raise self.failed(node, fail) from None

        return step

    # Leaves -----------------------------------------------------------------------------------

    def _c_Constant(self, node: ast.Constant, depth: int) -> _Eval:
        value = node.value
        if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
            self.refuse(node, "number literal too large")
        if value is None or isinstance(value, (bool, int, float, str)):
            return lambda state: value
        kind = {bytes: "bytes literals are", complex: "complex numbers are"}.get(type(value), "`...` is")
        self.refuse(node, f"{kind} not allowed")

    def _c_Name(self, node: ast.Name, depth: int) -> _Eval:
        name = node.id
        self.check_name(node, name)
        if name in LITERAL_NAMES:
            value = LITERAL_NAMES[name]
            return lambda state: value
        if name == "state":
            self.refuse(node, "`state` alone is not a value; name a field, e.g. `state.score`")
        if name in _FUNCTIONS:
            self.refuse(
                node,
                f"'{name}' is a function; call it, e.g. `{name}(...)`",
                f"for a state field named '{name}' write `state.{name}`",
            )
        return self.path(node, (name,))

    def _c_Attribute(self, node: ast.Attribute, depth: int) -> _Eval:
        attrs: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            attrs.append(current.attr)
            current = current.value
        attrs.reverse()
        for attr in attrs:
            self.check_name(node, attr)
        root = current.id if isinstance(current, ast.Name) else None
        if root is None or root in LITERAL_NAMES or root in _FUNCTIONS:
            self.refuse(node, "attribute access is only allowed on state paths such as `state.a.b`")
        self.check_name(current, root)
        return self.path(node, tuple(attrs) if root == "state" else (root, *attrs))

    def path(self, node: ast.AST, path: tuple[str, ...]) -> _Eval:
        """Read a state path: the first name must exist; below it a missing key reads as null."""
        self.paths.add(path)
        first, rest = path[0], path[1:]

        def read(state: Mapping[str, Any]) -> Any:
            try:
                value = state[first]
            except KeyError:
                close = difflib.get_close_matches(first, [str(k) for k in state], n=1)
                hint = f"did you mean '{close[0]}'?" if close else None
                raise _Fail(f"unknown field '{first}'", hint) from None
            for depth, key in enumerate(rest):
                if value is None:
                    return None
                if not isinstance(value, Mapping):
                    where = ".".join(path[: depth + 1])
                    kind = _type_name(value)
                    raise _Fail(f"'{where}' is a {kind}, not an object; it has no field '{key}'")
                value = value.get(key)
            return value

        return self.guarded(node, read)

    # Operators ----------------------------------------------------------------------------------

    def _c_BoolOp(self, node: ast.BoolOp, depth: int) -> _Eval:
        parts = [self.compile(v, depth) for v in node.values]
        if isinstance(node.op, ast.And):

            def run_and(state: Mapping[str, Any]) -> Any:
                value: Any = True
                for part in parts:
                    value = part(state)
                    if not value:
                        return value
                return value

            return run_and

        def run_or(state: Mapping[str, Any]) -> Any:
            value: Any = False
            for part in parts:
                value = part(state)
                if value:
                    return value
            return value

        return run_or

    def _c_UnaryOp(self, node: ast.UnaryOp, depth: int) -> _Eval:
        operand = self.compile(node.operand, depth)
        if isinstance(node.op, ast.Not):
            return lambda state: not operand(state)
        if isinstance(node.op, ast.Invert):
            self.refuse(node, "operator '~' is not allowed", "use `not` to negate a condition")
        negate = isinstance(node.op, ast.USub)

        def sign(state: Mapping[str, Any]) -> Any:
            value = operand(state)
            if not _is_number(value):
                symbol = "-" if negate else "+"
                problem = f"cannot apply unary '{symbol}' to {_type_name(value)}"
                raise _Fail(problem, _hint_for(value))
            return -value if negate else +value

        return self.guarded(node, sign)

    def _c_BinOp(self, node: ast.BinOp, depth: int) -> _Eval:
        if type(node.op) in _REFUSED_BINARY:
            symbol, hint = _REFUSED_BINARY[type(node.op)]
            self.refuse(node, f"operator '{symbol}' is not allowed", hint)
        symbol, fn = _BINARY[type(node.op)]
        left, right = self.compile(node.left, depth), self.compile(node.right, depth)
        return self.guarded(node, lambda state: _arith(symbol, fn, left(state), right(state)))

    def _c_Compare(self, node: ast.Compare, depth: int) -> _Eval:
        first = self.compile(node.left, depth)
        symbols = [_COMPARE_SYMBOLS[type(op)] for op in node.ops]
        rest = [self.compile(c, depth) for c in node.comparators]

        def compare(state: Mapping[str, Any]) -> bool:
            left = first(state)
            for symbol, part in zip(symbols, rest):
                right = part(state)
                if not _compare(symbol, left, right):
                    return False
                left = right
            return True

        return self.guarded(node, compare)

    def _c_IfExp(self, node: ast.IfExp, depth: int) -> _Eval:
        test, body, orelse = (self.compile(n, depth) for n in (node.test, node.body, node.orelse))
        return lambda state: body(state) if test(state) else orelse(state)

    # Displays, indexing, calls -----------------------------------------------------------------

    def _c_List(self, node: ast.List, depth: int) -> _Eval:
        items = [self.compile(e, depth) for e in node.elts]
        return lambda state: [item(state) for item in items]

    def _c_Tuple(self, node: ast.Tuple, depth: int) -> _Eval:
        items = [self.compile(e, depth) for e in node.elts]
        return lambda state: tuple(item(state) for item in items)

    def _c_Set(self, node: ast.Set, depth: int) -> _Eval:
        items = [self.compile(e, depth) for e in node.elts]

        def build(state: Mapping[str, Any]) -> set[Any]:
            values = [item(state) for item in items]
            try:
                return set(values)
            except TypeError:
                problem = "lists and objects cannot be members of a set {...}; use a list [...]"
                raise _Fail(problem) from None

        return self.guarded(node, build)

    def _c_Dict(self, node: ast.Dict, depth: int) -> _Eval:
        if any(k is None for k in node.keys):
            self.refuse(node, "`**` unpacking is not allowed")
        keys = [self.compile(k, depth) for k in node.keys if k is not None]
        values = [self.compile(v, depth) for v in node.values]

        def build(state: Mapping[str, Any]) -> dict[Any, Any]:
            pairs = [(k(state), v(state)) for k, v in zip(keys, values)]
            try:
                return dict(pairs)
            except TypeError:
                raise _Fail("lists and objects cannot be object keys") from None

        return self.guarded(node, build)

    def _c_Subscript(self, node: ast.Subscript, depth: int) -> _Eval:
        container = self.compile(node.value, depth)
        key = self.compile(node.slice, depth)
        return self.guarded(node, lambda state: _index(container(state), key(state)))

    def _c_Call(self, node: ast.Call, depth: int) -> _Eval:
        func = node.func
        if isinstance(func, ast.Attribute):
            name = func.attr if func.attr in _FUNCTIONS else "lower"
            self.refuse(
                node,
                "method calls are not allowed",
                f"use the function form, e.g. `{name}(x)` instead of `x.{name}()`",
            )
        if not isinstance(func, ast.Name):
            self.refuse(node, "only named functions can be called")
        name = func.id
        self.check_name(func, name)
        if name not in _FUNCTIONS:
            close = difflib.get_close_matches(name, sorted(_FUNCTIONS), n=1)
            hint = (f"did you mean '{close[0]}'? " if close else "") + "allowed: " + ", ".join(
                sorted(_FUNCTIONS)
            )
            self.refuse(node, f"unknown function '{name}'", hint)
        if node.keywords:
            self.refuse(node, f"keyword arguments are not allowed in {name}()")
        fewest, most, fn = _FUNCTIONS[name]
        count = len(node.args)
        if count < fewest or (most is not None and count > most):
            if fewest == most:
                wanted = str(fewest)
            else:
                wanted = f"{fewest} to {most}" if most else f"{fewest} or more"
            self.refuse(node, f"{name}() takes {wanted} argument(s), got {count}")
        self.functions.add(name)
        args = [self.compile(a, depth) for a in node.args]
        return self.guarded(node, lambda state: fn(*(arg(state) for arg in args)))


# --- public entry points ------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A parsed, whitelisted condition; evaluate it as often as needed."""

    text: str
    #: State paths it reads, without a leading "state": `state.a.b` -> ("a", "b").
    paths: frozenset[tuple[str, ...]]
    #: Names of the functions it calls.
    functions: frozenset[str]
    _run: _Eval = field(repr=False, compare=False)

    def evaluate(self, state: Mapping[str, Any]) -> Any:
        """The condition's value on `state`; raises ExpressionError naming the problem."""
        try:
            return self._run(state)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ArithmeticError, LookupError, RecursionError) as exc:
            # A safety net: every known failure is reported above with its location.
            message = f"cannot evaluate condition `{self.text}`: {exc}"
            raise ExpressionError(message, text=self.text) from None

    def truthy(self, state: Mapping[str, Any]) -> bool:
        """Whether the route is taken: the value's truth, as in Python (0, "", [] are false)."""
        return bool(self.evaluate(state))


def _syntax_hint(text: str) -> str | None:
    if "&&" in text or "||" in text:
        return "use `and` / `or` instead of `&&` / `||`"
    if "===" in text:
        return "use `==`"
    if re.search(r"!(?!=)", text):
        return "use `not x` instead of `!x`"
    if "#" in text:
        return "comments (#) are not allowed in conditions"
    return None


@functools.lru_cache(maxsize=2048)
def _parse(text: str) -> Condition:
    if len(text) > MAX_TEXT_LENGTH:
        raise ExpressionError(
            f"the condition is too long ({len(text):,} characters;"
            f" the limit is {MAX_TEXT_LENGTH:,})",
            text=text[:80] + "...",
        )
    # One line, so a YAML block scalar may span lines; same length, so offsets still match.
    flat = text.replace("\r", " ").replace("\n", " ")
    source = flat.lstrip(" \t\f")
    lead = len(flat) - len(source)
    if not source.strip():
        raise ExpressionError(
            "the condition is empty",
            text=text,
            hint="write an expression such as `state.score >= 8`; the fallback route is `default`",
        )
    try:
        with warnings.catch_warnings():
            # Python warns about escapes like "\d"; such strings keep their backslash.
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        offset = lead + exc.offset - 1 if exc.offset else None
        if offset is not None:
            offset = max(0, min(offset, len(text)))
        raise ExpressionError(
            f"invalid condition syntax: {exc.msg}",
            text=text,
            offset=offset,
            hint=_syntax_hint(text),
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"cannot parse the condition: {exc}", text=text) from None
    compiler = _Compiler(text, source, lead)
    # The parser drops a trailing comment, which on one line would swallow the rest of the text.
    end = tree.body.end_col_offset or 0
    tail = compiler.raw[end:].decode("utf-8", "ignore")
    if "#" in tail:
        offset = lead + len(compiler.raw[:end].decode("utf-8", "ignore")) + tail.index("#")
        raise ExpressionError("comments (#) are not allowed in conditions", text=text, offset=offset)
    run = compiler.compile(tree.body, 1)
    return Condition(text, frozenset(compiler.paths), frozenset(compiler.functions), run)


def parse_condition(text: str) -> Condition:
    """Parse and check a condition once (results are cached by text); raises ExpressionError."""
    if not isinstance(text, str):
        raise ExpressionError(
            f"a condition must be a string, got {type(text).__name__}",
            hint="quote it in YAML, e.g. logic: \"state.done == true\"",
        )
    return _parse(text)
