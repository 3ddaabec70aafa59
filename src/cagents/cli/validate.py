"""`cagents validate FILE...`: check workflow files, print every problem with its position.

Exit 0 when every file is valid, 1 otherwise. With `--json`, one JSON document for scripts
and CI; without it, `FILE:LINE:COL: message (hint)` lines that editors understand.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cagents.app.workflows import env_entry
from cagents.cli._io import load_spec
from cagents.errors import ConfigError

HELP = "check workflow files; list every problem with its line and column"
DESCRIPTION = """\
Check workflow files without running them: shape, graph, types, placeholders, tools.

Each problem is printed as FILE:LINE:COL: message (hint); a valid file prints
FILE: ok (...) and the environment variables the workflow needs. Exit status 0 when
every file is valid, 1 otherwise. Use - as FILE to read standard input."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="workflow YAML/JSON file (- for stdin)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document, not text")


def run(args: argparse.Namespace) -> int:
    reports = [_check(file) for file in args.files]
    valid = all(report["valid"] for report in reports)
    if args.json:
        json.dump({"valid": valid, "files": reports}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for report in reports:
            _print_human(report)
        _print_summary(reports)
    return 0 if valid else 1


def _check(file: str) -> dict[str, Any]:
    try:
        spec = load_spec(file)
    except ConfigError as error:
        return {
            "file": file,
            "valid": False,
            "workflow": None,
            "nodes": None,
            "issues": [issue.to_dict() for issue in error.issues],
            "env": [],
        }
    return {
        "file": file,
        "valid": True,
        "workflow": spec.name,
        "nodes": len(spec.config.nodes),
        "issues": [],
        "env": [env_entry(requirement) for requirement in spec.env],
    }


def _print_human(report: dict[str, Any]) -> None:
    if not report["valid"]:
        from cagents.errors import ConfigIssue

        for issue in report["issues"]:
            print(ConfigIssue(**issue).format())
        return
    nodes = report["nodes"]
    print(f"{report['file']}: ok (workflow {report['workflow']}, {nodes} node{'s' * (nodes != 1)})")
    for entry in report["env"]:
        verb = "needs" if entry["required"] else "may use"
        state = "set" if entry["set"] else "not set"
        print(f"  {verb} {' or '.join(entry['names'])} ({entry['reason']}) [{state}]")


def _print_summary(reports: list[dict[str, Any]]) -> None:
    bad = [report for report in reports if not report["valid"]]
    problems = sum(len(report["issues"]) for report in bad)
    files = f"{len(reports)} file{'s' * (len(reports) != 1)}"
    if not bad:
        print(f"{files} valid", file=sys.stderr)
    else:
        print(
            f"{files}: {len(reports) - len(bad)} valid, {len(bad)} invalid, "
            f"{problems} problem{'s' * (problems != 1)}",
            file=sys.stderr,
        )
