"""`cagents validate`: human and JSON output, exit codes, env requirements, stdin."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from cagents.cli import main
from cagents.config import load_config
from cagents.errors import ConfigError


def test_valid_file(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", valid_file]) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        "triage.yaml: ok (workflow triage, 2 nodes)\n"
        "  needs OPENAI_API_KEY (API key of LLM provider `openai`) [not set]\n"
    )
    assert captured.err == "1 file valid\n"


def test_env_marked_set_when_present(
    valid_file: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert main(["validate", valid_file]) == 0
    out = capsys.readouterr().out
    assert "  needs OPENAI_API_KEY (API key of LLM provider `openai`) [set]\n" in out
    assert "sk-test" not in out


def test_invalid_file_lists_every_issue(invalid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", invalid_file]) == 1
    captured = capsys.readouterr()
    with pytest.raises(ConfigError) as caught:
        load_config(Path(invalid_file))
    expected = [issue.format() for issue in caught.value.issues]
    assert captured.out.splitlines() == expected
    assert len(expected) == 2
    assert expected[0].startswith("bad.yaml:10:15: node `classify` writes `scor`")
    assert expected[0].endswith("(did you mean `score`?)")
    assert expected[1].startswith("bad.yaml:13:26: edge leads to unknown node `ENDD`")
    assert captured.err == "1 file: 0 valid, 1 invalid, 2 problems\n"


def test_several_files_and_a_missing_one(
    valid_file: str, invalid_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", valid_file, "missing.yaml", invalid_file]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "triage.yaml: ok (workflow triage, 2 nodes)"
    assert lines[2].startswith("missing.yaml: file not found (check the path")
    assert lines[3].startswith("bad.yaml:10:15: ")
    assert captured.err == "3 files: 1 valid, 2 invalid, 3 problems\n"
    assert "Traceback" not in captured.err


def test_only_valid_files_exit_0(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", valid_file, valid_file]) == 0
    assert capsys.readouterr().err == "2 files valid\n"


def test_json_output(valid_file: str, invalid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--json", valid_file, invalid_file, "missing.yaml"]) == 1
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert captured.err == ""
    assert document["valid"] is False
    good, bad, missing = document["files"]
    assert good == {
        "file": "triage.yaml",
        "valid": True,
        "workflow": "triage",
        "nodes": 2,
        "issues": [],
        "env": [
            {
                "names": ["OPENAI_API_KEY"],
                "required": True,
                "reason": "API key of LLM provider `openai`",
                "set": False,
            }
        ],
    }
    assert bad["valid"] is False and bad["workflow"] is None and bad["env"] == []
    assert [(i["line"], i["column"]) for i in bad["issues"]] == [(10, 15), (13, 26)]
    assert set(bad["issues"][0]) == {"file", "line", "column", "key", "message", "hint"}
    assert bad["issues"][0]["file"] == "bad.yaml"
    assert missing["issues"][0]["message"] == "file not found"


def test_json_all_valid(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", valid_file, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True


def test_stdin(
    valid_file: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(Path(valid_file).read_text(encoding="utf-8")))
    assert main(["validate", "-"]) == 0
    assert capsys.readouterr().out.startswith("-: ok (workflow triage, 2 nodes)\n")


def test_stdin_invalid_names_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("schema_version: [unclosed"))
    assert main(["validate", "-"]) == 1
    assert capsys.readouterr().out.startswith("<stdin>:1:")  # positions as typed


def test_directory_is_an_issue_not_a_traceback(
    valid_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "."]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(".: is a directory, not a file")
