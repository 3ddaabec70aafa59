"""`cagents run FILE --input k=v ...`: execute a workflow and show each node as it runs.

Progress goes to stderr, so stdout carries only the result: the final state as JSON, or
with `--json` one object for scripts. Every run is recorded in the app database (see
`cagents executions`). Exit 0 only when the execution completed; 1 when it failed or was
cancelled; 3 when it waits for a person (a human node) and no terminal can answer.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cagents.app.formatting import parse_inputs
from cagents.cli._io import load_spec
from cagents.errors import CagentsError, InputError

if TYPE_CHECKING:
    from cagents.engine import RunResult

HELP = "run a workflow and print its final state"
DESCRIPTION = """\
Run a workflow once. Inputs are state fields: --input name=value (repeatable; values are
converted to the field's type, JSON for lists and objects) and/or --input-file FILE.json.
Progress per node (duration, tokens, cost) is printed to stderr. Without an API key or
CAGENTS_LLM_BASE_URL, LLM nodes run on the offline simulator and the result says so.

The execution is recorded in the app database ($CAGENTS_DB_URL, else
$CAGENTS_HOME/configurable_agents.db): see `cagents executions list`.

Exit status: 0 completed, 1 failed or cancelled, 3 waiting for human input."""

EXIT_WAITING = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="workflow YAML/JSON file (- for stdin)")
    parser.add_argument(
        "-i", "--input", action="append", default=[], metavar="NAME=VALUE",
        help="an input state field (repeatable)",
    )
    parser.add_argument("--input-file", metavar="JSON", help="a JSON object of inputs")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the result")
    parser.add_argument("--stream", action="store_true", help="show model tokens as they arrive")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


class Progress:
    """Prints one line per node event to stderr."""

    def __init__(self, stream: bool, quiet: bool):
        self.stream = stream
        self.quiet = quiet
        self._streaming_node: str | None = None

    def __call__(self, event: Any) -> None:
        if self.quiet:
            return
        kind = event.type
        write = sys.stderr.write
        if kind == "token_streamed" and self.stream:
            if self._streaming_node != event.node_id:
                write(f"\n  [{event.node_id}] ")
                self._streaming_node = event.node_id
            write(event.text)
            sys.stderr.flush()
            return
        if self._streaming_node is not None and kind != "token_streamed":
            write("\n")
            self._streaming_node = None
        if kind == "node_started" and event.item_index is None:
            write(f"> {event.node_id} ({event.kind})\n")
        elif kind == "node_finished":
            item = f" [item {event.item_index}]" if event.item_index is not None else ""
            cost = f", ${event.cost_usd:.6f}" if event.cost_usd else ""
            sim = ", simulated" if event.simulated else ""
            write(f"  done {event.node_id}{item}: {event.duration_s:.2f}s, {event.tokens} tokens{cost}{sim}\n")
        elif kind == "node_retrying":
            write(f"  retry {event.node_id} (attempt {event.attempt}) in {event.delay_s:.1f}s: {event.error}\n")
        elif kind == "node_failed":
            write(f"  FAILED {event.node_id}: {event.error}\n")
        elif kind == "tool_called":
            status = "error: " + event.error if event.error else "ok"
            write(f"  tool {event.tool} ({status})\n")
        elif kind == "execution_waiting":
            write(f"? {event.node_id} waits for input: {event.prompt}\n")
        sys.stderr.flush()


def ask(waiting: dict[str, Any]) -> dict[str, Any]:
    """Ask a person at the terminal for the values a human node needs."""
    print(waiting.get("prompt") or "Input needed:", file=sys.stderr)
    answers: dict[str, Any] = {}
    for name, schema in waiting.get("fields", {}).items():
        kind = schema.get("type", "string")
        answers[name] = input(f"  {name} ({kind}): ")
    return answers


def run(args: argparse.Namespace) -> int:
    spec = load_spec(args.file)
    inputs = parse_inputs(args.input, args.input_file)
    progress = Progress(stream=args.stream, quiet=args.quiet or False)
    try:
        result = _run_recorded(spec, inputs, progress, args)
    finally:
        release_llm_clients()
    if result is None:
        return 1
    return print_result(result, as_json=args.json, quiet=args.quiet)


def _run_recorded(
    spec: Any, inputs: dict[str, Any], progress: Progress, args: argparse.Namespace
) -> RunResult | None:
    """Run through the app (so the execution is recorded); None when the inputs are bad."""
    from cagents.app import Workbench, start_workflow

    with Workbench.open() as workbench:
        try:
            handle = start_workflow(workbench, spec, inputs, subscribers=[progress], stream=args.stream,
                                    coerce_inputs=True)
        except InputError as error:
            for name, problem in error.problems.items():
                print(f"cagents: input {name}: {problem}", file=sys.stderr)
            return None
        if not args.quiet:
            print(f"execution {handle.execution_id} of {spec.name}", file=sys.stderr)
        result = recorded(workbench, handle.execution_id, handle.run)
        while result.status == "waiting" and sys.stdin.isatty() and result.waiting_for:
            try:
                answers = ask(result.waiting_for)
                result = recorded(workbench, handle.execution_id, functools.partial(handle.resume, answers))
            except InputError as error:
                print(f"cagents: {error}", file=sys.stderr)
                result = handle.result()
    return result


def release_llm_clients() -> None:
    """Close the model clients of the background loop before the process exits, so none is
    left for the interpreter to complain about."""
    from cagents.engine._sync import run_sync
    from cagents.llm import aclose_clients

    run_sync(aclose_clients())


def recorded(workbench: Any, execution_id: str, call: Callable[[], RunResult]) -> RunResult:
    """Run `call`; on Ctrl-C give the cancelled run a moment to record how it ended."""
    try:
        return call()
    except KeyboardInterrupt:
        try:
            workbench.wait_stopped(execution_id, 5.0)
        except CagentsError:  # interrupted before the execution was recorded
            pass
        raise


def print_result(result: RunResult, *, as_json: bool, quiet: bool) -> int:
    """The result on stdout (final state, or the whole result with --json); the exit code."""
    if as_json:
        json.dump(result.to_dict(), sys.stdout, indent=2, ensure_ascii=False, default=str)
    else:
        json.dump(result.outputs, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
    if not quiet:
        _summary(result)
    if result.status == "completed":
        return 0
    if result.status == "waiting":
        return EXIT_WAITING
    return 1


def _summary(result: Any) -> None:
    parts = [
        result.status,
        f"{result.duration_seconds:.2f}s",
        f"{result.total_tokens} tokens",
        f"${result.total_cost_usd:.6f}",
    ]
    bottleneck = (result.bottleneck or {}).get("bottleneck_node")
    if bottleneck:
        parts.append(f"slowest node: {bottleneck}")
    line = ", ".join(parts)
    if result.simulated:
        line += " (LLM answers simulated offline: set an API key or CAGENTS_LLM_BASE_URL for real ones)"
    print(line, file=sys.stderr)
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
