"""Failures: retries with backoff, final transient errors, refusals, timeouts, and keys that
must never show up in an error, a repr or a log line."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from cagents.errors import LLMError
from cagents.llm import LLMRequest, LLMSettings, acomplete
from support.llm_server import ScriptedLLMServer

CANARY = "sk-canary-7f3a9c1e5b"
TINY = 0.001  # backoff seconds


def _ask() -> LLMRequest:
    return LLMRequest(messages=[{"role": "user", "content": "hello"}], label="writer")


async def test_rate_limit_then_success(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(status=429, error="slow down", headers={"Retry-After": "0.3"})
    llm_env.reply(status=503, error="overloaded")
    llm_env.reply("finally", usage=(4, 2))
    started = time.monotonic()
    result = await acomplete(_ask(), LLMSettings(), retries=3, backoff=TINY)
    assert time.monotonic() - started >= 0.3  # Retry-After honoured over the tiny backoff
    assert result.content == "finally"
    assert len(llm_env.requests) == 3
    assert result.usage.total_tokens == 6


async def test_server_errors_exhaust_retries(llm_env: ScriptedLLMServer) -> None:
    for _ in range(3):
        llm_env.reply(status=500, error="database on fire")
    with pytest.raises(LLMError) as caught:
        await acomplete(_ask(), LLMSettings(model="gpt-4o"), retries=2, backoff=TINY)
    error = caught.value
    assert error.transient and error.status == 500
    message = str(error)
    assert message.startswith("writer: openai model 'gpt-4o' at " + llm_env.url)
    assert "failed after 3 attempt(s): HTTP 500: database on fire" in message
    assert len(llm_env.requests) == 3


async def test_empty_script_fails_loudly(llm_env: ScriptedLLMServer) -> None:
    with pytest.raises(LLMError, match="no scripted reply left"):
        await acomplete(_ask(), LLMSettings(), retries=0)


async def test_bad_request_is_not_retried(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(status=400, error="messages: must not be empty")
    llm_env.reply("never used")
    with pytest.raises(LLMError) as caught:
        await acomplete(_ask(), LLMSettings(), backoff=TINY)
    assert not caught.value.transient and caught.value.status == 400
    assert "rejected the request (HTTP 400): messages: must not be empty" in str(caught.value)
    assert llm_env.pending == 1


async def test_not_found_points_at_model_and_base_url(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(status=404, error="model 'gpt-9' does not exist")
    with pytest.raises(LLMError, match="check the model name and base_url"):
        await acomplete(_ask(), LLMSettings(model="gpt-9"), backoff=TINY)


async def test_refused_key_is_named_but_never_shown(
    llm_server: ScriptedLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    llm_server.reply(status=401, error=f"Incorrect API key provided: {CANARY}")
    settings = LLMSettings(provider="openai", base_url=llm_server.url)
    with pytest.raises(LLMError) as caught:
        await acomplete(_ask(), settings, env={"OPENAI_API_KEY": CANARY}, backoff=TINY)
    error = caught.value
    assert error.status == 401 and not error.transient
    assert "the API key in OPENAI_API_KEY was refused" in str(error)
    for text in (str(error), repr(error), repr(error.to_dict()), caplog.text):
        assert CANARY not in text
    assert llm_server.request_headers[0]["authorization"] == f"Bearer {CANARY}"


async def test_server_echoing_the_key_is_redacted(llm_server: ScriptedLLMServer,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    llm_server.reply(status=503, error=f"upstream said no to {CANARY}")
    llm_server.reply(status=422, error=f"key {CANARY} cannot use this model")
    settings = LLMSettings(base_url=llm_server.url, api_key_env="HOUSE_KEY")
    with pytest.raises(LLMError) as caught:
        await acomplete(_ask(), settings, env={"HOUSE_KEY": CANARY}, backoff=TINY)
    assert "key *** cannot use this model" in str(caught.value)
    assert CANARY not in str(caught.value) and CANARY not in caplog.text
    assert "upstream said no to ***" in caplog.text


async def test_missing_key_against_a_server_that_needs_one(llm_server: ScriptedLLMServer) -> None:
    llm_server.reply(status=401, error="no key")
    settings = LLMSettings(base_url=llm_server.url, api_key_env="HOUSE_KEY")
    with pytest.raises(LLMError, match="needs an API key \\(HTTP 401\\): set HOUSE_KEY"):
        await acomplete(_ask(), settings, env={}, backoff=TINY)


async def test_slow_answer_times_out(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply("too late", delay=2.0)
    llm_env.reply("also too late", delay=2.0)
    with pytest.raises(LLMError) as caught:
        await acomplete(_ask(), LLMSettings(), timeout=0.2, retries=1, backoff=TINY)
    assert caught.value.transient and caught.value.status is None
    assert "no answer within 0.2s" in str(caught.value)
    assert len(llm_env.requests) == 2


async def test_slow_answer_then_fast_retry(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply("too late", delay=2.0)
    llm_env.reply("in time")
    result = await acomplete(_ask(), LLMSettings(), timeout=0.3, retries=1, backoff=TINY)
    assert result.content == "in time"


async def test_connection_refused_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = LLMSettings(base_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(LLMError) as caught:
        await acomplete(_ask(), settings, env={}, retries=1, backoff=TINY)
    assert caught.value.transient
    assert "connection failed" in str(caught.value)
    assert f"127.0.0.1:{port}" in str(caught.value)


async def test_stream_cut_mid_way_is_retried(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply("a long streamed answer that breaks", abort_stream=True)
    llm_env.reply("second try")
    tokens: list[str] = []
    request = _ask()
    request.on_token = tokens.append
    result = await acomplete(request, LLMSettings(), retries=1, backoff=TINY)
    assert result.content == "second try"
    assert "".join(tokens).endswith("second try")


async def test_stream_cut_every_time_is_a_transient_error(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply("breaks", abort_stream=True)
    request = _ask()
    request.on_token = lambda _token: None
    with pytest.raises(LLMError) as caught:
        await acomplete(request, LLMSettings(), retries=0)
    assert caught.value.transient and "connection failed" in str(caught.value)
