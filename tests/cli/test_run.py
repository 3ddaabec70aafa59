"""`cagents run`: inputs, progress, the JSON result, exit codes, real and simulated models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cagents.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: Inputs chosen by hand for some examples; other required fields get a value of their type.
EXAMPLE_INPUTS: dict[str, list[str]] = {
    "support_triage.yaml": ["ticket=My invoice was charged twice"],
}


def _sample(kind) -> object:
    """A plausible value of a type (lists get two items, objects every field)."""
    if kind.kind == "list":
        return [_sample(kind.item), _sample(kind.item)] if kind.item is not None else ["a", "b"]
    if kind.kind == "object" and kind.fields is not None:
        return {name: _sample(spec) for name, spec in kind.fields}
    return {"str": "text", "int": 3, "float": 1.5, "bool": True}.get(kind.kind, {})


def _required_inputs(path: Path) -> list[str]:
    """Every required field of an example, with a value of its type unless given by hand."""
    from cagents.config import load_config

    spec = load_config(path)
    pairs = list(EXAMPLE_INPUTS.get(path.name, []))
    given = {pair.split("=", 1)[0] for pair in pairs}
    for name, field in spec.config.state.fields.items():
        if field.required and name not in given:
            value = _sample(spec.state_types[name])
            pairs.append(f"{name}={value if isinstance(value, str) else json.dumps(value)}")
    return pairs


#: Examples that need the internet or keys: offline they must fail cleanly, naming the cause.
NEEDS_NETWORK = {"research_with_tools.yaml": "tool"}


def test_run_prints_final_state_and_progress(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", valid_file, "--input", "ticket=printer on fire"])
    out, err = capsys.readouterr()
    assert code == 0
    state = json.loads(out)
    assert state["ticket"] == "printer on fire"
    assert isinstance(state["score"], int)
    assert "> classify (llm)" in err
    assert "done classify" in err
    assert "simulated" in err  # no key, no gateway: the result says it is simulated


def test_run_json_result_has_the_documented_keys(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", valid_file, "-i", "ticket=hello", "--json", "-q"])
    out, err = capsys.readouterr()
    assert code == 0
    assert err == ""
    result = json.loads(out)
    for key in ("execution_id", "status", "outputs", "total_tokens", "total_cost_usd", "duration_seconds"):
        assert key in result
    assert result["status"] == "completed"
    assert result["simulated"] is True
    assert result["outputs"]["ticket"] == "hello"


def test_missing_required_input_names_the_field(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", valid_file])
    _, err = capsys.readouterr()
    assert code == 1
    assert "input ticket: required input missing" in err


def test_wrong_typed_input_and_unknown_field_are_listed_together(
    valid_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", valid_file, "-i", "ticket=x", "-i", "score=high", "-i", "tickt=y"])
    _, err = capsys.readouterr()
    assert code == 1
    assert "input score: score: expected int" in err
    assert "input tickt: not a state field" in err and "did you mean `ticket`" in err


def test_bad_input_syntax_is_a_clear_error(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", valid_file, "--input", "ticket"])
    _, err = capsys.readouterr()
    assert code == 1
    assert "--input expects NAME=VALUE" in err
    assert "Traceback" not in err


def test_input_file_and_overrides(valid_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"ticket": "from file", "score": 2}), encoding="utf-8")
    code = main(["run", valid_file, "--input-file", str(inputs), "-i", "ticket=override", "--json", "-q"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["outputs"]["ticket"] == "override"


def test_input_file_not_json(valid_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    code = main(["run", valid_file, "--input-file", str(bad)])
    assert code == 1
    assert "is not JSON" in capsys.readouterr().err


def test_invalid_workflow_is_reported_not_run(invalid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", invalid_file])
    err = capsys.readouterr().err
    assert code == 1
    assert "bad.yaml:" in err and "scor" in err


def test_run_against_a_real_openai_compatible_server(
    valid_file: str, llm_env, capsys: pytest.CaptureFixture[str]
) -> None:
    llm_env.reply(json={"score": 9}, usage=(1000, 500))
    llm_env.reply(json={"reply": "We are on it."}, usage=(2000, 1000))
    code = main(["run", valid_file, "-i", "ticket=server down", "--json", "-q"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["simulated"] is False
    assert result["outputs"]["score"] == 9
    assert result["outputs"]["reply"] == "We are on it."
    assert result["total_tokens"] == 4500
    assert result["bottleneck"]["bottleneck_node"] in ("classify", "answer")
    assert len(llm_env.requests) == 2
    assert "server down" in llm_env.requests[0]["messages"][-1]["content"]


def test_failed_run_exits_1_and_says_why(valid_file: str, llm_env, capsys: pytest.CaptureFixture[str]) -> None:
    llm_env.reply(status=401, error="invalid api key")
    code = main(["run", valid_file, "-i", "ticket=x", "--json"])
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert code == 1
    assert result["status"] == "failed"
    assert "classify" in result["error"]
    assert "test-key" not in captured.out + captured.err  # the key never shows


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_runs_offline(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = EXAMPLES / name
    code = main(["run", str(path), "--json", "-q", *sum((["-i", p] for p in _required_inputs(path)), [])])
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    if name in NEEDS_NETWORK:
        assert result["status"] == "failed" and code == 1
        assert NEEDS_NETWORK[name] in result["error"]
        return
    assert result["status"] in ("completed", "waiting"), result["error"]
    assert code == (0 if result["status"] == "completed" else 3)
    if result["status"] == "waiting":
        assert result["waiting_for"]["fields"]
