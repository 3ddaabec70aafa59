"""Tests of prompt templates: which braces are placeholders, how they resolve and render."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cagents.config import templates
from cagents.config.templates import (
    Placeholder,
    Template,
    TemplateError,
    parse_template,
    render_text,
)
from cagents.errors import CagentsError

STATE: dict[str, Any] = {
    "article": "The text",
    "profile": {"bio": "Writer", "tags": ["a", "b"], "address": None},
    "items": [{"title": "First"}, {"title": "Second"}],
    "numbers": [1, 2, 3],
    "count": 3,
    "ratio": 0.25,
    "done": False,
    "nothing": None,
    "audience": "state audience",
}
VARIABLES: dict[str, Any] = {"audience": "kids", "item": {"title": "Item"}, "item_index": 2}


def render(text: str, variables: dict[str, Any] | None = None) -> str:
    return parse_template(text).render(VARIABLES if variables is None else variables, STATE)


def render_error(text: str, variables: dict[str, Any] | None = None) -> TemplateError:
    template = parse_template(text)
    with pytest.raises(TemplateError) as info:
        template.render(VARIABLES if variables is None else variables, STATE)
    return info.value


# --- finding placeholders ----------------------------------------------------------------------


def test_placeholders_are_found_with_paths_and_offsets() -> None:
    text = (
        "Summarize {state.article} for {audience}. Use {state.profile.bio}."
        " Item {item_index}: {item.title}"
    )
    placeholders = parse_template(text).placeholders
    assert [p.text for p in placeholders] == [
        "state.article", "audience", "state.profile.bio", "item_index", "item.title",
    ]  # fmt: skip
    assert [p.path for p in placeholders] == [
        ("article",), ("audience",), ("profile", "bio"), ("item_index",), ("item", "title"),
    ]  # fmt: skip
    assert [p.explicit_state for p in placeholders] == [True, False, True, False, False]
    assert all(text[p.offset] == "{" for p in placeholders)
    assert placeholders[1].offset == text.index("{audience}")


def test_indexes_become_integers_in_the_path() -> None:
    (placeholder,) = parse_template("{state.items[1].title}").placeholders
    assert placeholder == Placeholder("state.items[1].title", ("items", 1, "title"), True, 0)
    assert parse_template("{m[0][2]}").placeholders[0].path == ("m", 0, 2)


def test_spaces_inside_the_braces_are_allowed() -> None:
    (placeholder,) = parse_template("x { \tstate.article } y").placeholders
    assert placeholder.text == "state.article"
    assert render("x { state.article } y") == "x The text y"


def test_state_alone_is_a_bare_name() -> None:
    (placeholder,) = parse_template("{state}").placeholders
    assert placeholder.path == ("state",) and not placeholder.explicit_state
    assert parse_template("{state[0]}").placeholders[0].path == ("state", 0)


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "x"}',
        "{ }",
        "{}",
        "{1}",
        "{x!r}",
        "{x:>10}",
        "{x.}",
        "{.x}",
        "{x[-1]}",
        "{x[a]}",
        "{x y}",
        "{a-b}",
        "{x[1234567890]}",
        "{ x\n}",
        "{",
        "}",
        "a } b { c",
    ],
)
def test_other_brace_text_is_literal(text: str) -> None:
    template = parse_template(text)
    assert template.placeholders == ()
    assert template.render({}, {}) == text


def test_json_example_with_a_placeholder_inside() -> None:
    assert render('Reply as {"title": "{item.title}", "n": {count}}') == (
        'Reply as {"title": "Item", "n": 3}'
    )


# --- escapes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("{{x}}", "{x}"),
        ("{{state.article}}", "{state.article}"),
        ("{{{count}}}", "{3}"),
        ('{{ "n": {count} }}', '{ "n": 3 }'),
        ('{{"a": {{"b": 1}}}}', '{"a": {"b": 1}}'),
        ('{"a": {"b": 1}}', '{"a": {"b": 1}}'),
        ('{"a": {"b": {count}}}', '{"a": {"b": 3}}'),
        ("{{", "{"),
        ("}}", "}}"),
        ("{{a}} and }}", "{a} and }}"),
    ],
)
def test_escapes(text: str, rendered: str) -> None:
    assert render(text) == rendered


# --- resolution and rendering --------------------------------------------------------------------


def test_bare_names_read_variables_before_state() -> None:
    assert render("{audience}") == "kids"
    assert render("{audience}", {}) == "state audience"


def test_state_prefix_reads_only_the_state() -> None:
    assert render("{state.audience}") == "state audience"


def test_nested_keys_and_indexes() -> None:
    assert render("{items[1].title} / {profile.tags[0]} / {item.title}") == "Second / a / Item"


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("{article}", "The text"),
        ("{done}", "false"),
        ("{nothing}", ""),
        ("{count}", "3"),
        ("{ratio}", "0.25"),
        ("{numbers}", "[1, 2, 3]"),
        ("{profile}", '{"bio": "Writer", "tags": ["a", "b"], "address": null}'),
        ("{item_index}", "2"),
    ],
)
def test_values_render_as_text(text: str, rendered: str) -> None:
    assert render(text) == rendered


def test_non_ascii_is_kept_in_json() -> None:
    assert render_text({"name": "Zoë", "city": "東京"}) == '{"name": "Zoë", "city": "東京"}'
    assert render_text(True) == "true"


def test_a_path_under_a_null_object_reads_as_empty() -> None:
    assert render("[{profile.address.city}]") == "[]"
    assert parse_template("{nothing.x}").render_value({}, STATE) is None


# --- errors ----------------------------------------------------------------------------------


def test_missing_name_lists_what_is_available_closest_first() -> None:
    text = "Write about {artcle} now"
    error = render_error(text)
    assert error.placeholder == "artcle"
    assert error.offset == text.index("{artcle}")
    assert error.hint == "did you mean 'article'?"
    assert "no input, variable or state field is named 'artcle'" in error.message
    available = error.message.split("available: ")[1]
    assert available.startswith("article, ")
    assert "item_index" in available and "audience" in available


def test_missing_state_field_when_the_name_is_a_variable() -> None:
    error = render_error("{state.item_index}")
    assert "the state has no field 'item_index'" in error.message
    assert error.hint == "write {item_index} to use it"


def test_missing_state_field() -> None:
    error = render_error("{state.artikel}")
    assert error.message.startswith("placeholder {state.artikel}: the state has no field 'artikel'")
    assert error.hint == "did you mean 'article'?"


def test_missing_nested_key() -> None:
    error = render_error("{state.profile.boi}")
    assert "'state.profile' has no key 'boi'; it has: bio, address, tags" in error.message
    assert error.hint == "did you mean 'bio'?"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{items[2].title}", "index [2] is out of range: 'items' has 2 item(s)"),
        ("{article[0]}", "'article' is a str, not a list, so [0] does not apply"),
        ("{count.x}", "'count' is a int, not an object, so it has no field 'x'"),
        ("{state.items[0].title.x}", "'state.items[0].title' is a str, not an object"),
    ],
)
def test_path_errors(text: str, fragment: str) -> None:
    error = render_error(text)
    assert fragment in error.message
    assert error.placeholder == text.strip("{}")


def test_long_listings_are_cut() -> None:
    variables = {f"name{i:02d}": i for i in range(40)}
    error = render_error("{zzz}", variables)
    assert "more)" in error.message


def test_python_objects_are_never_read_through_attributes() -> None:
    touched: list[str] = []

    class Spy:
        def __getattr__(self, name: str) -> Any:
            touched.append(name)
            return "secret"

    error = render_error("{obj.secret}", {"obj": Spy()})
    assert "'obj' is a Spy, not an object" in error.message
    assert touched == []


def test_error_type_and_shape() -> None:
    error = render_error("{nope}", {})
    assert isinstance(error, ValueError) and isinstance(error, CagentsError)
    assert error.to_dict()["placeholder"] == "nope"
    assert error.to_dict()["offset"] == 0


def test_non_string_template() -> None:
    with pytest.raises(TemplateError, match="must be a string, got int"):
        parse_template(3)  # type: ignore[arg-type]


# --- single placeholders and typed values ------------------------------------------------------


@pytest.mark.parametrize("text", ["{numbers}", "  {numbers}\n", "{ numbers }", "{state.numbers}"])
def test_single_placeholder_keeps_the_type(text: str) -> None:
    template = parse_template(text)
    assert template.single is not None and template.single.path == ("numbers",)
    assert template.render_value(VARIABLES, STATE) == [1, 2, 3]


@pytest.mark.parametrize(
    ("text", "value"),
    [("{count}", 3), ("{done}", False), ("{nothing}", None), ("{item}", {"title": "Item"})],
)
def test_single_placeholder_values(text: str, value: Any) -> None:
    assert parse_template(text).render_value(VARIABLES, STATE) == value


@pytest.mark.parametrize("text", ["n: {numbers}", "{count}{count}", "{{numbers}}", "plain", ""])
def test_other_templates_render_to_text(text: str) -> None:
    template = parse_template(text)
    assert template.single is None
    assert template.render_value(VARIABLES, STATE) == template.render(VARIABLES, STATE)
    assert isinstance(template.render_value(VARIABLES, STATE), str)


def test_parsed_templates_are_cached_and_compare_by_text() -> None:
    first = parse_template("Hello {audience}")
    assert parse_template("Hello {audience}") is first
    assert isinstance(first, Template)
    templates._parse.cache_clear()
    again = parse_template("Hello {audience}")
    assert again is not first and again == first


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_fails_only_with_template_error(text: str) -> None:
    try:
        template = parse_template(text)
    except TemplateError:
        return
    for placeholder in template.placeholders:
        assert text[placeholder.offset] == "{"
        assert placeholder.text in text[placeholder.offset :]


BRACEY = st.text(alphabet="{}[]. _ax0\n\"':!", max_size=60)


@settings(max_examples=500, deadline=None)
@given(BRACEY)
def test_brace_heavy_text_renders_or_fails_only_with_template_error(text: str) -> None:
    template = parse_template(text)
    try:
        rendered = template.render({"a": [1, {"x": None}], "x": "v"}, {"_": 0})
    except TemplateError:
        return
    assert isinstance(rendered, str)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200).filter(lambda t: "{" not in t))
def test_text_without_an_opening_brace_renders_unchanged(text: str) -> None:
    assert parse_template(text).render({}, {}) == text
