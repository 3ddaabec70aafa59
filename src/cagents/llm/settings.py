"""Which model endpoint a call uses: LLM settings, the provider table, endpoint resolution.

Keys come only from the environment (never from YAML); an endpoint's repr never shows one.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType

from cagents.config.providers import PROVIDER_INFO, ProviderInfo
from cagents.errors import LLMError

__all__ = [
    "PROVIDERS",
    "Endpoint",
    "LLMSettings",
    "ProviderInfo",
    "required_key_env",
    "resolve_endpoint",
]

#: Environment variables that change where calls go.
GATEWAY_URL_ENV = "CAGENTS_LLM_BASE_URL"
GATEWAY_KEY_ENV = "CAGENTS_LLM_API_KEY"
SIMULATOR_ENV = "CAGENTS_SIMULATOR"
AZURE_ENDPOINT_ENV = "AZURE_OPENAI_ENDPOINT"

#: What the openai SDK gets when no key applies (it refuses an empty one).
NO_KEY = "none"


@dataclass(frozen=True)
class LLMSettings:
    """Model settings from the workflow's `config.llm`, possibly overridden per node."""

    provider: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    base_url: str | None = None
    api_key_env: str | None = None

    def merged(self, override: LLMSettings | None) -> LLMSettings:
        """These settings with every field the override sets replaced (node wins)."""
        if override is None:
            return self
        changes = {
            f.name: getattr(override, f.name)
            for f in fields(override)
            if getattr(override, f.name) is not None
        }
        return replace(self, **changes)


#: The provider table of the workflow language (one table for validation and calls).
PROVIDERS: Mapping[str, ProviderInfo] = MappingProxyType(PROVIDER_INFO)


@dataclass(frozen=True)
class Endpoint:
    """What a call really uses; `reason` says why (shown to users), the key is never shown."""

    provider: str
    model: str
    base_url: str | None
    api_key: str | None = field(repr=False)
    simulated: bool
    reason: str
    #: Name of the variable the key came from, for messages ("the key in X was refused").
    key_env: str | None = None

    def __str__(self) -> str:
        where = "offline simulator" if self.simulated else (self.base_url or "api.openai.com")
        return f"{self.provider}:{self.model} via {where}"


def _provider_info(settings: LLMSettings) -> ProviderInfo:
    name = (settings.provider or "openai").strip().lower()
    info = PROVIDERS.get(name)
    if info is None:
        known = ", ".join(PROVIDERS)
        close = difflib.get_close_matches(name, list(PROVIDERS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise LLMError(f"unknown LLM provider '{settings.provider}'{hint}; known providers: {known}")
    return info


def _key_envs(settings: LLMSettings, info: ProviderInfo) -> tuple[str, ...]:
    """Variables to read the key from, first found wins.

    A bare `base_url` with no provider is a custom server: it only gets a key named by
    `api_key_env`, so an OpenAI key is not sent to a third party by accident.
    """
    if settings.api_key_env:
        return (settings.api_key_env,)
    if settings.provider is None and settings.base_url:
        return ()
    return info.key_envs


def required_key_env(settings: LLMSettings) -> str | None:
    """The variable a workflow needs set for real calls, or None when no key is needed."""
    info = _provider_info(settings)
    if info.name == "simulator":
        return None
    envs = _key_envs(settings, info)
    return envs[0] if envs else None


def _azure_base_url(endpoint: str) -> str:
    """Azure's OpenAI-compatible v1 path under a resource endpoint."""
    endpoint = endpoint.rstrip("/")
    if endpoint.endswith("/openai/v1"):
        return endpoint + "/"
    return endpoint + "/openai/v1/"


def resolve_endpoint(settings: LLMSettings, env: Mapping[str, str] | None = None) -> Endpoint:
    """Decide provider, model, URL and key for a call (gateway, real provider or simulator)."""
    env = os.environ if env is None else env
    info = _provider_info(settings)
    model = settings.model or info.default_model
    if info.name == "simulator":
        return Endpoint("simulator", model, None, None, True, "provider: simulator")

    gateway = env.get(GATEWAY_URL_ENV)
    if gateway:
        return Endpoint(info.name, model, gateway, env.get(GATEWAY_KEY_ENV) or NO_KEY, False,
                        f"{GATEWAY_URL_ENV} is set: every call goes to the gateway",
                        key_env=GATEWAY_KEY_ENV)

    key_envs = _key_envs(settings, info)
    key_env = next((name for name in key_envs if env.get(name)), None)
    key = env.get(key_env) if key_env else None
    base_url = settings.base_url or info.base_url
    if info.name == "azure":
        azure = settings.base_url or env.get(AZURE_ENDPOINT_ENV)
        base_url = _azure_base_url(azure) if azure else None
        if base_url is None and key is not None:
            raise LLMError(
                "provider azure needs the resource endpoint: set config.llm.base_url "
                f"or {AZURE_ENDPOINT_ENV} (e.g. https://NAME.openai.azure.com)"
            )

    if key is not None:
        return Endpoint(info.name, model, base_url, key, False,
                        f"key from {key_env}", key_env=key_env)
    if settings.base_url:
        why = f"{key_envs[0]} not set: calling {base_url} without a key" if key_envs else (
            f"calling {base_url} without a key")
        return Endpoint(info.name, model, base_url, NO_KEY, False, why,
                        key_env=key_envs[0] if key_envs else None)
    if not info.needs_key:
        return Endpoint(info.name, model, base_url, NO_KEY, False, f"{info.name} needs no key")

    missing = " or ".join(key_envs)
    if env.get(SIMULATOR_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        raise LLMError(
            f"no {missing} set; set it, set {GATEWAY_URL_ENV}, or use provider: simulator "
            f"({SIMULATOR_ENV}=off disables the offline simulator)"
        )
    return Endpoint(info.name, model, None, None, True, f"no {missing} set: offline simulator")
