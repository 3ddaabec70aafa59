"""Render the CLI reference (docs/cli.md) from the parser itself, so the docs cannot drift.

Regenerate with `python -m cagents.cli._docs > docs/cli.md`; a test compares the file.
"""

from __future__ import annotations

import argparse
import os

from cagents.cli._app import COMMANDS, build_parser

__all__ = ["render_reference"]

_EXIT_CODES = """\
| code | meaning |
|---|---|
| 0 | success (for `run`: the execution completed) |
| 1 | invalid input, invalid workflow, or a failed/cancelled execution |
| 2 | usage error (unknown command or option) |
| 3 | `run`, `executions rerun` and `executions resume`: the execution waits for human input |
| 130 | interrupted (Ctrl-C) |
"""


def _help(parser: argparse.ArgumentParser) -> str:
    os.environ["COLUMNS"] = "100"  # stable wrapping, whatever the terminal
    return parser.format_help().rstrip()


def render_reference() -> str:
    parser = build_parser()
    parts = [
        "# Command line reference",
        "",
        "Generated from `cagents --help` by `python -m cagents.cli._docs`; do not edit by hand.",
        "",
        "```text",
        _help(parser),
        "```",
        "",
        "## Exit codes",
        "",
        _EXIT_CODES,
    ]
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in COMMANDS:
        parts += [f"## cagents {name}", "", "```text", _help(subparsers.choices[name]), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(render_reference(), end="")
