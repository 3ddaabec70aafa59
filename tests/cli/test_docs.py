"""The CLI reference in docs/ is the parser's own help: regenerate it when commands change."""

from __future__ import annotations

from pathlib import Path

from cagents.cli._app import COMMANDS
from cagents.cli._docs import render_reference

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_up_to_date() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_reference(), (
        "docs/cli.md is stale: run `python -m cagents.cli._docs > docs/cli.md`"
    )


def test_every_command_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"## cagents {name}" in text
