"""Tests of the safe YAML/JSON source loader: data, positions, limits and error reports."""

from __future__ import annotations

import codecs
import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cagents.config import _source
from cagents.config._source import Source, load_file, load_source
from cagents.errors import ConfigError, ConfigIssue

Loader = Callable[..., Source]

PARSERS = ["python"] + (["libyaml"] if _source._CParser is not None else [])


@pytest.fixture(params=PARSERS, scope="module")
def load(request: pytest.FixtureRequest) -> Loader:
    """`load_source` driven through libyaml's parser and through the pure-Python one."""
    use_c = request.param == "libyaml"

    def run(text: str | bytes, *, filename: str = "wf.yaml", max_bytes: int = 1_048_576) -> Source:
        return _source._load(text, filename, max_bytes, use_c=use_c)

    return run


def issue_of(load: Loader, text: str | bytes, **kwargs: Any) -> ConfigIssue:
    with pytest.raises(ConfigError) as caught:
        load(text, **kwargs)
    assert len(caught.value.issues) == 1
    return caught.value.issues[0]


# -- positions ----------------------------------------------------------------------------------

WORKFLOW = """\
flow:
  name: demo
nodes:
  - id: first
    prompt: |
      Hello {name}
    tools: [search, {name: read, on_error: continue}]
  - id: second
edges:
  - {from: first, to: second}
  - from: second
    to: END
"""


def test_block_mapping_positions(load: Loader) -> None:
    source = load(WORKFLOW)
    assert source.key_position(("flow",)) == (1, 1)
    assert source.value_position(("flow",)) == (2, 3)
    assert source.key_position(("flow", "name")) == (2, 3)
    assert source.value_position(("flow", "name")) == (2, 9)
    assert source.key_position(("nodes", 0, "prompt")) == (5, 5)
    assert source.value_position(("nodes", 0, "prompt")) == (5, 13)
    assert source.data["nodes"][0]["prompt"] == "Hello {name}\n"


def test_sequence_items_are_located_at_their_start(load: Loader) -> None:
    source = load(WORKFLOW)
    assert source.key_position(("nodes", 0)) == (4, 5)
    assert source.key_position(("nodes", 1)) == (8, 5)
    assert source.key_position(("nodes", 1, "id")) == (8, 5)
    assert source.value_position(("nodes", 1, "id")) == (8, 9)
    assert source.key_position(("edges", 1, "to")) == (12, 5)


def test_flow_style_positions(load: Loader) -> None:
    source = load(WORKFLOW)
    assert source.data["edges"][0] == {"from": "first", "to": "second"}
    assert source.key_position(("edges", 0)) == (10, 5)
    assert source.key_position(("edges", 0, "from")) == (10, 6)
    assert source.value_position(("edges", 0, "from")) == (10, 12)
    assert source.key_position(("edges", 0, "to")) == (10, 19)
    assert source.value_position(("edges", 0, "to")) == (10, 23)
    assert source.key_position(("nodes", 0, "tools", 1, "on_error")) == (7, 34)
    assert source.value_position(("nodes", 0, "tools", 0)) == (7, 13)


def test_missing_paths_have_no_position(load: Loader) -> None:
    source = load(WORKFLOW)
    assert source.key_position(()) is None
    assert source.value_position(()) == (1, 1)
    assert source.key_position(("nope",)) is None
    assert source.value_position(("nodes", 5)) is None
    assert source.key_position(("nodes", "0")) is None
    assert source.key_position(("flow", 0)) is None
    assert source.key_position(("flow", "name", "deeper")) is None


def test_locate_falls_back_to_the_nearest_ancestor(load: Loader) -> None:
    source = load(WORKFLOW)
    assert source.locate(("edges", 0, "to")) == (10, 19)
    assert source.locate(("edges", 0, "routes", 3)) == (10, 5)
    assert source.locate(("nodes", 7, "id")) == (3, 1)
    assert source.locate(("unknown",)) == (1, 1)
    assert source.locate(()) == (1, 1)
    assert Source({"a": 1}, "x.yaml", "a: 1\n").locate(("a",)) == (1, 1)


def test_alias_positions_point_at_the_alias_and_into_the_anchor(load: Loader) -> None:
    text = "defaults: &llm\n  model: small\nnode:\n  llm: *llm\n"
    source = load(text)
    assert source.data["node"]["llm"] == {"model": "small"}
    assert source.key_position(("node", "llm")) == (4, 3)
    assert source.value_position(("node", "llm")) == (4, 8)
    assert source.key_position(("node", "llm", "model")) == (2, 3)


def test_crlf_line_endings_keep_line_numbers(load: Loader) -> None:
    source = load("a: 1\r\nb:\r\n  c: 2\r\n  d: [x, y]\r\n")
    assert source.data == {"a": 1, "b": {"c": 2, "d": ["x", "y"]}}
    assert source.key_position(("b", "c")) == (3, 3)
    assert source.value_position(("b", "d", 1)) == (4, 10)


def test_bytes_with_a_utf8_bom(load: Loader) -> None:
    source = load(codecs.BOM_UTF8 + "name: café\nnext: 1\n".encode())
    assert source.data == {"name": "café", "next": 1}
    assert source.text == "name: café\nnext: 1\n"
    assert source.key_position(("name",)) == (1, 1)
    assert source.key_position(("next",)) == (2, 1)


def test_str_with_a_bom_and_non_ascii_columns(load: Loader) -> None:
    source = load("\ufeffé: ü\nb: 2\n")
    assert source.data == {"é": "ü", "b": 2}
    assert source.value_position(("é",)) == (1, 4)


def test_json_positions(load: Loader) -> None:
    text = '{\n  "flow": {"name": "demo"},\n  "nodes": [\n    {"id": "a"}\n  ]\n}\n'
    source = load(text, filename="wf.json")
    assert source.data == {"flow": {"name": "demo"}, "nodes": [{"id": "a"}]}
    assert source.key_position(("flow", "name")) == (2, 12)
    assert source.value_position(("flow", "name")) == (2, 20)
    assert source.key_position(("nodes", 0, "id")) == (4, 6)


def test_json_indented_with_tabs_keeps_positions(load: Loader) -> None:
    source = load('{\n\t"a": {\n\t\t"b": [1, 2]\n\t}\n}\n')
    assert source.data == {"a": {"b": [1, 2]}}
    assert source.key_position(("a", "b")) == (3, 3)


def test_json_specifics(load: Loader) -> None:
    text = (
        '{"slash": "a\\/b", "emoji": "\\ud83d\\ude00", "big": 1e5, "neg": -2.5E-3,'
        ' "a: b # c": 1, "": "empty key", "<<": "not a merge", "n": null, "t": true}'
    )
    source = load(text, filename="wf.json")
    assert source.data == {
        "slash": "a/b",
        "emoji": "\U0001f600",
        "big": 100000.0,
        "neg": -0.0025,
        "a: b # c": 1,
        "": "empty key",
        "<<": "not a merge",
        "n": None,
        "t": True,
    }
    assert isinstance(source.data["big"], float)


def test_load_file_uses_the_path_as_given(tmp_path: FsPath) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text("flow:\n  name: x\n", encoding="utf-8")
    source = load_file(path)
    assert source.filename == str(path)
    assert source.data == {"flow": {"name": "x"}}
    assert source.key_position(("flow", "name")) == (2, 3)


def test_public_load_source_defaults() -> None:
    source = load_source("a: 1\n")
    assert source.filename == "<config>"
    assert source == Source({"a": 1}, "<config>", "a: 1\n")


# -- resolver -----------------------------------------------------------------------------------

RESOLVED = [
    ("true", True),
    ("True", True),
    ("TRUE", True),
    ("false", False),
    ("False", False),
    ("FALSE", False),
    ("null", None),
    ("Null", None),
    ("NULL", None),
    ("~", None),
    ("", None),
    ("0", 0),
    ("-0", 0),
    ("+12", 12),
    ("-17", -17),
    ("0o17", 15),
    ("0x1F", 31),
    ("1.5", 1.5),
    ("1.", 1.0),
    (".5", 0.5),
    ("1e3", 1000.0),
    ("-2.5E-3", -0.0025),
    (".inf", math.inf),
    ("-.Inf", -math.inf),
    ("+.INF", math.inf),
    ("yes", "yes"),
    ("no", "no"),
    ("on", "on"),
    ("off", "off"),
    ("Yes", "Yes"),
    ("y", "y"),
    ("fAlse", "fAlse"),
    ("nil", "nil"),
    ("2024-01-01", "2024-01-01"),
    ("2024-01-01 10:00:00", "2024-01-01 10:00:00"),
    ("12:30", "12:30"),
    ("1_000", "1_000"),
    ("0777", "0777"),
    ("0b101", "0b101"),
    ("0x", "0x"),
    ("1e", "1e"),
    ("inf", "inf"),
    ("NaN", "NaN"),
    ("١٢", "١٢"),
    ('"true"', "true"),
    ("'12'", "12"),
    ("! 12", "12"),
]


@pytest.mark.parametrize(("written", "expected"), RESOLVED)
def test_resolver_follows_the_yaml_1_2_core_schema(
    load: Loader, written: str, expected: Any
) -> None:
    value = load(f"v: {written}\n").data["v"]
    assert value == expected
    assert type(value) is type(expected)


def test_nan_forms(load: Loader) -> None:
    data = load("a: .nan\nb: .NaN\nc: .NAN\n").data
    assert all(isinstance(v, float) and math.isnan(v) for v in data.values())


def test_keys_that_look_like_booleans_or_null_stay_text(load: Loader) -> None:
    source = load("on: push\ntrue: 1\nnull: 2\n~: 3\nyes: 4\n")
    assert source.data == {"on": "push", "true": 1, "null": 2, "~": 3, "yes": 4}
    assert source.key_position(("on",)) == (1, 1)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ('!!int "12"', 12),
        ("!!int 0x10", 16),
        ("!!float 1", 1.0),
        ("!!float 2.5", 2.5),
        ("!!str 12", "12"),
        ("!!str true", "true"),
        ("!!bool true", True),
        ('!!null ""', None),
        ("!!null null", None),
        ("!!seq [1]", [1]),
        ("!!map {x: 1}", {"x": 1}),
    ],
)
def test_standard_tags_are_read(load: Loader, written: str, expected: Any) -> None:
    value = load(f"v: {written}\n").data["v"]
    assert value == expected
    assert type(value) is type(expected)


def test_aliases_give_independent_copies(load: Loader) -> None:
    source = load("a: &x {k: [1, 2]}\nb: *x\nc: &s text\nd: *s\n")
    data = source.data
    assert data == {"a": {"k": [1, 2]}, "b": {"k": [1, 2]}, "c": "text", "d": "text"}
    assert data["b"] is not data["a"]
    assert data["b"]["k"] is not data["a"]["k"]


def test_merge_keys_fill_in_missing_keys(load: Loader) -> None:
    text = "base: &b {model: m, temperature: 0.1}\nnode:\n  temperature: 0.5\n  <<: *b\n"
    source = load(text)
    assert source.data["node"] == {"temperature": 0.5, "model": "m"}
    assert source.key_position(("node", "model")) == (1, 11)
    later = load("base: &b {model: m}\nnode:\n  <<: *b\n  model: n\n")
    assert later.data["node"] == {"model": "n"}
    assert later.key_position(("node", "model")) == (4, 3)


def test_quoted_merge_key_is_a_plain_key(load: Loader) -> None:
    assert load("'<<': {a: 1}\n").data == {"<<": {"a": 1}}


# -- errors -------------------------------------------------------------------------------------


def test_file_not_found(tmp_path: FsPath) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError) as caught:
        load_file(missing)
    issue = caught.value.issues[0]
    assert issue.file == str(missing)
    assert issue.message == "file not found"
    assert issue.hint is not None and "check the path" in issue.hint


def test_a_directory_is_not_a_file(tmp_path: FsPath) -> None:
    with pytest.raises(ConfigError) as caught:
        load_file(tmp_path)
    issue = caught.value.issues[0]
    assert issue.file == str(tmp_path)
    assert issue.message == "is a directory, not a file"
    assert issue.hint == "give the path of a .yaml file"


def test_an_unreadable_path(tmp_path: FsPath) -> None:
    blocker = tmp_path / "file.yaml"
    blocker.write_text("a: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_file(blocker / "inner.yaml")
    issue = caught.value.issues[0]
    assert issue.message.startswith("cannot read the file: ")
    assert issue.file == str(blocker / "inner.yaml")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_permission_denied(tmp_path: FsPath) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("a: 1\n")
    path.chmod(0)
    with pytest.raises(ConfigError, match="permission denied"):
        load_file(path)


def test_file_larger_than_the_limit(tmp_path: FsPath) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 200 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_file(path, max_bytes=100)
    issue = caught.value.issues[0]
    assert issue.message == "the file is 204 bytes, over the limit of 100 bytes"
    assert issue.hint is not None and "max_bytes" in issue.hint


@pytest.mark.parametrize("text", ["a: ééé\n", "a: ééé\n".encode()])
def test_text_larger_than_the_limit(load: Loader, text: str | bytes) -> None:
    issue = issue_of(load, text, max_bytes=8)
    assert issue.message == "the file is 10 bytes, over the limit of 8 bytes"


def test_default_limit_is_one_mebibyte() -> None:
    with pytest.raises(ConfigError, match="over the limit of 1,048,576 bytes"):
        load_source("a: '" + "x" * 1_048_576 + "'\n")


def test_not_utf8_names_the_line_and_offset(load: Loader) -> None:
    issue = issue_of(load, b"a: 1\nb: caf\xc3\xa9 \xff\n")
    assert issue.message == "the file is not valid UTF-8: byte 0xff at byte offset 14"
    assert (issue.line, issue.column) == (2, 9)
    assert issue.hint is not None and "UTF-8" in issue.hint


def test_utf16_gets_its_own_hint(load: Loader) -> None:
    issue = issue_of(load, "a: 1\n".encode("utf-16"))
    assert (issue.line, issue.column) == (1, 1)
    assert issue.hint == "the file looks UTF-16 encoded; save it as UTF-8"


def test_lone_surrogates_in_str_input(load: Loader) -> None:
    issue = issue_of(load, "a: 1\nb: x\udc80\n")
    assert (issue.line, issue.column) == (2, 5)
    assert "lone surrogate" in issue.message


SYNTAX_ERRORS = [
    ("a: 1\n\tb: 2\n", 2, 1, "'\\t'", "indent with spaces, not tabs"),
    ("a: 1\nb:2\nc: 3\n", 2, 1, "could not find expected ':'", "line 2 has no space after"),
    (
        "flow:\n  name:x\n  version: 1\n",
        3,
        10,
        "mapping values are not allowed",
        "line 2 has no space",
    ),
    ("a: b: c\n", 1, 5, "mapping values are not allowed", "quote the value"),
    ('a: 1\nb: "open\nc: 3\n', 2, 4, "while scanning a quoted scalar", "never closed"),
    ("a: 'open\n", 1, 4, "while scanning a quoted scalar", "never closed"),
    ("a: [1, 2\nb: 3\n", 2, 2, "expected ',' or ']'", "'[' opened at line 1, column 4"),
    ("a: {x: 1\nb: 3\n", 2, 2, "expected ',' or '}'", "'{' opened at line 1, column 4"),
    ("a:\n  b: 1\n c: 2\n", 3, 2, "expected <block end>", "check the indentation"),
    ("a: !e!x 1\n", 1, 4, "undefined tag handle", "custom tags"),
    ("a: 1\n...\nb: 2\n", 3, 1, "expected '<document start>'", "text follows the end"),
    ("a: \x00\n", 1, 4, "does not allow: '\\x00'", "control characters"),
]


@pytest.mark.parametrize(("text", "line", "column", "message", "hint"), SYNTAX_ERRORS)
def test_yaml_syntax_errors(
    load: Loader, text: str, line: int, column: int, message: str, hint: str
) -> None:
    issue = issue_of(load, text)
    assert (issue.file, issue.line, issue.column) == ("wf.yaml", line, column)
    assert message in issue.message
    assert issue.hint is not None and hint in issue.hint
    assert issue.format().startswith(f"wf.yaml:{line}:{column}: ")


def test_duplicate_keys_are_refused(load: Loader) -> None:
    issue = issue_of(load, "a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n")
    assert issue.message == "duplicate key 'x' in the same mapping"
    assert (issue.line, issue.column, issue.key) == (5, 3, "b.x")
    assert issue.hint is not None and "line 3" in issue.hint


def test_duplicate_keys_in_flow_and_sequences(load: Loader) -> None:
    issue = issue_of(load, "edges:\n  - {from: a, to: b, from: c}\n")
    assert (issue.line, issue.column, issue.key) == (2, 22, "edges[0].from")
    assert issue.hint is not None and "line 2" in issue.hint


def test_duplicate_keys_in_json(load: Loader) -> None:
    issue = issue_of(load, '{"a": 1,\n "a": 2}', filename="wf.json")
    assert (issue.line, issue.column, issue.key) == (2, 2, "a")


def test_duplicate_merge_keys_and_overridden_keys(load: Loader) -> None:
    issue = issue_of(load, "b: &b {x: 1}\nc:\n  <<: *b\n  x: 2\n  x: 3\n")
    assert (issue.line, issue.key) == (5, "c.x")
    assert issue.hint is not None and "line 4" in issue.hint
    assert issue_of(load, "b: &b {x: 1}\nc:\n  <<: *b\n  <<: *b\n").line == 4


def test_merge_of_a_non_mapping_is_refused(load: Loader) -> None:
    issue = issue_of(load, "a: &s text\nb:\n  <<: *s\n")
    assert (issue.line, issue.column) == (3, 7)
    assert "merge key '<<'" in issue.message


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("a:\n  1: x\n", 2, 3, "mapping key 1 is a number"),
        ("1.5: x\n", 1, 1, "mapping key 1.5 is a number"),
        ("0x10: x\n", 1, 1, "mapping key 0x10 is a number"),
        ("[a]: b\n", 1, 1, "must be a string, not a sequence"),
        ("? {a: 1}\n: x\n", 1, 3, "must be a string, not a mapping"),
        ("!!int '3': x\n", 1, 1, "is tagged !!int, not a string"),
        ("a: &n [1]\n*n : x\n", 2, 1, "alias '*n' is not one"),
        ("a:\n  ? \n  : x\n", 2, 4, "a mapping key is empty"),
    ],
)
def test_non_string_keys_are_refused(
    load: Loader, text: str, line: int, column: int, message: str
) -> None:
    issue = issue_of(load, text)
    assert (issue.line, issue.column) == (line, column)
    assert message in issue.message
    assert issue.hint


def test_number_key_hint_says_to_quote(load: Loader) -> None:
    issue = issue_of(load, "routes:\n  1: x\n")
    assert issue.key == "routes.1"
    assert issue.hint == "quote the key: '1':"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a: !!python/object:os.system x\n", "!!python/object:os.system"),
        ("a: !!python/object/apply:os.system [ls]\n", "!!python/object/apply:os.system"),
        ("a: !foo x\n", "!foo"),
        ("a: !!binary aGk=\n", "!!binary"),
        ("a: !!timestamp 2024-01-01\n", "!!timestamp"),
        ("a: !!set {x}\n", "!!set"),
        ("a: !!omap [x: 1]\n", "!!omap"),
        ("a: !!seq x\n", "!!seq"),
        ("a: !!str [1]\n", "!!str"),
        ("a: !!map [1]\n", "!!map"),
        ("%TAG !! tag:evil.example,2000:\n---\na: !!str x\n", "tag:evil.example,2000:str"),
    ],
)
def test_other_tags_are_refused(load: Loader, text: str, shown: str) -> None:
    issue = issue_of(load, text)
    assert issue.message.startswith(f"the tag {shown} is not allowed")
    assert issue.column == 4
    assert issue.key == "a"
    assert issue.hint is not None and "only !!str, !!int" in issue.hint


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!int abc\n", "'abc' cannot be read as !!int"),
        ("a: !!int 1.5\n", "'1.5' cannot be read as !!int"),
        ("a: !!float x\n", "'x' cannot be read as !!float"),
        ("a: !!bool yes\n", "'yes' cannot be read as !!bool"),
        ("a: !!null x\n", "'x' cannot be read as !!null"),
        (
            "a: !!float 0x" + "f" * 256 + "\n",
            "'0xffffffffffffffffffffffffffffffffff... cannot be read as !!float",
        ),
    ],
)
def test_tagged_values_must_fit_their_tag(load: Loader, text: str, message: str) -> None:
    issue = issue_of(load, text)
    assert (issue.line, issue.column, issue.message) == (1, 4, message)


def billion_laughs(levels: int = 9) -> str:
    text = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for level in range(1, levels):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
    return text


def test_alias_bomb_is_refused(load: Loader) -> None:
    issue = issue_of(load, billion_laughs())
    assert issue.message == "aliases expand to more than 100,000 values"
    assert (issue.line, issue.key) == (6, "f[0]")
    assert issue.hint is not None and "alias bomb" in issue.hint


def test_one_huge_alias_is_refused(load: Loader) -> None:
    items = ", ".join(["x"] * 60_000)
    issue = issue_of(load, f"a: &a [{items}]\nb: *a\nc: *a\n")
    assert (issue.line, issue.column) == (3, 4)


def test_aliases_of_long_texts_are_bounded(load: Loader) -> None:
    aliases = ", ".join(["*t"] * 2_000)
    issue = issue_of(load, f"t: &t {'x' * 5_000}\nall: [{aliases}]\n")
    assert issue.message == "aliases expand to more than 100,000 values"
    assert issue.line == 2
    text = load(f"t: &t {'x' * 5_000}\nall: [{aliases[:400]}]\n").data["all"][0]
    assert text == "x" * 5_000


def test_moderate_alias_use_is_fine(load: Loader) -> None:
    data = load(billion_laughs(levels=4)).data
    assert len(data["d"]) == 9 and data["d"][8][8][8] == ["lol"] * 9


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("a: &x [1, *x]\n", 1, 11, "recursive alias"),
        ("a: &x\n  b: *x\n", 2, 6, "recursive alias"),
        ("a: *x\n", 1, 4, "refers to an anchor that is not defined"),
    ],
)
def test_bad_aliases(load: Loader, text: str, line: int, column: int, message: str) -> None:
    issue = issue_of(load, text)
    assert (issue.line, issue.column) == (line, column)
    assert message in issue.message
    assert issue.hint


def nested_block(levels: int) -> str:
    return "".join("  " * level + f"k{level}:\n" for level in range(levels - 1)) + (
        "  " * (levels - 1) + f"k{levels - 1}: {{}}\n"
    )


def test_nesting_of_100_levels_is_fine(load: Loader) -> None:
    data = load(nested_block(99)).data
    for level in range(99):
        data = data[f"k{level}"]
    assert data == {}
    assert load("a: " + "[" * 99 + "]" * 99 + "\n").data["a"] is not None


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a: " + "[" * 100 + "]" * 100 + "\n", 1, 103),
        ("[" * 200_000, 1, 101),
        ("a: " + "{a: " * 5_000, 1, 400),
        ('{"a": ' * 5_000, 1, 601),
        (nested_block(150), 101, 201),
    ],
)
def test_deeper_nesting_is_refused(load: Loader, text: str, line: int, column: int) -> None:
    issue = issue_of(load, text)
    assert issue.message == "the data is nested deeper than 100 levels"
    assert (issue.line, issue.column) == (line, column)
    assert issue.key is not None and len(issue.key) <= 120


def test_aliases_cannot_nest_deeper_than_the_limit(load: Loader) -> None:
    deep = "[" * 60 + "]" * 60
    issue = issue_of(load, f"a: &d {deep}\nb: {'[' * 45}*d{']' * 45}\n")
    assert "nested deeper than 100 levels" in issue.message
    assert (issue.line, issue.column) == (2, 49)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "---\n...\n"])
def test_empty_documents_are_refused(load: Loader, text: str) -> None:
    issue = issue_of(load, text)
    assert issue.message == "the file is empty"
    assert (issue.line, issue.column) == (1, 1)


def test_several_documents_are_refused(load: Loader) -> None:
    issue = issue_of(load, "---\na: 1\n---\nb: 2\n")
    assert issue.message == "the file holds more than one YAML document"
    assert (issue.line, issue.column) == (3, 1)
    assert issue.hint is not None and "'---'" in issue.hint


@pytest.mark.parametrize(
    ("text", "found"),
    [("- a\n- b\n", "a list"), ("hello\n", "the value 'hello'"), ("~\n", "the value None")],
)
def test_top_level_must_be_a_mapping(load: Loader, text: str, found: str) -> None:
    issue = issue_of(load, text)
    assert issue.message == f"a workflow file must be a mapping at the top level, found {found}"
    assert (issue.line, issue.column) == (1, 1)


@pytest.mark.parametrize(
    ("number", "digits"),
    [
        ("9" * 5_000, "5,000"),
        ("-" + "1" * 501, "501"),
        ("0x" + "f" * 4_000, "4,000"),
        ("0o" + "7" * 600, "600"),
    ],
)
def test_huge_integers_are_refused(load: Loader, number: str, digits: str) -> None:
    issue = issue_of(load, f"a: 1\nb: {number}\n")
    assert (issue.line, issue.column, issue.key) == (2, 4, "b")
    assert issue.message.endswith(f"has {digits} digits, more than 500 allowed")
    assert issue.hint == "quote it to keep it as text"
    assert issue_of(load, number).line == 1


def test_large_numbers_within_limits(load: Loader) -> None:
    text = f"a: 1e999\nb: {'9' * 500}\nc: 0x{'f' * 500}\nd: '{'9' * 5_000}'\ne: -1e-999\n"
    data = load(text).data
    assert data["a"] == math.inf
    assert data["b"] == 10**500 - 1
    assert data["c"] == 16**500 - 1
    assert data["d"] == "9" * 5_000
    assert data["e"] == 0.0
    assert repr(data)


def test_huge_integers_in_json_that_only_json_reads(load: Loader) -> None:
    key = "k" * 2_000
    issue = issue_of(load, f'{{"{key}": {"9" * 600}}}', filename="wf.json")
    assert issue.message == "a number has more than 500 digits"


def test_lone_surrogate_escapes_are_refused(load: Loader) -> None:
    issue = issue_of(load, 'a: 1\nb: "\\ud83d x"\n')
    assert (issue.line, issue.column) == (2, 4)
    assert "unpaired surrogate" in issue.message


@pytest.mark.parametrize(
    ("text", "filename", "line", "column", "message", "hint"),
    [
        ('{"a": [1, 2}', "wf.yaml", 1, 12, "Expecting ',' delimiter", "comma is missing"),
        ('{\n  "a": 1\n  "b": 2\n}', "wf.yaml", 3, 3, "Expecting ',' delimiter", "comma"),
        ('{"a": "open}', "wf.yaml", 1, 7, "Unterminated string", "not closed"),
        ('{"a": 1, "a": 2, "b": [}', "wf.yaml", 1, 24, "Expecting value", "missing"),
        ("{'a': 1, \"b\": [}", "wf.yaml", 1, 2, "Expecting property name", "double quotes"),
        ("a: [1\n", "wf.json", 1, 1, "Expecting value", "value is missing"),
        ('{"a": 1} x: [', "wf.yaml", 1, 10, "Extra data", "after the end"),
    ],
)
def test_json_errors_come_from_the_json_module(
    load: Loader, text: str, filename: str, line: int, column: int, message: str, hint: str
) -> None:
    issue = issue_of(load, text, filename=filename)
    assert issue.message.startswith(f"invalid JSON: {message}")
    assert (issue.file, issue.line, issue.column) == (filename, line, column)
    assert issue.hint is not None and hint in issue.hint


def test_json_that_yaml_cannot_read_still_loads(load: Loader) -> None:
    long_key = "k" * 2_000
    source = load(json.dumps({long_key: 1, "b": [True, None]}), filename="wf.json")
    assert source.data == {long_key: 1, "b": [True, None]}
    issue = issue_of(load, json.dumps([{"x" * 2_000: 1}]), filename="wf.json")
    assert issue.message == "a workflow file must be a mapping at the top level"


def test_error_to_dict_shape(load: Loader) -> None:
    with pytest.raises(ConfigError) as caught:
        load("a: 1\na: 2\n")
    assert caught.value.to_dict()["issues"] == [
        {
            "file": "wf.yaml",
            "line": 2,
            "column": 1,
            "key": "a",
            "message": "duplicate key 'a' in the same mapping",
            "hint": "the key is already set at line 1; keep only one of them",
        }
    ]


def test_wrong_argument_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        load_source(12)  # type: ignore[arg-type]


# -- properties ---------------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=40), inner, max_size=5)
    ),
    max_leaves=20,
)
# Keys stay short: YAML reads a key of at most 1024 characters (longer JSON keys still load,
# through the `json` module, but without positions).
JSON_DOCUMENTS = st.dictionaries(st.text(max_size=40), JSON_VALUES, max_size=6)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Characters that steer the YAML scanner into its less common paths.
YAMLISH = st.text(alphabet=st.sampled_from(list("ab:-[]{},\"'\n\t &*!#|>?%@~.09\\\r\x85")))


def is_plain(value: Any, depth: int = 0) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(is_plain(item, depth + 1) for item in value)
    return value is None or isinstance(value, (str, int, float, bool))


def loads_or_refuses(load: Loader, text: str | bytes, filename: str = "wf.yaml") -> None:
    try:
        source = load(text, filename=filename)
    except ConfigError as error:
        assert error.issues and all(issue.file == filename for issue in error.issues)
    else:
        assert isinstance(source.data, dict) and is_plain(source.data)


@PROPERTY_SETTINGS
@given(text=st.text() | YAMLISH)
def test_any_text_loads_or_gives_a_config_error(load: Loader, text: str) -> None:
    loads_or_refuses(load, text)
    loads_or_refuses(load, text, filename="wf.json")


@PROPERTY_SETTINGS
@given(raw=st.binary())
def test_any_bytes_load_or_give_a_config_error(load: Loader, raw: bytes) -> None:
    loads_or_refuses(load, raw)


@PROPERTY_SETTINGS
@given(value=JSON_VALUES)
def test_any_dumped_value_loads_or_gives_a_config_error(load: Loader, value: Any) -> None:
    loads_or_refuses(load, json.dumps(value, ensure_ascii=False))
    loads_or_refuses(load, yaml.safe_dump(value, allow_unicode=True))


def paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        found.append((*prefix, key))
        if isinstance(item, (dict, list)):
            found += paths(item, (*prefix, key))
    return found


@PROPERTY_SETTINGS
@given(document=JSON_DOCUMENTS)
def test_json_documents_round_trip_with_positions(load: Loader, document: dict[str, Any]) -> None:
    text = json.dumps(document, indent=2)
    source = load(text, filename="wf.json")
    assert source.data == document
    lines = text.splitlines()
    for path in paths(document):
        position = source.key_position(path)
        assert position is not None
        line, column = position
        if isinstance(path[-1], str):
            assert lines[line - 1][column - 1 :].startswith(json.dumps(path[-1]))


class CoreSchemaDumper(yaml.SafeDumper):
    """A YAML 1.1 dumper that also quotes strings the 1.2 core schema reads as numbers.

    PyYAML writes '1e5' or '0o17' unquoted (strings under 1.1); a 1.2 reader sees numbers.
    """


CoreSchemaDumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+)$"
    ),
    list("-+.0123456789"),
)
CoreSchemaDumper.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^0o[0-7]+$"), ["0"])


@PROPERTY_SETTINGS
@given(document=JSON_DOCUMENTS)
def test_yaml_documents_round_trip(load: Loader, document: dict[str, Any]) -> None:
    for flow in (False, None):
        text = yaml.dump(document, Dumper=CoreSchemaDumper, default_flow_style=flow)
        source = load(text)
        assert source.data == document
        for path in paths(document):
            assert source.value_position(path) is not None


# PyYAML writes YAML 1.1: it leaves '1e5' and '0o17' unquoted (strings under 1.1, numbers
# under 1.2). Everything else it quotes where needed ('yes', '2024-01-01', '1.5', '~').
ORDINARY_TEXT = st.text().filter(
    lambda text: not re.fullmatch(r"[-+]?[0-9.]*[eE][-+]?[0-9]+|0o[0-7]+", text)
)
ORDINARY_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | ORDINARY_TEXT
    | st.sampled_from(["yes", "no", "on", "off", "2024-01-01", "1_000", "0777", "~", "<<"]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ORDINARY_TEXT, inner, max_size=5),
    max_leaves=20,
)


@PROPERTY_SETTINGS
@given(document=st.dictionaries(ORDINARY_TEXT, ORDINARY_VALUES, max_size=6))
def test_yaml_safe_dump_round_trips(load: Loader, document: dict[str, Any]) -> None:
    assert load(yaml.safe_dump(document)).data == document
