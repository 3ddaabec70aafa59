"""Shared fixtures: real components started per test (an OpenAI-compatible server, a home dir)."""

from __future__ import annotations

import pytest

from support.llm_fixtures import llm_env, llm_server  # noqa: F401  (fixtures re-exported)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own workbench home and no provider keys from the developer's shell."""
    home = tmp_path_factory.mktemp("cagents-home")
    monkeypatch.setenv("CAGENTS_HOME", str(home))
    # MLflow tracing costs an import of seconds: tests that trace turn it on themselves.
    monkeypatch.setenv("CAGENTS_TRACING", "off")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # Set by the server extension for its kernels; set (empty) here so it is restored after
    # a test whose in-process Jupyter server wrote it.
    monkeypatch.setenv("CAGENTS_JUPYTER_BASE_URL", "")
    for name in (
        "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY",
        "OPENROUTER_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT",
        "CAGENTS_LLM_BASE_URL", "CAGENTS_LLM_API_KEY", "TAVILY_API_KEY", "SERPER_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
