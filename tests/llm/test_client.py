"""Calls through the real openai client against the scripted server: answers, structured
output, the json_schema fallback, the repair loop and streaming."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cagents.errors import LLMError
from cagents.llm import LLMRequest, LLMSettings, acomplete, complete
from support.llm_server import ScriptedLLMServer

SETTINGS = LLMSettings(provider="openai", model="gpt-4o-mini", temperature=0.1, max_tokens=300)

SCHEMA = {"type": "object",
          "properties": {"title": {"type": "string"}, "score": {"type": "integer"}},
          "required": ["title", "score"]}


def _ask(text: str = "Rate the essay", schema: dict[str, Any] | None = None) -> LLMRequest:
    return LLMRequest(messages=[{"role": "system", "content": "You grade essays."},
                                {"role": "user", "content": text}],
                      output_schema=schema, label="grade")


async def test_plain_answer(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply("Paris is the capital.", usage=(12, 6))
    result = await acomplete(_ask("Capital of France?"), SETTINGS)
    assert result.content == result.data == "Paris is the capital."
    assert not result.simulated and result.provider == "openai" and result.model == "gpt-4o-mini"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 6)
    assert result.usage.total_tokens == 18
    assert result.cost_usd == pytest.approx((12 * 0.15 + 6 * 0.6) / 1e6)
    sent = llm_env.requests[0]
    assert sent["model"] == "gpt-4o-mini" and sent["temperature"] == 0.1
    assert sent["max_tokens"] == 300
    assert sent["messages"][-1] == {"role": "user", "content": "Capital of France?"}
    assert "response_format" not in sent and "tools" not in sent
    assert llm_env.request_headers[0]["authorization"] == "Bearer test-key"


async def test_structured_output_uses_json_schema(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"title": "Good", "score": 8})
    result = await acomplete(_ask(schema=SCHEMA), SETTINGS)
    assert result.data == {"title": "Good", "score": 8}
    assert result.attempts == 1
    assert llm_env.requests[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": SCHEMA, "strict": False}}


async def test_fallback_when_json_schema_is_unsupported(llm_env: ScriptedLLMServer) -> None:
    llm_env.supports_json_schema = False
    llm_env.reply('Here you go:\n```json\n{"title": "Fine", "score": 6}\n```')
    llm_env.reply('{"title": "Again", "score": 7}')
    result = await acomplete(_ask(schema=SCHEMA), SETTINGS)
    assert result.data == {"title": "Fine", "score": 6}
    rejected, fallback = llm_env.requests
    assert "response_format" in rejected and "response_format" not in fallback
    system = fallback["messages"][0]
    assert system["role"] == "system" and system["content"].startswith("You grade essays.")
    assert '"score"' in system["content"] and "JSON Schema" in system["content"]
    # remembered per endpoint: the next call goes straight to the prompt form
    second = await acomplete(_ask(schema=SCHEMA), SETTINGS)
    assert second.data == {"title": "Again", "score": 7}
    assert len(llm_env.requests) == 3 and "response_format" not in llm_env.requests[2]


async def test_repair_loop_shows_the_error_to_the_model(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"title": "No score"}, usage=(10, 5))
    llm_env.reply(json={"title": "Fixed", "score": 9}, usage=(20, 7))
    result = await acomplete(_ask(schema=SCHEMA), SETTINGS)
    assert result.data == {"title": "Fixed", "score": 9}
    assert result.attempts == 2
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (30, 12)
    repair = llm_env.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": json.dumps({"title": "No score"})}
    assert repair[-1]["role"] == "user" and "score is required but missing" in repair[-1]["content"]
    assert json.dumps(SCHEMA, sort_keys=True) in repair[-1]["content"]


async def test_repair_runs_the_callers_validation(llm_env: ScriptedLLMServer) -> None:
    def validate(data: dict[str, Any]) -> dict[str, Any]:
        if not 0 <= data["score"] <= 10:
            raise ValueError(f"field 'score': {data['score']} is outside 0..10")
        return {**data, "valid": True}

    llm_env.reply(json={"title": "A", "score": 42})
    llm_env.reply("not json at all")
    llm_env.reply(json={"title": "A", "score": 4})
    request = _ask(schema=SCHEMA)
    request.validate = validate
    result = await acomplete(request, SETTINGS)
    assert result.data == {"title": "A", "score": 4, "valid": True}
    assert result.attempts == 3
    assert "field 'score': 42 is outside 0..10" in llm_env.requests[1]["messages"][-1]["content"]
    assert "not valid JSON" in llm_env.requests[2]["messages"][-1]["content"]


async def test_repair_gives_up_with_a_clear_error(llm_env: ScriptedLLMServer) -> None:
    for _ in range(3):
        llm_env.reply(json={"title": 5, "score": 1})
    with pytest.raises(LLMError) as caught:
        await acomplete(_ask(schema=SCHEMA), SETTINGS)
    assert str(caught.value) == ("grade: the model's output did not match the schema after 3 "
                                 "attempts: title must be of type string, got integer")
    assert len(llm_env.requests) == 3 and llm_env.pending == 0


async def test_repair_attempts_bound_is_configurable(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply("{}")
    request = _ask(schema=SCHEMA)
    request.max_repair_attempts = 0
    with pytest.raises(LLMError, match="after 1 attempts"):
        await acomplete(request, SETTINGS)


async def test_free_text_validation_repairs_too(llm_env: ScriptedLLMServer) -> None:
    def must_be_short(text: str) -> str:
        if len(text) > 10:
            raise ValueError("answer in at most 10 characters")
        return text.upper()

    llm_env.reply("a rather long answer")
    llm_env.reply("short")
    request = _ask()
    request.validate = must_be_short
    result = await acomplete(request, SETTINGS)
    assert result.data == "SHORT" and result.content == "short"


async def test_streaming_text_and_usage(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply("one two three four", usage=(33, 4))
    tokens: list[str] = []
    request = _ask()
    request.on_token = tokens.append
    result = await acomplete(request, SETTINGS)
    assert tokens == ["one ", "two ", "three ", "four"]
    assert result.content == "one two three four"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (33, 4)
    sent = llm_env.requests[0]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


async def test_streamed_structured_output(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(json={"title": "Streamed", "score": 3})
    tokens: list[str] = []
    request = _ask(schema=SCHEMA)
    request.on_token = tokens.append
    result = await acomplete(request, SETTINGS)
    assert result.data == {"title": "Streamed", "score": 3}
    assert "".join(tokens) == result.content


async def test_missing_usage_is_estimated(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply("x" * 40, usage=None)
    llm_env.reply("y" * 80, usage=None)
    plain = await acomplete(_ask("q" * 400), SETTINGS)
    assert plain.usage.completion_tokens == 10
    assert plain.usage.prompt_tokens == pytest.approx((400 + len("You grade essays.")) / 4, abs=1)
    request = _ask("q" * 400)
    request.on_token = lambda _token: None
    streamed = await acomplete(request, SETTINGS)
    assert streamed.usage.completion_tokens == 20


async def test_unknown_model_has_no_cost(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply("ok")
    result = await acomplete(_ask(), LLMSettings(model="house-model"))
    assert result.cost_usd is None and result.model == "house-model"


async def test_reasoning_models_get_max_completion_tokens(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply("ok")
    await acomplete(_ask(), LLMSettings(model="o3-mini", max_tokens=50))
    assert llm_env.requests[0]["max_completion_tokens"] == 50
    assert "max_tokens" not in llm_env.requests[0]


async def test_base_url_from_settings_without_gateway(llm_server: ScriptedLLMServer) -> None:
    llm_server.reply("direct")
    settings = LLMSettings(base_url=llm_server.url, api_key_env="HOUSE_KEY", model="house")
    result = await acomplete(_ask(), settings, env={"HOUSE_KEY": "house-secret"})
    assert result.content == "direct" and not result.simulated
    assert llm_server.request_headers[0]["authorization"] == "Bearer house-secret"


async def test_gateway_overrides_the_configured_provider(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply("via gateway")
    settings = LLMSettings(provider="anthropic", model="claude-sonnet-4-5")
    result = await acomplete(_ask(), settings, env={"CAGENTS_LLM_BASE_URL": llm_env.url,
                                                     "ANTHROPIC_API_KEY": "anthropic-secret"})
    assert result.content == "via gateway" and result.provider == "anthropic"
    assert llm_env.requests[0]["model"] == "claude-sonnet-4-5"
    assert llm_env.request_headers[0]["authorization"] == "Bearer none"


def test_sync_complete_from_a_thread(llm_env: ScriptedLLMServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    llm_env.reply("from a thread")
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(complete, _ask(), SETTINGS).result()
    assert result.content == "from a thread"


async def test_cut_off_answer_says_so(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply('{"title": "Lo', finish_reason="length")
    request = _ask(schema=SCHEMA)
    request.max_repair_attempts = 0
    with pytest.raises(LLMError, match="cut off at max_tokens; raise max_tokens"):
        await acomplete(request, SETTINGS)


@pytest.mark.parametrize("stream", [False, True])
async def test_refusal_is_reported(llm_env: ScriptedLLMServer, stream: bool) -> None:
    llm_env.reply(refusal="I can't help with that.")
    request = _ask(schema=SCHEMA)
    if stream:
        request.on_token = lambda _token: None
    with pytest.raises(LLMError, match="^grade: .*: the model refused to answer: I can't help"):
        await acomplete(request, SETTINGS)
    assert len(llm_env.requests) == 1
