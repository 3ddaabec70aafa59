"""OpenAI-compatible chat client: providers, structured output, tool loop, usage and cost.

Calls go through the `openai` SDK to any OpenAI-compatible endpoint, or to the offline
simulator when no key is configured. `openai` and `httpx` are imported on first call only.
"""

from __future__ import annotations

from cagents.llm._transport import aclose_clients
from cagents.llm.client import acomplete, complete
from cagents.llm.prices import cost_usd, load_prices, user_prices_path
from cagents.llm.request import (
    LLMRequest,
    LLMResult,
    StopToolLoop,
    ToolBinding,
    ToolCallRecord,
    Usage,
)
from cagents.llm.settings import (
    PROVIDERS,
    Endpoint,
    LLMSettings,
    ProviderInfo,
    required_key_env,
    resolve_endpoint,
)
from cagents.llm.simulator import example_value, simulate

__all__ = [
    "PROVIDERS",
    "Endpoint",
    "LLMRequest",
    "LLMResult",
    "LLMSettings",
    "ProviderInfo",
    "StopToolLoop",
    "ToolBinding",
    "ToolCallRecord",
    "Usage",
    "aclose_clients",
    "acomplete",
    "complete",
    "cost_usd",
    "example_value",
    "load_prices",
    "required_key_env",
    "resolve_endpoint",
    "simulate",
    "user_prices_path",
]
