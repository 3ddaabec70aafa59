"""Workflow files the CLI tests read: one valid, one with two problems."""

from __future__ import annotations

from pathlib import Path

import pytest

VALID = """\
schema_version: "1.0"
flow:
  name: triage
state:
  fields:
    ticket: {type: str, required: true}
    score: {type: int}
    reply: {type: str}
nodes:
  - id: classify
    prompt: "Classify {state.ticket}"
    outputs: [score]
  - id: answer
    name: Write the reply
    prompt: "Reply to {ticket}"
    outputs: [reply]
edges:
  - {from: START, to: classify}
  - from: classify
    routes:
      - condition: {logic: "state.score >= 8"}
        to: answer
      - condition: {logic: default}
        to: END
  - {from: answer, to: END}
"""

INVALID = """\
schema_version: "1.0"
flow: {name: bad}
state:
  fields:
    ticket: {type: str, required: true}
    score: {type: int}
nodes:
  - id: classify
    prompt: "Classify {ticket}"
    outputs: [scor]
edges:
  - {from: START, to: classify}
  - {from: classify, to: ENDD}
"""


@pytest.fixture
def valid_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A valid workflow, named relative to the working directory as a user would type it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "triage.yaml").write_text(VALID, encoding="utf-8")
    return "triage.yaml"


@pytest.fixture
def invalid_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text(INVALID, encoding="utf-8")
    return "bad.yaml"
