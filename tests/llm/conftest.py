"""Fixtures for the LLM client tests: the scripted OpenAI-compatible server."""

from __future__ import annotations

from support.llm_fixtures import llm_env, llm_server  # noqa: F401

__all__ = ["llm_env", "llm_server"]
