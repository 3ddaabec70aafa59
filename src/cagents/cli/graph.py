"""`cagents graph FILE`: draw a workflow as a state-machine diagram (Mermaid, DOT or SVG)."""

from __future__ import annotations

import argparse
import sys
from pathlib import PurePath

from cagents.cli._io import load_spec, write_output
from cagents.errors import ConfigError

HELP = "draw a workflow as a diagram (Mermaid, Graphviz DOT or SVG)"
DESCRIPTION = """\
Draw a workflow as a state-machine diagram: START and END, each node with its kind,
conditions on the branches, loops with their bound, fan-outs with their join, and maps.

Mermaid renders in JupyterLab and GitHub Markdown; svg needs Graphviz `dot` installed.
Without --format, the format follows the suffix of -o (.svg, .dot/.gv, .mmd), else mermaid."""

FORMATS = ("mermaid", "dot", "svg")
_SUFFIX_FORMATS = {
    ".svg": "svg", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid"
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="workflow YAML/JSON file (- for stdin)")
    parser.add_argument("-f", "--format", choices=FORMATS, help="output format (default: mermaid)")
    parser.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout")
    parser.add_argument(
        "--direction",
        choices=("TD", "LR", "BT", "RL"),
        default="TD",
        help="layout direction: top-down (default), left-right, ...",
    )


def run(args: argparse.Namespace) -> int:
    from cagents.config import diagram

    fmt = args.format or _format_of(args.output)
    try:
        spec = load_spec(args.file)
    except ConfigError as error:
        for issue in error.issues:
            print(issue.format(), file=sys.stderr)
        return 1
    if fmt == "svg":
        text = diagram.to_svg(spec, direction=args.direction)
    elif fmt == "dot":
        text = diagram.to_dot(spec, direction=args.direction)
    else:
        text = diagram.to_mermaid(spec, direction=args.direction)
    write_output(text, args.output)
    return 0


def _format_of(output: str | None) -> str:
    if output is None or output == "-":
        return "mermaid"
    return _SUFFIX_FORMATS.get(PurePath(output).suffix.lower(), "mermaid")
