"""The assistant's own model: which one it calls, with which keys, and what its calls cost.

The provider and model come from `CAGENTS_ASSISTANT_PROVIDER` / `CAGENTS_ASSISTANT_MODEL`
(default: the provider table's default, `openai` / `gpt-4o-mini`); `CAGENTS_LLM_BASE_URL`
sends the calls to any OpenAI-compatible server. With no key the offline drafter answers.
Keys typed into the chat's env area are used for that one call and kept nowhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cagents.llm import Endpoint, LLMRequest, LLMResult, LLMSettings

__all__ = ["MODEL_ENV", "PROVIDER_ENV", "Spend", "ask", "call_env", "endpoint", "scrub", "settings"]

PROVIDER_ENV = "CAGENTS_ASSISTANT_PROVIDER"
MODEL_ENV = "CAGENTS_ASSISTANT_MODEL"
#: A chat turn should fail fast and say so, rather than retry for long.
TIMEOUT_SECONDS = 90.0
RETRIES = 1


def settings(environ: Mapping[str, str] | None = None) -> LLMSettings:
    from cagents.llm import LLMSettings

    env = os.environ if environ is None else environ
    return LLMSettings(provider=(env.get(PROVIDER_ENV) or "").strip() or None,
                       model=(env.get(MODEL_ENV) or "").strip() or None, temperature=0.2)


def call_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    """The server's environment with the request's env values on top (for this call only)."""
    return {**os.environ, **(extra or {})}


def endpoint(llm: LLMSettings, env: Mapping[str, str]) -> Endpoint:
    """Where calls go; an LLMError when no key is set and the simulator is switched off."""
    from cagents.llm import resolve_endpoint

    return resolve_endpoint(llm, env)


async def ask(request: LLMRequest, llm: LLMSettings, env: Mapping[str, str]) -> LLMResult:
    from cagents.llm import acomplete

    return await acomplete(request, llm, env=env, timeout=TIMEOUT_SECONDS, retries=RETRIES, backoff=0.2)


def scrub(text: str, env: Mapping[str, str] | None) -> str:
    """`text` with every value of the request's env replaced: an error may quote what it got."""
    for value in sorted((v for v in (env or {}).values() if len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, "[hidden]")
    return text


@dataclass
class Spend:
    """Tokens and cost of the model calls of one turn (message metadata)."""

    model: str
    provider: str
    offline: bool
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0
    calls: int = 0
    attempts: int = 0

    def add(self, result: LLMResult) -> None:
        self.model, self.provider = result.model, result.provider
        self.prompt_tokens += result.usage.prompt_tokens
        self.completion_tokens += result.usage.completion_tokens
        self.cost_usd = None if self.cost_usd is None or result.cost_usd is None else \
            round(self.cost_usd + result.cost_usd, 8)
        self.calls += 1

    def metadata(self) -> dict[str, Any]:
        data: dict[str, Any] = {"model": self.model, "provider": self.provider, "offline": self.offline,
                                "simulated": self.offline}
        if self.calls or not self.offline:
            data["tokens"] = {"prompt": self.prompt_tokens, "completion": self.completion_tokens,
                              "total": self.prompt_tokens + self.completion_tokens}
            data["cost_usd"] = self.cost_usd
            data["calls"] = self.calls
        if self.attempts:
            data["attempts"] = self.attempts
        return data
