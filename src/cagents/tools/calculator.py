"""`calculator`: arithmetic through a whitelist interpreter over the AST (never `eval`)."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from cagents.tools.schema_from_hints import tool_from_function
from cagents.tools.tool import Tool, ToolFailure

__all__ = ["TOOLS", "evaluate"]

Number = int | float

MAX_EXPRESSION_CHARS = 1_000
MAX_EXPONENT = 1_000
MAX_INT_BITS = 10_000  # about 3,000 decimal digits

_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
_FUNCTIONS: dict[str, Callable[..., Number]] = {
    "sqrt": math.sqrt,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "floor": math.floor,
    "ceil": math.ceil,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_SYMBOLS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}


class _Refused(Exception):
    """Something the calculator does not do; the message says what is allowed."""


def evaluate(expression: str) -> Number:
    """The value of an arithmetic expression, or `ToolFailure` saying what is not allowed."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolFailure(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
        value = _eval(tree.body)
    except SyntaxError as exc:
        raise ToolFailure(f"not a valid expression: {exc.msg}") from exc
    except (RecursionError, MemoryError) as exc:
        raise ToolFailure("expression is nested too deeply") from exc
    except _Refused as exc:
        raise ToolFailure(str(exc)) from exc
    except ZeroDivisionError as exc:
        raise ToolFailure("division by zero") from exc
    except OverflowError as exc:
        raise ToolFailure("the result is too large") from exc
    except (ValueError, TypeError) as exc:
        raise ToolFailure(f"cannot compute: {exc}") from exc
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolFailure("the result is not a finite number")
    return value


def _eval(node: ast.AST) -> Number:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return _bounded(node.value)
        raise _Refused(f"only numbers are allowed, not {node.value!r}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _eval(node.operand)
        return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        _precheck(node.op, left, right)
        return _bounded(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise _Refused(f"unknown name '{node.id}'; known constants: {', '.join(_CONSTANTS)}")
    if isinstance(node, ast.Call):
        return _call(node)
    raise _Refused(
        f"{type(node).__name__} is not allowed; use numbers, + - * / // % **, parentheses "
        f"and the functions {', '.join(_FUNCTIONS)}"
    )


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name):
        raise _Refused(
            f"only plain function calls are allowed ({type(node.func).__name__} is not); "
            f"use one of {', '.join(_FUNCTIONS)}"
        )
    if node.func.id not in _FUNCTIONS:
        raise _Refused(
            f"function '{node.func.id}' is not available; use one of {', '.join(_FUNCTIONS)}"
        )
    if node.keywords:
        raise _Refused(f"{node.func.id}() takes positional arguments only")
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        raise _Refused("* unpacking is not allowed")
    args = [_eval(arg) for arg in node.args]
    if node.func.id == "round" and len(args) == 2 and not isinstance(args[1], int):
        raise _Refused("round(x, n) needs a whole number n")
    return _bounded(_FUNCTIONS[node.func.id](*args))


def _precheck(op: ast.operator, left: Number, right: Number) -> None:
    """Refuse an operation whose result would be huge, before computing it."""
    if isinstance(op, ast.Pow):
        if abs(right) > MAX_EXPONENT:
            raise _Refused(f"exponent {right} is too large (at most {MAX_EXPONENT} in size)")
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and right > 0
            and left.bit_length() * right > MAX_INT_BITS
        ):
            raise _Refused("the result would be too large")
    elif isinstance(op, ast.Mult) and isinstance(left, int) and isinstance(right, int):
        bits = left.bit_length() + right.bit_length()
        if bits > MAX_INT_BITS:
            raise _Refused("the result would be too large")


def _bounded(value: Any) -> Number:
    if isinstance(value, complex):
        raise _Refused("the result is a complex number")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _Refused("the result is too large")
    if not isinstance(value, (int, float)):
        raise _Refused(f"the result is a {type(value).__name__}, not a number")
    return value


def calculator(expression: str) -> Number:
    """Evaluate an arithmetic expression, e.g. `sqrt(2) * (3 + 4) ** 2`.

    Args:
        expression: Numbers, + - * / // % **, parentheses and sqrt log log10 exp sin cos tan
            floor ceil abs round min max pi e.
    """
    return evaluate(expression)


TOOLS: tuple[Tool, ...] = (tool_from_function(calculator),)
