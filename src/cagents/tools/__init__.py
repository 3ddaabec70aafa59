"""Tools that workflow nodes call: a registry, the built-ins and the one way to run a tool."""

from __future__ import annotations

from cagents.tools.calling import call_tool
from cagents.tools.context import ToolContext
from cagents.tools.registry import (
    ENTRY_POINT_GROUP,
    ToolRegistry,
    builtin_tools,
    default_registry,
    required_env,
)
from cagents.tools.schema_from_hints import tool_from_function
from cagents.tools.tool import Tool, ToolFailure

__all__ = [
    "ENTRY_POINT_GROUP",
    "Tool",
    "ToolContext",
    "ToolFailure",
    "ToolRegistry",
    "builtin_tools",
    "call_tool",
    "default_registry",
    "required_env",
    "tool_from_function",
]
