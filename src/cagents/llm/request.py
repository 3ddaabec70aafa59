"""The data a call takes and gives back: request, result, usage, tool bindings and records."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LLMRequest", "LLMResult", "StopToolLoop", "ToolBinding", "ToolCallRecord", "Usage"]


@dataclass(frozen=True)
class Usage:
    """Token counts of one or more model calls; `+` adds them up across attempts."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens,
                     self.completion_tokens + other.completion_tokens)

    @classmethod
    def estimate(cls, prompt: str, completion: str) -> Usage:
        """Rough counts (~4 characters a token) for servers that report none, and the simulator."""
        return cls(_tokens(prompt), _tokens(completion))


def _tokens(text: str) -> int:
    return (len(text) + 3) // 4


def messages_text(messages: Sequence[dict[str, Any]]) -> str:
    """All text of a message list, for token estimates and the simulator's seed."""
    parts: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [p.get("text", "") for p in content if isinstance(p, dict)]
        for call in message.get("tool_calls") or []:
            function = call.get("function", {})
            parts.append(f"{function.get('name', '')}{function.get('arguments', '')}")
    return "\n".join(parts)


@dataclass(frozen=True)
class ToolBinding:
    """A tool the model may call; the engine builds these from its tool registry."""

    name: str
    description: str
    parameters: dict[str, Any]
    call: Callable[[dict[str, Any]], Awaitable[Any]]

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI function-tool shape sent with the request."""
        parameters = self.parameters or {"type": "object", "properties": {}}
        return {"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": parameters}}


class StopToolLoop(Exception):
    """Raised by a tool binding to end the model's tool loop at once (a fatal tool error).

    Any other exception from a tool is reported back to the model as the tool's result.
    """


@dataclass
class ToolCallRecord:
    """One tool call the model asked for and what came of it (error results included)."""

    name: str
    arguments: dict[str, Any]
    result: Any
    error: str | None
    duration_s: float


@dataclass
class LLMRequest:
    """One logical model call: messages plus optional schema, validation, tools, streaming."""

    messages: list[dict[str, Any]]
    output_schema: dict[str, Any] | None = None
    validate: Callable[[Any], Any] | None = None
    tools: Sequence[ToolBinding] = ()
    max_tool_steps: int = 8
    max_repair_attempts: int = 2
    on_token: Callable[[str], None] | None = None
    label: str = ""


@dataclass
class LLMResult:
    """The final answer, its parsed data, and what it cost across every attempt."""

    content: str
    data: Any
    usage: Usage
    cost_usd: float | None
    model: str
    provider: str
    simulated: bool
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    attempts: int = 1
