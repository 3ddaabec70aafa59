"""The model call: structured output with repair, the tool-calling loop, usage and cost.

`acomplete` turns one `LLMRequest` into one `LLMResult`, however many round trips it takes
(tool rounds, schema repairs, a fallback when the server has no json_schema mode).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from cagents.errors import LLMError
from cagents.llm import _schema
from cagents.llm._tools import run_tool_calls
from cagents.llm._transport import FormatRejected, Reply, chat
from cagents.llm.prices import cost_usd
from cagents.llm.request import LLMRequest, LLMResult, ToolCallRecord, Usage
from cagents.llm.settings import Endpoint, LLMSettings, resolve_endpoint
from cagents.llm.simulator import simulate

__all__ = ["acomplete", "complete"]

log = logging.getLogger("cagents.llm")

#: (base_url, model) pairs whose server refused `response_format` json_schema.
_NO_JSON_SCHEMA: set[tuple[str | None, str]] = set()

_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


async def acomplete(
    request: LLMRequest,
    settings: LLMSettings,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    retries: int = 3,
    backoff: float = 0.5,
) -> LLMResult:
    """Run one logical model call (real endpoint or offline simulator)."""
    endpoint = resolve_endpoint(settings, env)
    if endpoint.simulated:
        log.debug("%s: %s (%s)", request.label or "llm", endpoint, endpoint.reason)
        return simulate(request, endpoint)
    return await _Conversation(request, settings, endpoint, timeout, retries, backoff).run()


def complete(
    request: LLMRequest,
    settings: LLMSettings,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    retries: int = 3,
    backoff: float = 0.5,
) -> LLMResult:
    """Blocking `acomplete` for code with no running event loop (scripts, worker threads)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(acomplete(request, settings, env=env, timeout=timeout,
                                     retries=retries, backoff=backoff))
    raise RuntimeError(
        "cagents.llm.complete() cannot run inside a running event loop (e.g. a notebook "
        "cell or async code): use `await cagents.llm.acomplete(...)` there"
    )


class _Conversation:
    """The messages and totals of one request across its round trips."""

    def __init__(self, request: LLMRequest, settings: LLMSettings, endpoint: Endpoint,
                 timeout: float, retries: int, backoff: float) -> None:
        self.request = request
        self.settings = settings
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.messages: list[dict[str, Any]] = [dict(m) for m in request.messages]
        self.usage = Usage()
        self.records: list[ToolCallRecord] = []
        self.prefix = f"{request.label}: " if request.label else ""
        self.format_key = (endpoint.base_url, endpoint.model)
        self.use_format = request.output_schema is not None and (
            self.format_key not in _NO_JSON_SCHEMA)
        if request.output_schema is not None and not self.use_format:
            self._add_instruction()

    async def run(self) -> LLMResult:
        request = self.request
        rounds = attempts = 0
        while True:
            reply = await self._ask()
            self.usage += reply.usage
            if reply.tool_calls:
                if rounds >= request.max_tool_steps:
                    raise LLMError(
                        f"{self.prefix}the model still asked for tools after {rounds} tool "
                        f"rounds (max_tool_steps={request.max_tool_steps}); raise the bound "
                        "or make the task need fewer tool calls")
                rounds += 1
                await self._run_tools(reply)
                continue
            attempts += 1
            try:
                data = self._accept(reply.content)
            except ValueError as exc:
                problem = str(exc)
                if reply.truncated:
                    problem += " (the answer was cut off at max_tokens; raise max_tokens)"
                if attempts > request.max_repair_attempts:
                    what = "output did not match the schema" if request.output_schema \
                        is not None else "answer was not accepted"
                    raise LLMError(f"{self.prefix}the model's {what} after {attempts} "
                                   f"attempts: {problem}") from None
                self._ask_for_repair(reply.content, problem)
                continue
            return self._result(reply, data, attempts)

    async def _ask(self) -> Reply:
        while True:
            try:
                return await chat(self.endpoint, self._payload(), on_token=self.request.on_token,
                                  timeout=self.timeout, retries=self.retries,
                                  backoff=self.backoff, label=self.request.label)
            except FormatRejected as exc:  # only raised while response_format is sent
                log.info("%s has no json_schema response format (%s); using a prompt instead",
                         self.endpoint, exc)
                _NO_JSON_SCHEMA.add(self.format_key)
                self.use_format = False
                self._add_instruction()

    def _payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"model": self.endpoint.model, "messages": self.messages}
        if self.settings.temperature is not None:
            payload["temperature"] = self.settings.temperature
        if self.settings.max_tokens is not None:
            payload[self._max_tokens_name()] = self.settings.max_tokens
        if self.request.tools:
            payload["tools"] = [tool.to_openai() for tool in self.request.tools]
        if self.use_format and self.request.output_schema is not None:
            payload["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "output", "schema": self.request.output_schema, "strict": False}}
        return payload

    def _max_tokens_name(self) -> str:
        """OpenAI's reasoning models only accept `max_completion_tokens`."""
        model = self.endpoint.model.lower()
        if self.endpoint.provider in ("openai", "azure") and model.startswith(_REASONING_PREFIXES):
            return "max_completion_tokens"
        return "max_tokens"

    def _add_instruction(self) -> None:
        """Ask for the schema in the system prompt (first system message, or a new one)."""
        assert self.request.output_schema is not None
        text = _schema.schema_instruction(self.request.output_schema)
        first = self.messages[0] if self.messages else None
        if first is not None and first.get("role") == "system" and isinstance(first.get("content"), str):
            self.messages[0] = {**first, "content": f"{first['content']}\n\n{text}"}
        else:
            self.messages.insert(0, {"role": "system", "content": text})

    async def _run_tools(self, reply: Reply) -> None:
        self.messages.append({"role": "assistant", "content": reply.content or None,
                              "tool_calls": reply.tool_calls})
        for message, record in await run_tool_calls(reply.tool_calls, self.request.tools):
            self.messages.append(message)
            self.records.append(record)
            if record.error:
                log.info("%stool %s failed: %s", self.prefix, record.name, record.error)

    def _accept(self, content: str) -> Any:
        """Parse and validate an answer; ValueError says what the model must fix."""
        schema = self.request.output_schema
        value: Any = content
        if schema is not None:
            value = _schema.parse_json(content)
            problems = _schema.check(value, schema)
            if problems:
                raise ValueError("; ".join(problems[:8]))
        if self.request.validate is not None:
            value = self.request.validate(value)
        return value

    def _ask_for_repair(self, content: str, error: str) -> None:
        schema = self.request.output_schema
        if schema is not None:
            # The schema is repeated: some servers accept response_format and ignore it.
            ask = (f"Your answer could not be used: {error}. Reply again with only the "
                   "corrected JSON value, matching this JSON Schema:\n"
                   + json.dumps(schema, sort_keys=True))
        else:
            ask = f"Your answer could not be used: {error}. Please answer again."
        self.messages.append({"role": "assistant", "content": content})
        self.messages.append({"role": "user", "content": ask})

    def _result(self, reply: Reply, data: Any, attempts: int) -> LLMResult:
        model = reply.model or self.endpoint.model
        return LLMResult(
            content=reply.content, data=data, usage=self.usage,
            cost_usd=self._cost(model), model=model, provider=self.endpoint.provider,
            simulated=False, tool_calls=self.records, attempts=attempts,
        )

    def _cost(self, answered_model: str) -> float | None:
        """Price by the requested model, else by the one the server says answered."""
        try:
            cost = cost_usd(self.endpoint.model, self.usage)
            if cost is None and answered_model != self.endpoint.model:
                cost = cost_usd(answered_model, self.usage)
        except LLMError as exc:  # a broken price file must not lose a paid answer
            log.warning("%scost unknown: %s", self.prefix, exc)
            return None
        return cost
