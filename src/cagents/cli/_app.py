"""The argument parser and the dispatch: exit codes, errors and interrupts handled once.

Each command is a module `cagents.cli.<name>` with `HELP` (one line), `add_arguments(parser)`
and `run(args) -> int`; heavy imports (pydantic, openai, ...) stay inside `run`, so
`cagents --help` starts fast. A new command is a new module plus its name in `COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from cagents._version import __version__
from cagents.errors import CagentsError

__all__ = ["COMMANDS", "build_parser", "main"]

#: Command modules under `cagents.cli`, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = (
    "validate", "run", "executions", "graph", "schema", "serve", "deploy", "deployments", "lab", "mlflow",
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _CommandListFormatter(argparse.HelpFormatter):
    """Keeps each command's help line beside its name, long names (`executions`) included.

    argparse sizes the name column without the extra indent of the command list, so a
    long command name would push its help line below it.
    """

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        choices = getattr(action, "choices", None)
        if isinstance(action, argparse._SubParsersAction) and choices:
            longest = max(len(name) for name in choices) + self._current_indent + 2 * self._indent_increment
            self._action_max_length = max(self._action_max_length, longest)


def build_parser() -> argparse.ArgumentParser:
    """The whole parser: global options and one subparser per command module."""
    parser = argparse.ArgumentParser(
        prog="cagents",
        description="Configurable Agents: LLM agent workflows written in YAML.",
        epilog="Run `cagents COMMAND --help` for the options of a command.",
        formatter_class=_CommandListFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cagents {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module: Any = importlib.import_module(f"cagents.cli.{name}")
        sub = commands.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failed, 2 usage, 130 interrupted)."""
    _tolerate_narrow_encodings()
    # The command line shows our progress; MLflow's own INFO lines (table creation, queue
    # flushing) would only interleave with it.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit_:  # --help, --version and usage errors
            return _exit_code(exit_.code)
        run: Callable[[argparse.Namespace], int] | None = getattr(args, "_run", None)
        if run is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return run(args)
    except KeyboardInterrupt:
        print("cagents: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CagentsError as error:
        print(f"cagents: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader went away (`cagents schema | head`): silence the final flush.
        _silence_stdout()
        return EXIT_FAILED


def _tolerate_narrow_encodings() -> None:
    """On a terminal that is not UTF-8, write `\\u2192` for what it cannot show, not crash."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        reconfigure = getattr(stream, "reconfigure", None)
        if encoding != "utf8" and reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


def _exit_code(code: object) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    return EXIT_FAILED


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
