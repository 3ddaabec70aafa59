"""Pytest fixtures that start the scripted OpenAI-compatible server for one test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.llm_server import ScriptedLLMServer


@pytest.fixture
def llm_server() -> Iterator[ScriptedLLMServer]:
    """A scripted server on 127.0.0.1, started for the test and stopped after it."""
    server = ScriptedLLMServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm_env(llm_server: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch) -> ScriptedLLMServer:
    """Route every LLM call of the test to the scripted server through the gateway variables."""
    monkeypatch.setenv("CAGENTS_LLM_BASE_URL", llm_server.url)
    monkeypatch.setenv("CAGENTS_LLM_API_KEY", "test-key")
    return llm_server
