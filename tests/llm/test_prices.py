"""The price table: exact and prefix lookup, user overrides, malformed user files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cagents.errors import LLMError
from cagents.llm import Usage, cost_usd, load_prices

MILLION = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)


def test_package_table_covers_common_models() -> None:
    prices = load_prices()
    for model in ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3-mini",
                  "gpt-5", "gpt-5-mini", "claude-sonnet-4-5", "claude-haiku-4-5",
                  "claude-opus-4-1", "gemini-2.5-flash", "gemini-2.5-pro", "openai/gpt-4o-mini"):
        assert model in prices, model
        assert all(price >= 0 for price in prices[model])


def test_exact_match() -> None:
    assert cost_usd("gpt-4o-mini", MILLION) == pytest.approx(0.15 + 0.60)
    assert cost_usd("gpt-4o", Usage(2_000, 1_000)) == pytest.approx((2_000 * 2.5 + 1_000 * 10) / 1e6)


def test_longest_prefix_wins() -> None:
    assert cost_usd("gpt-4o-mini-2024-07-18", MILLION) == cost_usd("gpt-4o-mini", MILLION)
    assert cost_usd("gpt-4o-2024-08-06", MILLION) == cost_usd("gpt-4o", MILLION)
    assert cost_usd("claude-sonnet-4-5-20250929", MILLION) == pytest.approx(18.0)
    assert cost_usd("GPT-4.1-MINI", MILLION) == cost_usd("gpt-4.1-mini", MILLION)


def test_prefix_must_end_at_a_separator() -> None:
    # "gpt-4o" is known, "gpt-4ox" is a different (unknown) model, not a dated gpt-4o.
    assert cost_usd("gpt-4ox", MILLION) is None


def test_unknown_model_has_no_cost() -> None:
    assert cost_usd("my-local-llama", MILLION) is None


def test_user_file_in_home_overrides_and_extends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAGENTS_HOME", str(tmp_path))
    (tmp_path / "prices.json").write_text(json.dumps(
        {"gpt-4o-mini": [1.0, 2.0], "my-local-llama": {"input": 0.5, "output": 0.5}}))
    assert cost_usd("gpt-4o-mini", MILLION) == pytest.approx(3.0)
    assert cost_usd("my-local-llama", MILLION) == pytest.approx(1.0)
    assert cost_usd("gpt-4o", MILLION) == pytest.approx(12.5)


def test_explicit_prices_file_wins_over_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAGENTS_HOME", str(tmp_path))
    (tmp_path / "prices.json").write_text(json.dumps({"gpt-4o": [100, 100]}))
    explicit = tmp_path / "team-prices.json"
    explicit.write_text(json.dumps({"gpt-4o": [1, 1]}))
    monkeypatch.setenv("CAGENTS_PRICES_FILE", str(explicit))
    assert cost_usd("gpt-4o", MILLION) == pytest.approx(2.0)


def test_user_file_edits_are_picked_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.json"
    monkeypatch.setenv("CAGENTS_PRICES_FILE", str(path))
    path.write_text(json.dumps({"m1": [1, 1]}))
    assert cost_usd("m1", MILLION) == pytest.approx(2.0)
    path.write_text(json.dumps({"m1": [2, 2], "m2": [0, 0]}))
    assert cost_usd("m1", MILLION) == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"gpt-4o": [1]}', "price of 'gpt-4o' must be [input, output]"),
        ('{"gpt-4o": ["a", "b"]}', "price of 'gpt-4o' must be [input, output]"),
        ('{"gpt-4o": [-1, 2]}', "price of 'gpt-4o' must be [input, output]"),
    ],
)
def test_malformed_user_file_names_file_and_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, problem: str
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(text)
    monkeypatch.setenv("CAGENTS_HOME", str(tmp_path))
    with pytest.raises(LLMError) as caught:
        load_prices()
    assert str(path) in str(caught.value)
    assert problem in str(caught.value)


def test_missing_explicit_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAGENTS_PRICES_FILE", str(tmp_path / "nope.json"))
    with pytest.raises(LLMError, match="nope.json"):
        load_prices()
