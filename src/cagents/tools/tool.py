"""The `Tool` record: a name, a JSON schema of its arguments and the function that does the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Tool", "ToolFailure"]


class ToolFailure(Exception):
    """An expected refusal or failure inside a tool's function.

    Tool functions raise it with a message meant for the user or the model; `call_tool`
    turns it into a `ToolError` under the name the tool was called by (aliases included).
    """


@dataclass(frozen=True, eq=False)
class Tool:
    """A callable the model (or a `kind: tool` node) can use.

    `func` is called as `func(args, ctx)` with the checked arguments and a `ToolContext`;
    it may be sync (run in a worker thread) or async.
    """

    name: str
    description: str
    #: JSON schema (`type: object`) of the arguments, as the model sees it.
    parameters: dict[str, Any]
    func: Callable[..., Any]
    #: Runs commands or reads the environment: only with `config.tools.allow: [name]`.
    unsafe: bool = False
    #: API keys needed; each inner tuple lists alternatives (any one of them is enough).
    env_keys: tuple[tuple[str, ...], ...] = ()

    def to_openai(self) -> dict[str, Any]:
        """The `tools=[...]` entry of an OpenAI-compatible chat request."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }
