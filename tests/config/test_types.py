"""The type mini-language: parsing, value checks, type compatibility, paths, JSON Schema, coercion."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from cagents.config import TypeSpec, parse_type
from cagents.config.types import ANY, TypeSyntaxError

STR, INT, FLOAT, BOOL = TypeSpec("str"), TypeSpec("int"), TypeSpec("float"), TypeSpec("bool")


def list_of(item: TypeSpec) -> TypeSpec:
    return TypeSpec("list", item=item)


def dict_of(value: TypeSpec) -> TypeSpec:
    return TypeSpec("dict", key=STR, value=value)


def obj(**fields: TypeSpec) -> TypeSpec:
    return TypeSpec("object", fields=tuple(fields.items()))


# ---- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("str", STR), ("int", INT), ("float", FLOAT), ("bool", BOOL),
        ("list", TypeSpec("list")), ("dict", TypeSpec("dict")), ("object", TypeSpec("object")),
        ("list[str]", list_of(STR)),
        ("list[list[int]]", list_of(list_of(INT))),
        ("dict[str, int]", dict_of(INT)),
        ("dict[str,int]", dict_of(INT)),
        ("  dict[ str , list[ float ] ]  ", dict_of(list_of(FLOAT))),
        ("list[dict[str, bool]]", list_of(dict_of(BOOL))),
        ("list[object]", list_of(TypeSpec("object"))),
        ("Any", ANY),
    ],
)
def test_parse_type(text: str, expected: TypeSpec) -> None:
    assert parse_type(text) == expected


@pytest.mark.parametrize(
    ("synonym", "canonical"),
    [("string", "str"), ("integer", "int"), ("number", "float"), ("boolean", "bool"),
     ("array", "list"), ("List", "list"), ("Dict", "dict"), ("mapping", "dict")],
)
def test_synonyms_from_json_schema_and_typing(synonym: str, canonical: str) -> None:
    assert parse_type(synonym) == parse_type(canonical)
    assert parse_type(f"list[{synonym}]") == parse_type(f"list[{canonical}]")


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("strr", "unknown type `strr` in `strr`", "did you mean `str`?"),
        ("list[strr]", "unknown type `strr` in `list[strr]`", "did you mean `str`?"),
        ("integr", "unknown type `integr`", "did you mean `int`?"),
        ("lisst[int]", "unknown type `lisst`", "did you mean `list`?"),
        ("widget", "unknown type `widget`", "types are str, int"),
        ("", "empty type", "write one of"),
        ("   ", "empty type", "write one of"),
        ("list[", "invalid type `list[`: expected a type name", "types are"),
        ("list[int", "invalid type `list[int`: expected `]`", "types are"),
        ("dict[str]", "invalid type `dict[str]`: expected `,`", "types are"),
        ("dict[int, str]", "dict keys must be str", "types are"),
        ("str[int]", "`str` takes no parameters", "types are"),
        ("list[int]]", "unexpected `]` after `list[int]`", "types are"),
        ("list[int] x", "unexpected `x` after `list[int]", "types are"),
        ("[int]", "expected a type name", "types are"),
        ("list<int>", "unexpected `<int>` after `list`", "types are"),
    ],
)
def test_parse_errors_say_what_and_how(text: str, message: str, hint: str) -> None:
    with pytest.raises(TypeSyntaxError) as caught:
        parse_type(text)
    assert message in caught.value.message
    assert caught.value.hint is not None and hint in caught.value.hint


@pytest.mark.parametrize("value", [5, 1.5, None, True, ["str"], {"type": "str"}])
def test_type_must_be_text(value: Any) -> None:
    with pytest.raises(TypeSyntaxError) as caught:
        parse_type(value)
    assert caught.value.message.startswith("a type must be a string")
    assert caught.value.hint is not None and "str, int, float" in caught.value.hint


def test_nesting_is_bounded() -> None:
    assert parse_type("list[" * 20 + "int" + "]" * 20).kind == "list"
    with pytest.raises(TypeSyntaxError) as caught:
        parse_type("list[" * 30 + "int" + "]" * 30)
    assert "nested too deeply" in caught.value.message


def test_very_long_type_text_fails_cleanly() -> None:
    with pytest.raises(TypeSyntaxError):
        parse_type("list[" * 5000)


# ---- object schemas --------------------------------------------------------------------------


def test_object_schema_short_and_long_forms() -> None:
    spec = parse_type("object", {
        "bio": "str",
        "score": {"type": "int", "description": "0-10"},
        "address": {"type": "object", "schema": {"city": "str", "zip": "str"}},
        "tags": "list[str]",
    })
    assert spec == obj(bio=STR, score=INT, address=obj(city=STR, zip=STR), tags=list_of(STR))
    assert spec.children() == ["bio", "score", "address", "tags"]


def test_list_of_object_schema() -> None:
    spec = parse_type("list[object]", {"label": "str", "url": "str"})
    assert spec == list_of(obj(label=STR, url=STR))


@pytest.mark.parametrize(
    ("type_text", "schema", "message"),
    [
        ("str", {"a": "str"}, "`schema` only applies to `object` or `list[object]`, not `str`"),
        ("list[str]", {"a": "str"}, "not `list[str]`"),
        ("object", {}, "must be a non-empty mapping"),
        ("object", ["a", "b"], "must be a non-empty mapping"),
        ("object", {"a": {"description": "x"}}, "schema field `a` has no `type`"),
        ("object", {"a": {"type": "str", "colour": "red"}}, "schema field `a` has unknown key(s): colour"),
        ("object", {"not valid": "str"}, "schema field name 'not valid' is not an identifier"),
        ("object", {"a": "strr"}, "unknown type `strr`"),
        ("object", {"a": {"type": "object", "schema": {"b": "intt"}}}, "unknown type `intt`"),
    ],
)
def test_object_schema_errors(type_text: str, schema: Any, message: str) -> None:
    with pytest.raises(TypeSyntaxError) as caught:
        parse_type(type_text, schema)
    assert message in caught.value.message


def test_object_schema_nesting_is_bounded() -> None:
    schema: dict[str, Any] = {"leaf": "str"}
    for _ in range(30):
        schema = {"inner": {"type": "object", "schema": schema}}
    with pytest.raises(TypeSyntaxError) as caught:
        parse_type("object", schema)
    assert "nested too deeply" in caught.value.message


# ---- text form -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["str", "int", "float", "bool", "list", "dict", "object", "list[str]", "dict[str, int]",
             "list[dict[str, list[float]]]", "any"],
)
def test_str_round_trips(text: str) -> None:
    spec = parse_type(text)
    assert str(spec) == text
    assert parse_type(str(spec)) == spec


# ---- check -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        (STR, "x"), (STR, ""), (INT, 0), (INT, -3), (FLOAT, 1.5), (FLOAT, 2), (BOOL, False),
        (list_of(INT), []), (list_of(INT), [1, 2]), (TypeSpec("list"), [1, "a", None]),
        (dict_of(INT), {"a": 1}), (TypeSpec("dict"), {"a": [1]}), (TypeSpec("object"), {"k": None}),
        (obj(a=STR, b=list_of(INT)), {"a": "x", "b": [1]}),
        (ANY, None), (ANY, {"x": [1]}),
    ],
)
def test_check_accepts_valid_values(spec: TypeSpec, value: Any) -> None:
    assert spec.check(value) == []


@pytest.mark.parametrize(
    ("spec", "value", "problems"),
    [
        (STR, 5, ["value: expected str, got int 5"]),
        (INT, True, ["value: expected int, got bool true"]),
        (INT, 1.5, ["value: expected int, got float 1.5"]),
        (FLOAT, "1.5", ['value: expected float, got str "1.5"']),
        (FLOAT, False, ["value: expected float, got bool false"]),
        (BOOL, "true", ['value: expected bool, got str "true"']),
        (BOOL, None, ["value: expected bool, got null"]),
        (list_of(INT), "1,2", ['value: expected list[int], got str "1,2"']),
        (list_of(INT), [1, "2", 3.5], ['value[1]: expected int, got str "2"', "value[2]: expected int, got float 3.5"]),
        (list_of(list_of(STR)), [["a"], [1]], ["value[1][0]: expected str, got int 1"]),
        (dict_of(INT), {"a": "x"}, ['value.a: expected int, got str "x"']),
        (dict_of(INT), [], ["value: expected dict[str, int], got list []"]),
        (TypeSpec("dict"), {1: "x"}, ["value: keys must be strings, got int 1"]),
        (obj(a=STR, b=INT), {"a": "x"}, ["value.b: missing (declared as int)"]),
        (obj(a=STR), {"a": "x", "z": 1}, ["value.z: not declared in the object schema (declared: a)"]),
        (obj(inner=obj(n=INT)), {"inner": {"n": "1"}}, ['value.inner.n: expected int, got str "1"']),
    ],
)
def test_check_names_every_problem_and_where(spec: TypeSpec, value: Any, problems: list[str]) -> None:
    assert spec.check(value) == problems


def test_check_uses_the_given_name() -> None:
    assert list_of(INT).check(["x"], "state.scores") == ['state.scores[0]: expected int, got str "x"']


def test_check_shortens_long_values() -> None:
    (problem,) = INT.check("x" * 500)
    assert problem.startswith("value: expected int, got str \"xxx")
    assert "..." in problem and len(problem) < 80


# ---- accepts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "source", "ok"),
    [
        (FLOAT, INT, True),
        (INT, FLOAT, False),
        (STR, INT, False),
        (INT, BOOL, False),
        (ANY, list_of(STR), True),
        (STR, ANY, True),
        (list_of(FLOAT), list_of(INT), True),
        (list_of(INT), list_of(STR), False),
        (list_of(STR), TypeSpec("list"), True),
        (TypeSpec("list"), list_of(STR), True),
        (list_of(list_of(INT)), list_of(list_of(STR)), False),
        (dict_of(FLOAT), dict_of(INT), True),
        (dict_of(INT), dict_of(STR), False),
        (TypeSpec("dict"), obj(a=STR), True),
        (dict_of(STR), obj(a=STR, b=STR), True),
        (dict_of(STR), obj(a=STR, b=INT), False),
        (TypeSpec("object"), TypeSpec("dict"), True),
        (obj(a=STR), TypeSpec("dict"), False),
        (obj(a=STR), obj(a=STR), True),
        (obj(a=FLOAT), obj(a=INT), True),
        (obj(a=STR), obj(a=STR, b=STR), False),
        (obj(a=STR), obj(b=STR), False),
        (obj(a=STR), TypeSpec("object"), True),
        (TypeSpec("object"), obj(a=STR), True),
        (list_of(obj(a=STR)), list_of(obj(a=INT)), False),
        (list_of(STR), STR, False),
    ],
)
def test_accepts(target: TypeSpec, source: TypeSpec, ok: bool) -> None:
    assert target.accepts(source) is ok


# ---- resolve -----------------------------------------------------------------------------------


PROFILE = parse_type("object", {
    "name": "str",
    "address": {"type": "object", "schema": {"city": "str"}},
    "links": {"type": "list[object]", "schema": {"url": "str"}},
    "scores": "dict[str, int]",
    "free": "object",
})


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ((), PROFILE),
        (("name",), STR),
        (("address", "city"), STR),
        (("links", 0, "url"), STR),
        (("links", 3), obj(url=STR)),
        (("scores", "any_key"), INT),
        (("free", "whatever", "deep"), ANY),
        (("name", "first"), None),
        (("address", "zip"), None),
        (("missing",), None),
        (("links", "url"), None),
        (("address", 0), None),
        (("scores", "k", "x"), None),
    ],
)
def test_resolve(path: tuple[str | int, ...], expected: TypeSpec | None) -> None:
    assert PROFILE.resolve(path) == expected


def test_resolve_in_untyped_containers() -> None:
    assert TypeSpec("list").resolve((0, "a")) == ANY
    assert TypeSpec("dict").resolve(("a",)) == ANY
    assert ANY.resolve(("a", 1, "b")) == ANY


# ---- JSON Schema ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "schema"),
    [
        (STR, {"type": "string"}),
        (INT, {"type": "integer"}),
        (FLOAT, {"type": "number"}),
        (BOOL, {"type": "boolean"}),
        (TypeSpec("list"), {"type": "array"}),
        (list_of(INT), {"type": "array", "items": {"type": "integer"}}),
        (TypeSpec("dict"), {"type": "object"}),
        (dict_of(BOOL), {"type": "object", "additionalProperties": {"type": "boolean"}}),
        (TypeSpec("object"), {"type": "object"}),
        (obj(a=STR, b=list_of(FLOAT)), {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "array", "items": {"type": "number"}}},
            "required": ["a", "b"],
            "additionalProperties": False,
        }),
        (ANY, {}),
    ],
)
def test_json_schema(spec: TypeSpec, schema: dict[str, Any]) -> None:
    assert spec.json_schema() == schema
    Draft202012Validator.check_schema(schema)


def test_json_schema_description() -> None:
    assert STR.json_schema("The topic") == {"type": "string", "description": "The topic"}
    assert ANY.json_schema("Anything") == {"description": "Anything"}


def test_json_schema_agrees_with_check() -> None:
    spec = PROFILE
    good = {"name": "n", "address": {"city": "c"}, "links": [{"url": "u"}], "scores": {"a": 1}, "free": {}}
    bad = {"name": 1, "address": {"city": "c", "zip": "z"}, "links": [{}], "scores": {"a": "x"}, "free": {}}
    validator = Draft202012Validator(spec.json_schema())
    assert spec.check(good) == [] and validator.is_valid(good)
    assert spec.check(bad) != [] and not validator.is_valid(bad)


# ---- coerce ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "text", "expected"),
    [
        (INT, "42", 42), (INT, " -7 ", -7), (FLOAT, "2.5", 2.5), (FLOAT, "3", 3.0),
        (BOOL, "true", True), (BOOL, "Yes", True), (BOOL, "1", True), (BOOL, "on", True),
        (BOOL, "false", False), (BOOL, "NO", False), (BOOL, "0", False), (BOOL, "off", False),
        (list_of(STR), '["a", "b"]', ["a", "b"]), (list_of(INT), "[1, 2]", [1, 2]),
        (dict_of(INT), '{"a": 1}', {"a": 1}), (obj(a=STR), '{"a": "x"}', {"a": "x"}),
        (STR, "42", "42"), (ANY, "[1]", "[1]"),
    ],
)
def test_coerce_text(spec: TypeSpec, text: str, expected: Any) -> None:
    result = spec.coerce(text)
    assert result == expected and type(result) is type(expected)
    assert spec.check(result) == []


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (INT, "4.5"), (INT, "four"), (FLOAT, "1e999"), (FLOAT, "nan"), (FLOAT, "abc"),
        (BOOL, "maybe"), (list_of(INT), "[1, 2"), (dict_of(INT), "{a: 1}"), (list_of(STR), "a, b"),
    ],
)
def test_coerce_leaves_what_does_not_convert_for_check_to_report(spec: TypeSpec, text: str) -> None:
    assert spec.coerce(text) == text
    assert spec.check(spec.coerce(text)) != []


def test_coerce_non_text_values() -> None:
    assert FLOAT.coerce(3) == 3.0 and isinstance(FLOAT.coerce(3), float)
    assert FLOAT.coerce(True) is True  # a bool is not a number: check reports it
    assert INT.coerce(5) == 5
    assert list_of(INT).coerce([1]) == [1]
    assert BOOL.coerce(None) is None


def test_coerce_deeply_nested_json_text_is_left_unchanged() -> None:
    """CLI `--input items=[[[[...` must come back for `check` to report, never as RecursionError."""
    text = "[" * 100_000 + "]" * 100_000
    assert TypeSpec("list").coerce(text) == text


# ---- example values ----------------------------------------------------------------------------


def test_example_values_pass_check() -> None:
    assert PROFILE.check(PROFILE.example()) == []
    assert STR.example() == "" and INT.example() == 0 and BOOL.example() is False


type_texts = st.recursive(
    st.sampled_from(["str", "int", "float", "bool", "list", "dict", "object"]),
    lambda inner: st.one_of(inner.map(lambda t: f"list[{t}]"), inner.map(lambda t: f"dict[str, {t}]")),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None, database=None)
@given(type_texts)
def test_parse_print_round_trip_and_example(text: str) -> None:
    spec = parse_type(text)
    assert str(spec) == text
    assert parse_type(str(spec)) == spec
    assert spec.check(spec.example()) == []
    assert spec.accepts(spec)
    Draft202012Validator.check_schema(spec.json_schema())


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=40))
def test_parse_type_never_raises_anything_else(text: str) -> None:
    try:
        spec = parse_type(text)
    except TypeSyntaxError as error:
        assert error.message
    else:
        assert isinstance(spec, TypeSpec)
