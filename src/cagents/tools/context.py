"""What a tool may touch during one call: workspace, environment, its config and allowances."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = ["ToolContext", "default_workspace"]


def default_workspace() -> Path:
    """`CAGENTS_WORKSPACE` if set, else the current directory: file tools stay inside it."""
    return Path(os.environ.get("CAGENTS_WORKSPACE") or os.getcwd())


def _environment() -> Mapping[str, str]:
    return MappingProxyType(dict(os.environ))


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ToolContext:
    """Per-call context handed to every tool; immutable so one call cannot widen the next."""

    #: Root that file and SQLite tools may touch; stored resolved (symlinks followed).
    workspace: Path = field(default_factory=default_workspace)
    #: Environment of this run (API keys). Kept out of repr so it is never logged.
    env: Mapping[str, str] = field(default_factory=_environment, repr=False)
    #: The tool's own `config:` block from the workflow node.
    config: Mapping[str, Any] = field(default_factory=_empty)
    #: Unsafe tools the workflow allowed in `config.tools.allow`.
    allow: frozenset[str] = frozenset()
    #: Workflow-level `config.tools.allow_private_network`.
    allow_private_network: bool = False
    #: Seconds one call may take before it is abandoned.
    timeout: float = 30.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "workspace", Path(self.workspace).expanduser().resolve())
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))
        object.__setattr__(self, "config", MappingProxyType(dict(self.config or {})))
        if isinstance(self.allow, str):
            object.__setattr__(self, "allow", frozenset({self.allow}))
        else:
            object.__setattr__(self, "allow", frozenset(self.allow))
        if not self.timeout > 0:
            raise ValueError(f"ToolContext.timeout must be positive, got {self.timeout!r}")

    @property
    def private_network_allowed(self) -> bool:
        """Workflow-level switch, or the tool's own `config: {allow_private_network: true}`."""
        return self.allow_private_network or self.config.get("allow_private_network") is True

    def with_config(self, config: Mapping[str, Any] | None) -> ToolContext:
        """The same context for a tool with its own `config:` block."""
        return replace(self, config=dict(config or {}))

    def with_allow(self, names: Iterable[str]) -> ToolContext:
        """The same context with more unsafe tools allowed."""
        return replace(self, allow=self.allow | frozenset(names))
