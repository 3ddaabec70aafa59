"""`cagents schema`: print the JSON Schema of the workflow language (for editors and CI)."""

from __future__ import annotations

import argparse
import json

from cagents.cli._io import write_output

HELP = "print the JSON Schema of workflow files"
DESCRIPTION = """\
Print the JSON Schema (draft 2020-12) of workflow files, generated from the models the
loader uses. Point a YAML language server at it for completion and checks in editors."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of stdout")


def run(args: argparse.Namespace) -> int:
    from cagents.config.schema import workflow_json_schema

    write_output(json.dumps(workflow_json_schema(), indent=2) + "\n", args.output)
    return 0
