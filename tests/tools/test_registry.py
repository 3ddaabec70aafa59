"""The registry: the built-in names of the language, aliases, references and plugins."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from cagents.config.tool_names import BUILTIN_TOOLS, TOOL_ALIASES, UNSAFE_TOOLS
from cagents.errors import ToolError
from cagents.tools import (
    Tool,
    ToolContext,
    ToolRegistry,
    call_tool,
    default_registry,
    required_env,
    tool_from_function,
)


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    """Forget the cached default registry before and after, so plugins are discovered anew."""
    default_registry.cache_clear()
    yield
    default_registry.cache_clear()


def test_registry_implements_exactly_the_language_names() -> None:
    registry = default_registry()
    assert set(registry.names()) == BUILTIN_TOOLS | UNSAFE_TOOLS
    for name in registry.names():
        assert registry.get(name).unsafe is (name in UNSAFE_TOOLS)
        assert registry.get(name).parameters["type"] == "object"


@pytest.mark.parametrize("alias", sorted(TOOL_ALIASES))
def test_every_alias_resolves_under_its_own_name(alias: str) -> None:
    tool = default_registry().get(alias)
    target = default_registry().get(TOOL_ALIASES[alias])
    assert tool.name == alias
    assert tool.parameters == target.parameters
    assert alias not in default_registry().names()


def test_plain_aliases_share_the_target_function() -> None:
    registry = default_registry()
    assert registry.get("file_read").func is registry.get("read_file").func
    assert registry.get("serper_search").func is not registry.get("web_search").func


def test_unknown_tool_suggests_close_names() -> None:
    with pytest.raises(ToolError) as caught:
        default_registry().get("web_serch")
    message = str(caught.value)
    assert "unknown tool" in message and "did you mean 'web_search'" in message
    assert "web_serch" not in default_registry()
    assert "file_read" in default_registry()


def test_register_refuses_duplicates_and_bad_names() -> None:
    registry = ToolRegistry()
    tool = _echo_tool()
    registry.register(tool)
    with pytest.raises(ToolError, match="already registered"):
        registry.register(tool)
    registry.register(tool, replace=True)
    with pytest.raises(ToolError, match="tool names must be"):
        registry.register(Tool("has space", "d", {"type": "object"}, lambda a, c: None))
    assert registry.names() == ["echo"]


def _echo_tool() -> Tool:
    def echo(text: str) -> str:
        """Say it back."""
        return text

    return tool_from_function(echo)


def write_module(directory: Path, name: str, source: str) -> None:
    (directory / f"{name}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    before = set(sys.modules)
    yield directory
    for name in set(sys.modules) - before:
        if name.startswith("cagents_test_"):
            del sys.modules[name]


async def test_module_function_reference_gets_a_schema_from_its_hints(
    module_dir: Path, tmp_path: Path
) -> None:
    write_module(
        module_dir,
        "cagents_test_refmod",
        '''
        from __future__ import annotations
        from typing import Literal, Optional

        def scale(values: list[float], factor: float = 2.0, mode: Literal["up", "down"] = "up",
                  label: Optional[str] = None) -> dict[str, object]:
            """Scale numbers by a factor.

            Longer text that the model does not need.

            Args:
                values: Numbers to scale.
                factor: Multiplier.
            """
            out = [v * factor if mode == "up" else v / factor for v in values]
            return {"values": out, "label": label}
    ''',
    )
    registry = ToolRegistry()
    tool = registry.get("cagents_test_refmod:scale")
    assert tool.name == "scale"
    assert tool.description == "Scale numbers by a factor."
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "values": {
                "type": "array",
                "items": {"type": "number"},
                "description": "Numbers to scale.",
            },
            "factor": {"type": "number", "description": "Multiplier.", "default": 2.0},
            "mode": {"type": "string", "enum": ["up", "down"], "default": "up"},
            "label": {"type": ["string", "null"], "default": None},
        },
        "required": ["values"],
        "additionalProperties": False,
    }
    assert registry.get("cagents_test_refmod:scale") is tool  # imported once
    ctx = ToolContext(workspace=tmp_path, env={})
    assert await call_tool(tool, {"values": [1, 2], "mode": "down"}, ctx) == {
        "values": [0.5, 1.0],
        "label": None,
    }


def test_reference_errors_are_clear(module_dir: Path) -> None:
    write_module(
        module_dir,
        "cagents_test_refbad",
        """
        def summarise(text: str) -> str:
            return text
        NOT_CALLABLE = 3
    """,
    )
    registry = ToolRegistry()
    with pytest.raises(ToolError, match="cannot import module 'cagents_test_missing'"):
        registry.get("cagents_test_missing:thing")
    with pytest.raises(ToolError, match="did you mean 'summarise'"):
        registry.get("cagents_test_refbad:summarize")
    with pytest.raises(ToolError, match="not a Tool or a function"):
        registry.get("cagents_test_refbad:NOT_CALLABLE")
    with pytest.raises(ToolError, match="standard-library module"):
        registry.get("os:system")
    with pytest.raises(ToolError, match="standard-library module"):
        registry.get("subprocess:getoutput")


def write_plugin(site: Path, module: str, entry_points: str) -> None:
    dist = site / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(textwrap.dedent(entry_points))


async def test_entry_point_plugins_are_discovered(
    module_dir: Path, fresh_registry: None, tmp_path: Path
) -> None:
    write_module(
        module_dir,
        "cagents_test_plugin",
        '''
        from cagents.tools import Tool, ToolContext

        def shout(text: str, ctx: ToolContext) -> str:
            """Upper-case a text."""
            return text.upper() + "!" * int(ctx.config.get("bangs", 1))

        def _reverse(args, ctx):
            return args["text"][::-1]

        REVERSE = Tool(
            name="whatever", description="Reverse a text.", func=_reverse,
            parameters={"type": "object", "properties": {"text": {"type": "string"}},
                        "required": ["text"], "additionalProperties": False},
            env_keys=(("REVERSE_API_KEY",),),
        )
    ''',
    )
    write_plugin(
        module_dir,
        "cagents_test_plugin",
        """
        [cagents.tools]
        shout = cagents_test_plugin:shout
        reverse = cagents_test_plugin:REVERSE
        calculator = cagents_test_plugin:shout
        broken = cagents_test_nowhere:thing
    """,
    )
    registry = default_registry()
    assert {"shout", "reverse"} <= set(registry.names())
    ctx = ToolContext(workspace=tmp_path, env={}, config={"bangs": 2})
    assert await call_tool(registry.get("shout"), {"text": "hi"}, ctx) == "HI!!"
    assert await call_tool(registry.get("reverse"), {"text": "abc"}, ctx) == "cba"
    assert required_env(["reverse", "calculator"]) == [("REVERSE_API_KEY",)]
    # a plugin cannot take a built-in's name; a broken one is reported when asked for
    assert registry.get("calculator").description.startswith("Evaluate")
    assert "already taken" in registry.plugin_errors["calculator"]
    with pytest.raises(ToolError, match="failed to load"):
        registry.get("broken")


def test_default_registry_is_cached() -> None:
    assert default_registry() is default_registry()


def test_required_env_lists_each_key_group_once() -> None:
    needed = required_env(["web_search", "serper_search", "calculator", "http_request"])
    assert needed == [("TAVILY_API_KEY", "SERPER_API_KEY")]
    assert required_env(["read_file"]) == []
    with pytest.raises(ToolError, match="unknown tool"):
        required_env(["nope"])


def test_openai_tool_shape() -> None:
    spec = default_registry().get("calculator").to_openai()
    assert spec["type"] == "function"
    assert spec["function"]["name"] == "calculator"
    assert spec["function"]["parameters"]["required"] == ["expression"]
