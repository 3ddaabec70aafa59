"""Endpoint resolution: providers, keys from the environment, gateway, simulator fallback."""

from __future__ import annotations

import pytest

from cagents.errors import LLMError
from cagents.llm import PROVIDERS, LLMSettings, required_key_env, resolve_endpoint


def test_node_override_wins_field_by_field() -> None:
    base = LLMSettings(provider="openai", model="gpt-4o", temperature=0.2, max_tokens=100)
    node = LLMSettings(model="gpt-4o-mini", temperature=0.0)
    merged = base.merged(node)
    assert merged == LLMSettings(provider="openai", model="gpt-4o-mini", temperature=0.0,
                                 max_tokens=100)
    assert base.merged(None) is base


@pytest.mark.parametrize(
    ("provider", "env", "base_url", "key"),
    [
        (None, {"OPENAI_API_KEY": "k1"}, None, "k1"),
        ("openai", {"OPENAI_API_KEY": "k1"}, None, "k1"),
        ("anthropic", {"ANTHROPIC_API_KEY": "k2"}, "https://api.anthropic.com/v1/", "k2"),
        ("google", {"GOOGLE_API_KEY": "g1", "GEMINI_API_KEY": "g2"},
         "https://generativelanguage.googleapis.com/v1beta/openai/", "g1"),
        ("google", {"GEMINI_API_KEY": "g2"},
         "https://generativelanguage.googleapis.com/v1beta/openai/", "g2"),
        ("openrouter", {"OPENROUTER_API_KEY": "o1"}, "https://openrouter.ai/api/v1", "o1"),
        ("ollama", {}, "http://127.0.0.1:11434/v1", "none"),
        ("azure", {"AZURE_OPENAI_API_KEY": "a1",
                   "AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com/"},
         "https://res.openai.azure.com/openai/v1/", "a1"),
    ],
)
def test_provider_table_with_keys(provider: str | None, env: dict[str, str],
                                  base_url: str | None, key: str) -> None:
    endpoint = resolve_endpoint(LLMSettings(provider=provider), env)
    assert not endpoint.simulated
    assert endpoint.base_url == base_url
    assert endpoint.api_key == key
    assert endpoint.model == PROVIDERS[provider or "openai"].default_model


@pytest.mark.parametrize(
    ("provider", "missing"),
    [(None, "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY"),
     ("google", "GOOGLE_API_KEY or GEMINI_API_KEY"), ("openrouter", "OPENROUTER_API_KEY"),
     ("azure", "AZURE_OPENAI_API_KEY")],
)
def test_missing_key_falls_back_to_simulator_with_reason(provider: str | None, missing: str) -> None:
    endpoint = resolve_endpoint(LLMSettings(provider=provider, model="m"), {})
    assert endpoint.simulated
    assert endpoint.reason == f"no {missing} set: offline simulator"
    assert endpoint.model == "m"


def test_simulator_fallback_can_be_turned_off() -> None:
    with pytest.raises(LLMError) as caught:
        resolve_endpoint(LLMSettings(), {"CAGENTS_SIMULATOR": "off"})
    message = str(caught.value)
    assert "no OPENAI_API_KEY set; set it, set CAGENTS_LLM_BASE_URL, or use provider: simulator" in message


def test_explicit_simulator_provider() -> None:
    endpoint = resolve_endpoint(LLMSettings(provider="simulator"),
                                {"CAGENTS_LLM_BASE_URL": "http://127.0.0.1:1/v1",
                                 "CAGENTS_SIMULATOR": "off"})
    assert endpoint.simulated and endpoint.reason == "provider: simulator"


@pytest.mark.parametrize("provider", [None, "openai", "anthropic", "ollama", "azure"])
def test_gateway_takes_every_call(provider: str | None) -> None:
    env = {"CAGENTS_LLM_BASE_URL": "http://127.0.0.1:9/v1", "ANTHROPIC_API_KEY": "real"}
    endpoint = resolve_endpoint(LLMSettings(provider=provider, base_url="http://elsewhere/v1"), env)
    assert endpoint.base_url == "http://127.0.0.1:9/v1"
    assert endpoint.api_key == "none"
    assert not endpoint.simulated
    env["CAGENTS_LLM_API_KEY"] = "gw"
    assert resolve_endpoint(LLMSettings(provider=provider), env).api_key == "gw"


def test_base_url_without_provider_gets_only_the_named_key() -> None:
    env = {"OPENAI_API_KEY": "openai-secret", "MY_KEY": "mine"}
    bare = resolve_endpoint(LLMSettings(base_url="http://127.0.0.1:8000/v1"), env)
    assert bare.api_key == "none" and not bare.simulated
    named = resolve_endpoint(LLMSettings(base_url="http://127.0.0.1:8000/v1", api_key_env="MY_KEY"), env)
    assert named.api_key == "mine" and named.key_env == "MY_KEY"


def test_api_key_env_replaces_the_provider_variable() -> None:
    settings = LLMSettings(provider="openai", api_key_env="TEAM_KEY")
    assert resolve_endpoint(settings, {"OPENAI_API_KEY": "x"}).simulated
    assert resolve_endpoint(settings, {"TEAM_KEY": "t"}).api_key == "t"
    assert required_key_env(settings) == "TEAM_KEY"


def test_azure_needs_an_endpoint() -> None:
    with pytest.raises(LLMError, match="AZURE_OPENAI_ENDPOINT"):
        resolve_endpoint(LLMSettings(provider="azure"), {"AZURE_OPENAI_API_KEY": "a"})
    endpoint = resolve_endpoint(
        LLMSettings(provider="azure", base_url="https://r.openai.azure.com/openai/v1"),
        {"AZURE_OPENAI_API_KEY": "a"})
    assert endpoint.base_url == "https://r.openai.azure.com/openai/v1/"


def test_unknown_provider_lists_known_ones_with_hint() -> None:
    with pytest.raises(LLMError) as caught:
        resolve_endpoint(LLMSettings(provider="antropic"), {})
    message = str(caught.value)
    assert "did you mean 'anthropic'" in message
    for name in PROVIDERS:
        assert name in message


@pytest.mark.parametrize(
    ("settings", "expected"),
    [(LLMSettings(), "OPENAI_API_KEY"), (LLMSettings(provider="google"), "GOOGLE_API_KEY"),
     (LLMSettings(provider="ollama"), None), (LLMSettings(provider="simulator"), None),
     (LLMSettings(base_url="http://127.0.0.1:1/v1"), None)],
)
def test_required_key_env(settings: LLMSettings, expected: str | None) -> None:
    assert required_key_env(settings) == expected


def test_endpoint_never_shows_the_key() -> None:
    endpoint = resolve_endpoint(LLMSettings(), {"OPENAI_API_KEY": "sk-canary-123456"})
    assert endpoint.api_key == "sk-canary-123456"
    assert "canary" not in repr(endpoint)
    assert "canary" not in str(endpoint)


def test_reads_os_environ_when_no_mapping_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "from-os")
    assert resolve_endpoint(LLMSettings(provider="openrouter")).api_key == "from-os"
