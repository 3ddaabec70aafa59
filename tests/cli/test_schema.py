"""`cagents schema`: the JSON Schema on stdout or in a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cagents.cli import main
from cagents.config import workflow_json_schema


def test_schema_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == workflow_json_schema()
    assert out == json.dumps(workflow_json_schema(), indent=2) + "\n"


def test_schema_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "workflow.schema.json"
    assert main(["schema", "-o", str(target)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"wrote {target}\n"
    assert json.loads(target.read_text(encoding="utf-8")) == workflow_json_schema()
