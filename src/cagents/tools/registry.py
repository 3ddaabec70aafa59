"""The tool registry: built-ins, entry-point plugins, aliases and `module:function` references."""

from __future__ import annotations

import difflib
import functools
import importlib
import re
import sys
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from cagents.config.tool_names import TOOL_ALIASES, is_reference
from cagents.errors import ToolError
from cagents.tools.schema_from_hints import tool_from_function
from cagents.tools.tool import Tool

__all__ = ["ENTRY_POINT_GROUP", "ToolRegistry", "builtin_tools", "default_registry", "required_env"]

#: Packages add tools with `[project.entry-points."cagents.tools"] name = "pkg.mod:obj"`.
ENTRY_POINT_GROUP = "cagents.tools"

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


class ToolRegistry:
    """Tools by name. `get` also resolves aliases and `pkg.module:function` references."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._alias_tools: dict[str, Tool] = {}
        self._references: dict[str, Tool] = {}
        #: Plugins not registered, by name, with why (`get` reports it for a missing name).
        self.plugin_errors: dict[str, str] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool, *, replace: bool = False) -> None:
        """Add a tool; a name already taken needs `replace=True`."""
        _check_tool(tool)
        if tool.name in self._tools and not replace:
            raise ToolError(
                tool.name,
                "a tool of this name is already registered; pass replace=True to override it",
            )
        self._tools[tool.name] = tool

    def register_alias(self, alias: str, tool: Tool) -> None:
        """An alias with behaviour of its own (e.g. `serper_search` prefers Serper)."""
        _check_tool(tool)
        self._alias_tools[alias] = tool

    def get(self, name: str) -> Tool:
        """The tool called `name`.

        An alias of `tool_names.TOOL_ALIASES` gives its target tool under the alias's name
        (the name the workflow's prompts use); a `pkg.module:function` reference is imported
        and described from its type hints, under the function's own name.
        """
        if name in self._tools:
            return self._tools[name]
        if name in self.plugin_errors:
            raise ToolError(name, self.plugin_errors[name])
        if name in self._alias_tools:
            return self._alias_tools[name]
        target = TOOL_ALIASES.get(name)
        if target is not None and target in self._tools:
            return replace(self._tools[target], name=name)
        if is_reference(name):
            if name not in self._references:
                self._references[name] = _load_reference(name)
            return self._references[name]
        raise ToolError(name, self._unknown_hint(name))

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.get(name)
        except ToolError:
            return False
        return True

    def names(self) -> list[str]:
        """Registered tool names, sorted (aliases not included)."""
        return sorted(self._tools)

    def aliases(self) -> dict[str, str]:
        """Alias -> target name, for the aliases this registry can resolve."""
        found = {alias: target for alias, target in TOOL_ALIASES.items() if target in self._tools}
        found.update({alias: TOOL_ALIASES.get(alias, alias) for alias in self._alias_tools})
        return found

    def _unknown_hint(self, name: str) -> str:
        candidates = sorted(set(self._tools) | set(self.aliases()))
        close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
        suggestion = " or ".join(f"'{c}'" for c in close)
        head = f"unknown tool; did you mean {suggestion}?" if close else "unknown tool."
        return (
            f"{head} Known tools: {', '.join(self.names())}; "
            "or reference your own function as 'package.module:function'"
        )


def _check_tool(tool: Tool) -> None:
    if not isinstance(tool, Tool):
        raise ToolError(str(tool), f"expected a Tool, got {type(tool).__name__}")
    if not _NAME.match(tool.name):
        raise ToolError(
            tool.name,
            "tool names must be 1-64 letters, digits, '_' or '-', starting with a letter or '_'",
        )
    if tool.parameters.get("type") != "object":
        raise ToolError(tool.name, "parameters must be a JSON schema with type 'object'")


def _load_reference(reference: str) -> Tool:
    """Import `pkg.module:attr.path`: a Tool is used as is, a function described from its hints."""
    module_name, _, attr_path = reference.partition(":")
    top = module_name.split(".", 1)[0]
    if top in getattr(sys, "stdlib_module_names", ()) or top == "builtins":
        raise ToolError(
            reference,
            f"'{module_name}' is a standard-library module; a reference names a function "
            "of your own code",
        )
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ToolError(
            reference,
            f"cannot import module '{module_name}' ({exc}); check it is installed or on PYTHONPATH",
        ) from exc
    except Exception as exc:
        raise ToolError(
            reference, f"importing module '{module_name}' failed: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attr_path.split("."):
        if not hasattr(target, part):
            public = [
                n
                for n in dir(target)
                if not n.startswith("_") and callable(getattr(target, n, None))
            ]
            close = difflib.get_close_matches(part, public, n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ToolError(reference, f"'{module_name}' has no attribute '{part}'{hint}")
        target = getattr(target, part)
    return _as_tool(target, reference, name=attr_path.rsplit(".", 1)[-1])


def _as_tool(obj: Any, where: str, *, name: str) -> Tool:
    if isinstance(obj, Tool):
        return obj
    if callable(obj):
        return tool_from_function(obj, name=name)
    raise ToolError(where, f"refers to a {type(obj).__name__}, not a Tool or a function")


def builtin_tools() -> tuple[list[Tool], dict[str, Tool]]:
    """The built-in tools, and the aliases that behave differently from their target."""
    from cagents.tools import calculator, data, files, unsafe, web

    tools = [*web.TOOLS, *files.TOOLS, *data.TOOLS, *calculator.TOOLS, *unsafe.TOOLS]
    return tools, dict(web.ALIAS_TOOLS)


def load_plugins(registry: ToolRegistry) -> None:
    """Register every tool of the `cagents.tools` entry-point group, named by its entry point.

    A plugin that fails to load, or that takes a name already in use, is recorded in
    `registry.plugin_errors` and reported when a workflow asks for it, so one broken
    package does not break every workflow.
    """
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in registry.names():
            # Built-ins (and the first plugin of a name) win; record why this one is ignored.
            registry.plugin_errors[entry.name] = (
                f"plugin {entry.value} is ignored: the name is already taken"
            )
            continue
        try:
            tool = _as_tool(entry.load(), f"entry point {entry.value}", name=entry.name)
            registry.register(replace(tool, name=entry.name))
        except ToolError as exc:
            registry.plugin_errors[entry.name] = f"plugin {entry.value} is not usable: {exc}"
        except Exception as exc:
            registry.plugin_errors[entry.name] = (
                f"plugin {entry.value} failed to load: {type(exc).__name__}: {exc}"
            )


@functools.lru_cache(maxsize=1)
def default_registry() -> ToolRegistry:
    """Built-ins plus installed plugins; cached (`default_registry.cache_clear()` reloads)."""
    tools, alias_tools = builtin_tools()
    registry = ToolRegistry(tools)
    for alias, tool in alias_tools.items():
        registry.register_alias(alias, tool)
    load_plugins(registry)
    return registry


def required_env(
    tool_names: Iterable[str], *, registry: ToolRegistry | None = None
) -> list[tuple[str, ...]]:
    """The API-key alternatives the named tools need, each group once, in first-seen order."""
    registry = registry or default_registry()
    groups: list[tuple[str, ...]] = []
    seen: set[frozenset[str]] = set()
    for name in tool_names:
        for group in registry.get(name).env_keys:
            if frozenset(group) not in seen:
                seen.add(frozenset(group))
                groups.append(group)
    return groups
