"""Which environment variables each LLM provider reads its key from.

This is language-level knowledge (a workflow naming `provider: anthropic` needs
`ANTHROPIC_API_KEY`), so validation can list the keys a workflow needs without importing
the LLM client; `cagents.llm` builds its endpoints on the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ProviderInfo", "PROVIDER_INFO", "GATEWAY_URL_ENV", "GATEWAY_KEY_ENV"]

GATEWAY_URL_ENV = "CAGENTS_LLM_BASE_URL"
GATEWAY_KEY_ENV = "CAGENTS_LLM_API_KEY"


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    base_url: str | None
    key_envs: tuple[str, ...]  # alternatives, first found wins; empty: no key needed
    default_model: str

    @property
    def needs_key(self) -> bool:
        return bool(self.key_envs)


PROVIDER_INFO: dict[str, ProviderInfo] = {
    info.name: info
    for info in (
        ProviderInfo("openai", None, ("OPENAI_API_KEY",), "gpt-4o-mini"),  # the SDK's default URL
        ProviderInfo("azure", None, ("AZURE_OPENAI_API_KEY",), "gpt-4o-mini"),
        ProviderInfo("ollama", "http://127.0.0.1:11434/v1", (), "llama3.1"),
        ProviderInfo(
            "google",
            "https://generativelanguage.googleapis.com/v1beta/openai/",
            ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
            "gemini-2.0-flash",
        ),
        ProviderInfo(
            "anthropic", "https://api.anthropic.com/v1/", ("ANTHROPIC_API_KEY",), "claude-3-5-haiku-latest"
        ),
        ProviderInfo(
            "openrouter", "https://openrouter.ai/api/v1", ("OPENROUTER_API_KEY",), "openai/gpt-4o-mini"
        ),
        ProviderInfo("simulator", None, (), "simulator"),
    )
}
