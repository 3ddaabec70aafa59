"""Tool names that are part of the workflow language, so validation can check them offline.

The tools package implements every name listed here (a test keeps the two in step); the
language only needs the names, the aliases of configurable-agents configs, and which tools
are unsafe and exist only behind an explicit allowlist (`config.tools.allow`).
"""

from __future__ import annotations

import re

__all__ = [
    "BUILTIN_TOOLS",
    "TOOL_ALIASES",
    "TOOL_ENV_KEYS",
    "UNSAFE_TOOLS",
    "canonical_tool_name",
    "is_reference",
]

#: Built-in tools, safe by default (network and file tools still refuse what is not allowed).
BUILTIN_TOOLS: frozenset[str] = frozenset(
    {
        "web_search",
        "http_request",
        "fetch_url",
        "calculator",
        "read_file",
        "write_file",
        "glob_files",
        "move_file",
        "sql_query",
        "json_parse",
        "yaml_parse",
    }
)

#: Tools that run commands or read the environment: only with `config.tools.allow: [name]`.
UNSAFE_TOOLS: frozenset[str] = frozenset({"shell", "process", "env_vars"})

#: Names used by configurable-agents configs, mapped onto ours.
TOOL_ALIASES: dict[str, str] = {
    "serper_search": "web_search",
    "web_scrape": "fetch_url",
    "http_client": "http_request",
    "file_read": "read_file",
    "file_write": "write_file",
    "file_glob": "glob_files",
    "file_move": "move_file",
}

#: API keys built-in tools need (alternatives in one tuple), listed by validation and used
#: by the tools themselves.
TOOL_ENV_KEYS: dict[str, tuple[str, ...]] = {"web_search": ("TAVILY_API_KEY", "SERPER_API_KEY")}

_REFERENCE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


def canonical_tool_name(name: str) -> str:
    """The built-in name an alias stands for (or the name itself)."""
    return TOOL_ALIASES.get(name, name)


def is_reference(name: str) -> bool:
    """True for a `package.module:function` reference to a user's Python function."""
    return bool(_REFERENCE.match(name))
