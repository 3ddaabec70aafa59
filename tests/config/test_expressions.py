"""Tests of the safe condition evaluator: what it accepts, what it refuses, how it fails."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cagents.config import expressions
from cagents.config.expressions import (
    ALLOWED_FUNCTIONS,
    MAX_DEPTH,
    MAX_TEXT_LENGTH,
    Condition,
    ExpressionError,
    parse_condition,
)
from cagents.errors import CagentsError

STATE: dict[str, Any] = {
    "score": 9,
    "label": "a",
    "done": False,
    "items": ["x", "y"],
    "a": 1,
    "b": 4,
    "review": {"approved": True, "notes": None},
    "d": {"k": 1},
    "name": "Bob",
    "text": "this is urgent",
    "missing": None,
    "ratio": 0.5,
    "empty": [],
}


def evaluate(text: str, state: dict[str, Any] | None = None) -> Any:
    return parse_condition(text).evaluate(STATE if state is None else state)


def refusal(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        parse_condition(text)
    return info.value


def failure(text: str, state: dict[str, Any] | None = None) -> ExpressionError:
    condition = parse_condition(text)
    with pytest.raises(ExpressionError) as info:
        condition.evaluate(STATE if state is None else state)
    return info.value


# --- accepted conditions and their values ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('state.score >= 8 and state.label in ["a", "b"]', True),
        ("not state.done", True),
        ("len(state.items) > 0", True),
        ("(state.a + 1) * 2 == state.b", True),
        ("state.review.approved == true", True),
        ('state.items[0] == "x"', True),
        ('state.d["k"] != null', True),
        ('lower(state.name) == "bob"', True),
        ('contains(state.text, "urgent")', True),
        ("0 < score < 10", True),
        ("0 < score < 5", False),
        ("score if done else a", 1),
        ("state.items[-1]", "y"),
        ("state.b / 8", 0.5),
        ("state.b // 3", 1),
        ("state.b % 3", 1),
        ("-state.a + +state.b", 3),
        ('"x" not in items', False),
        ('"k" in d', True),
        ("label + name", "aBob"),
        ('["a"] + items', ["a", "x", "y"]),
        ('"ab" * 2', "abab"),
        ("(1, 2) == (1, 2)", True),
        ("{1, 2} == {2, 1}", True),
        ('{"k": 1} == d', True),
        ("state.done or state.score", 9),
        ("state.done and state.score", False),
        ("int('42') + float('0.5')", 42.5),
        ("str(3) + str(true) + str(null) + str([1, 'é'])", '3truenull[1, "é"]'),
        ("bool(empty) or abs(-2)", 2),
        ("max(3, 7, 5) - min([4, 2])", 5),
        ("round(2.567, 2)", 2.57),
        ("round(2.5)", 2),
        ("sum([1, 2, 3.5])", 6.5),
        ("any([false, 0, 1]) and not all([1, 0])", True),
        ('sorted(["b", "a"])', ["a", "b"]),
        ('upper(strip("  hi  "))', "HI"),
        ('startswith(name, "Bo") and endswith(name, "ob")', True),
        ("contains(items, 'x') and contains(d, 'k')", True),
        ("len(d) + len(text)", 15),
        ("True and not False and None is null", True),
        ("ratio == 0.5", True),
    ],
)
def test_accepted_conditions_evaluate(text: str, expected: Any) -> None:
    assert evaluate(text) == expected


def test_multi_line_condition_from_a_yaml_block() -> None:
    condition = parse_condition("state.score >= 8\n  and not state.done\r\n")
    assert condition.evaluate(STATE) is True


def test_leading_blanks_are_fine() -> None:
    assert evaluate("   \tstate.score > 1") is True


def test_paths_and_functions_are_exposed() -> None:
    condition = parse_condition(
        'state.review.approved and len(items) > 0 and lower(state.name) == "x" or d["k"] > 1'
    )
    assert condition.paths == frozenset({("review", "approved"), ("items",), ("name",), ("d",)})
    assert condition.functions == frozenset({"len", "lower"})


def test_bare_name_and_state_prefix_are_the_same_path() -> None:
    assert parse_condition("a.b").paths == parse_condition("state.a.b").paths == {("a", "b")}


def test_a_field_named_state_is_reachable_as_state_state() -> None:
    assert parse_condition("state.state == 1").evaluate({"state": 1}) is True


def test_literal_names_are_not_paths() -> None:
    condition = parse_condition("true and not false and null == none and x")
    assert condition.paths == frozenset({("x",)})
    assert condition.evaluate({"x": 5}) == 5


def test_default_is_read_as_a_bare_path() -> None:
    assert parse_condition("default").paths == frozenset({("default",)})


def test_missing_nested_key_reads_as_null() -> None:
    assert evaluate("state.review.missing_key") is None
    assert evaluate("state.review.notes.deeper") is None
    assert evaluate('state.d["nope"] == null') is True


def test_is_compares_identity_with_literals_and_equality_otherwise() -> None:
    assert evaluate("state.missing is null") is True
    assert evaluate("state.done is not true") is True
    assert evaluate("0 is false") is False
    assert evaluate('label is "a"') is True


def test_short_circuit_skips_the_unsafe_side() -> None:
    assert evaluate("state.missing != null and state.missing > 3") is False
    assert evaluate("true or unknown_field > 1") is True


def test_truthy() -> None:
    assert parse_condition("state.empty").truthy(STATE) is False
    assert parse_condition("state.items").truthy(STATE) is True


def test_allowed_functions_are_the_documented_set() -> None:
    assert ALLOWED_FUNCTIONS == {
        "len", "str", "int", "float", "bool", "abs", "min", "max", "round", "sum", "any",
        "all", "sorted", "lower", "upper", "strip", "startswith", "endswith", "contains",
    }  # fmt: skip


def test_parsed_conditions_are_cached() -> None:
    text = "state.score >= 8 and state.a == 11"
    first = parse_condition(text)
    assert parse_condition(text) is first
    assert isinstance(first, Condition)


def test_conditions_compare_by_text() -> None:
    first = parse_condition("a == 1")
    expressions._parse.cache_clear()
    again = parse_condition("a == 1")
    assert again is not first and again == first
    assert parse_condition("a == 1") != parse_condition("a == 2")


# --- refused at parse time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("state.name.upper()", "method calls are not allowed"),
        ("lambda: 1", "lambda functions are not allowed"),
        ("[i for i in items]", "comprehensions are not allowed"),
        ("{k: 1 for k in d}", "comprehensions are not allowed"),
        ("any(x for x in items)", "comprehensions are not allowed"),
        ('f"{score}"', "f-strings are not allowed"),
        ("[*items]", "starred expressions"),
        ("len(*items)", "starred expressions"),
        ("(x := 1)", "assignment expressions"),
        ('"a".__class__', "names starting with '__'"),
        ("state.__dict__", "names starting with '__'"),
        ('__import__("os")', "names starting with '__'"),
        ("(1).real", "attribute access is only allowed on state paths"),
        ("len.x", "attribute access is only allowed on state paths"),
        ("true.x", "attribute access is only allowed on state paths"),
        ("round(score, ndigits=1)", "keyword arguments are not allowed"),
        ("eval('1')", "unknown function 'eval'"),
        ("(lambda: 1)()", "only named functions can be called"),
        ("state", "`state` alone is not a value"),
        ("len", "'len' is a function"),
        ("2 ** 10", "operator '**' is not allowed"),
        ("a | b", "operator '|' is not allowed"),
        ("a & b", "operator '&' is not allowed"),
        ("a << 2", "operator '<<' is not allowed"),
        ("~a", "operator '~' is not allowed"),
        ("items[0:1]", "slices"),
        ("1j", "complex numbers are not allowed"),
        ('b"x"', "bytes literals are not allowed"),
        ("...", "`...` is not allowed"),
        ("{**d}", "`**` unpacking is not allowed"),
        ("len(items, 1)", "len() takes 1 argument(s), got 2"),
        ("startswith(name)", "startswith() takes 2 argument(s), got 1"),
        ("round()", "round() takes 1 to 2 argument(s), got 0"),
        ("min()", "min() takes 1 or more argument(s), got 0"),
        ("9" * 1300, "number literal too large"),
    ],
)
def test_refused_constructs(text: str, fragment: str) -> None:
    error = refusal(text)
    assert fragment in error.message
    assert error.text == text


def test_refusal_points_at_the_offending_part() -> None:
    text = "state.score > 1 and state.name.upper() == 'X'"
    error = refusal(text)
    assert error.offset == text.index("state.name")
    assert "`state.name.upper()`" in error.message
    assert error.hint == "use the function form, e.g. `upper(x)` instead of `x.upper()`"


def test_offsets_count_characters_not_bytes() -> None:
    text = 'state.name == "héllo wörld" or x.lower()'
    assert refusal(text).offset == text.index("x.lower")


def test_offsets_account_for_leading_blanks_and_lines() -> None:
    text = "  a > 1 and\n  b.strip()"
    assert refusal(text).offset == text.index("b.strip")


def test_unknown_function_suggests_a_close_name() -> None:
    error = refusal("lenght(items) > 1")
    assert error.hint is not None and error.hint.startswith("did you mean 'len'?")


def test_function_name_used_as_field_hints_at_state_prefix() -> None:
    assert refusal("len > 1").hint == "for a state field named 'len' write `state.len`"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("a && b", "use `and` / `or` instead of `&&` / `||`"),
        ("a || b", "use `and` / `or` instead of `&&` / `||`"),
        ("!a", "use `not x` instead of `!x`"),
        ("a === b", "use `==`"),
    ],
)
def test_syntax_errors_get_hints(text: str, hint: str) -> None:
    error = refusal(text)
    assert error.message.startswith("invalid condition syntax")
    assert error.hint == hint


def test_syntax_error_offset() -> None:
    text = "state.score >= (8"
    error = refusal(text)
    assert error.offset == text.index("(")


@pytest.mark.parametrize("text", ["a = 1", "a >", "if a: b", "import os", "a; b", "\x00"])
def test_invalid_syntax_is_an_expression_error(text: str) -> None:
    refusal(text)


def test_comments_are_refused() -> None:
    text = "state.score > 1 # and state.done"
    error = refusal(text)
    assert "comments (#) are not allowed" in error.message
    assert error.offset == text.index("#")


def test_a_hash_inside_a_string_is_not_a_comment() -> None:
    assert evaluate('"#" + label == "#a"') is True
    text = 'label != "#" # why'
    assert refusal(text).offset == text.rindex("#")


def test_unknown_escapes_keep_their_backslash_without_warning() -> None:
    text = r'contains("a\d", "\d") and "\d" == "\\d"'
    assert evaluate(text, {}) is True


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_condition(text: str) -> None:
    assert "empty" in refusal(text).message


def test_too_long_text() -> None:
    error = refusal("a" * (MAX_TEXT_LENGTH + 1))
    assert "too long" in error.message


def test_longest_allowed_text_parses() -> None:
    text = "a == " + '"' + "x" * (MAX_TEXT_LENGTH - 7) + '"'
    assert len(text) == MAX_TEXT_LENGTH
    assert parse_condition(text).paths == {("a",)}


@pytest.mark.parametrize(
    "text",
    [
        "-" * 200 + "1",
        "not " * 400 + "a",
        " + ".join(["a"] * 60),
        "[" * 60 + "]" * 60,
        "len(" * 60 + "a" + ")" * 60,
    ],
)
def test_deep_nesting_is_refused(text: str) -> None:
    assert f"nested too deeply (more than {MAX_DEPTH} levels)" in refusal(text).message


def test_parser_nesting_limit_is_an_expression_error() -> None:
    assert "invalid condition syntax" in refusal("(" * 300 + "a" + ")" * 300).message


def test_nesting_just_under_the_limit_is_fine() -> None:
    assert evaluate("-" * (MAX_DEPTH - 2) + "1") == 1


def test_non_string_condition() -> None:
    with pytest.raises(ExpressionError, match="must be a string, got bool"):
        parse_condition(True)  # type: ignore[arg-type]


def test_error_type_and_shape() -> None:
    error = refusal("x.upper()")
    assert isinstance(error, ValueError) and isinstance(error, CagentsError)
    assert error.to_dict() == {
        "error": "ExpressionError",
        "message": error.message,
        "text": "x.upper()",
        "offset": 0,
        "hint": error.hint,
    }
    assert str(error) == f"{error.message} ({error.hint})"


# --- run-time failures -----------------------------------------------------------------------


def test_unknown_top_level_field() -> None:
    error = failure("scor > 1")
    assert "unknown field 'scor'" in error.message
    assert error.hint == "did you mean 'score'?"
    assert error.offset == 0


def test_comparing_null_with_a_number_names_both_types() -> None:
    error = failure("state.score > 1 and state.missing < 3")
    assert "cannot compare None and int with '<'" in error.message
    assert "condition `state.score > 1 and state.missing < 3`" in error.message
    assert "at `state.missing < 3`" in error.message
    assert error.hint is not None and "may not be set yet" in error.hint
    assert error.offset == len("state.score > 1 and ")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('score < "9"', "cannot compare int and str with '<'"),
        ("d > d", "cannot compare dict and dict with '>'"),
        ("score / 0", "division by zero"),
        ("score // 0", "division by zero"),
        ("score % 0", "division by zero"),
        ("items[5]", "index 5 is out of range for a list of length 2"),
        ('items["0"]', "a list index must be a whole number, got str"),
        ("missing[0]", "cannot index None"),
        ("score[0]", "cannot index int"),
        ("label + 1", "cannot apply '+' to str and int"),
        ("items - items", "cannot apply '-' to list and list"),
        ('"a" % score', "cannot apply '%' to str and int"),
        ("-label", "cannot apply unary '-' to str"),
        ("name.first", "'name' is a str, not an object; it has no field 'first'"),
        ('score in "abc"', "cannot look for int in a string"),
        ("1 in score", "cannot look inside int"),
        ('[1] in {"a": 1}', "cannot look up a list in a dict"),
        ("{items}", "cannot be members of a set"),
        ("{items: 1}", "cannot be object keys"),
        ('d[["k"]]', "a list cannot be an object key"),
        ("len(score)", "len() needs one of str, list, tuple, dict, set, got int"),
        ("lower(missing)", "lower() needs a string, got None"),
        ('int("abc")', "int() cannot convert the string 'abc'"),
        ("int(missing)", "int() cannot convert None"),
        ("int(1e400)", "int() cannot convert float"),
        ('float("x")', "float() cannot convert the string 'x'"),
        ("abs(label)", "abs() needs a number, got str"),
        ("min(empty)", "min() of an empty list"),
        ('max([1, "a"])', "max() cannot compare int, str"),
        ("max(score)", "max() needs one of list, tuple, set, got int"),
        ("round(ratio, 1000)", "round() needs a whole number of digits"),
        ("round(1e400)", "round() cannot round float"),
        ('sum(["a"])', "sum() needs a list of numbers, found str"),
        ('sorted([1, "a"])', "sorted() cannot order a mix of int, str"),
        ("any(score)", "any() needs one of list, tuple, set, dict, got int"),
        ("startswith(name, 1)", "startswith() needs a string, got int"),
        ("contains(missing, 'x')", "cannot look inside None"),
    ],
)
def test_run_time_errors(text: str, fragment: str) -> None:
    assert fragment in failure(text).message


@pytest.mark.parametrize(
    "text",
    ['"a" * 1000001', "[0] * 2000000", "2000000 * [0]", '"ab" * 600000 + "x"'],
)
def test_repetition_is_capped(text: str) -> None:
    assert "the limit is 1,000,000" in failure(text).message


def test_repetition_at_the_cap_is_allowed() -> None:
    assert evaluate('len("a" * 1000000)') == 1_000_000


def test_huge_numbers_are_refused() -> None:
    big = "9" * 700
    assert "'*' gives a number too large" in failure(f"{big} * {big}").message
    assert evaluate(f"{big} + {big} > 0") is True


def test_float_overflow_is_reported() -> None:
    big = "1" + "0" * 400
    assert "'/' gives a number too large" in failure(f"{big} / 3").message
    assert evaluate("1e308 * 10 > 1e308") is True  # floats overflow to inf, as in JSON


def test_python_objects_in_state_are_not_read_through_attributes() -> None:
    touched: list[str] = []

    class Spy:
        def __getattr__(self, name: str) -> Any:
            touched.append(name)
            return "secret"

    error = failure("state.obj.secret == 'secret'", {"obj": Spy()})
    assert "'obj' is a Spy, not an object" in error.message
    assert touched == []


def test_state_must_be_consulted_at_run_time_only() -> None:
    condition = parse_condition("later > 1")
    assert condition.evaluate({"later": 2}) is True
    with pytest.raises(ExpressionError, match="unknown field 'later'"):
        condition.evaluate({})


# --- properties ----------------------------------------------------------------------------

TOKENS = [
    "state.a", "b", "items", "d", "missing", "text", "1", "0", "-1", "2.5", "1e308", '"s"',
    "null", "true", "+", "-", "*", "/", "//", "%", "<", "==", "!=", ">=", "in", "not", "and",
    "or", "is", "(", ")", "[", "]", ",", "{", "}", ":", "len(", "min(", "max(", "int(",
    "str(", "sorted(", "contains(", "lower(", "round(", "sum(", "abs(", "float(", "if",
    "else", ".x", "[0]",
]  # fmt: skip
FUZZ_STATE: dict[str, Any] = {
    "a": 3,
    "b": [1, "two", None, {"x": 1}],
    "items": ["p", "q"],
    "d": {"x": [1, 2], "k": None},
    "missing": None,
    "text": "hello",
}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_fails_only_with_expression_error(text: str) -> None:
    try:
        parse_condition(text)
    except ExpressionError:
        pass


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14).map(" ".join))
def test_expression_like_text_fails_only_with_expression_error(text: str) -> None:
    try:
        condition = parse_condition(text)
    except ExpressionError:
        return
    try:
        condition.truthy(FUZZ_STATE)
    except ExpressionError:
        pass
