"""The command line as a whole: help, version, usage errors, error and interrupt handling."""

from __future__ import annotations

import io

import pytest

from cagents._version import __version__
from cagents.cli import main
from cagents.cli._app import COMMANDS


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"cagents {__version__}\n"


def test_help_lists_every_command_with_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: cagents ")
    assert set(COMMANDS) >= {"validate", "schema", "graph"}
    for name in COMMANDS:
        first_words = " ".join(importlib.import_module(f"cagents.cli.{name}").HELP.split()[:4])
        assert f"    {name} " in out
        assert first_words in " ".join(out.split())


@pytest.mark.parametrize("name", ["validate", "schema", "graph"])
def test_command_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([name, "--help"]) == 0
    assert capsys.readouterr().out.startswith(f"usage: cagents {name} ")


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: cagents ")
    assert "validate" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["--nope"], "unrecognized arguments: --nope"),
        (["validate"], "the following arguments are required: FILE"),
        (["validate", "x.yaml", "--nope"], "unrecognized arguments: --nope"),
        (["graph", "x.yaml", "--format", "png"], "invalid choice: 'png'"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: cagents" in err
    assert message in err
    assert "Traceback" not in err


def test_cagents_error_is_one_line_on_stderr(
    valid_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "-o", "no/such/dir/schema.json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("cagents: error: cannot write no/such/dir/schema.json: ")
    assert "Traceback" not in captured.err


class _InterruptedStdin(io.StringIO):
    """Standard input whose reader is interrupted by Ctrl-C."""

    def read(self, size: int | None = -1) -> str:
        raise KeyboardInterrupt


def test_keyboard_interrupt_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", _InterruptedStdin())
    assert main(["validate", "-"]) == 130
    captured = capsys.readouterr()
    assert captured.err == "cagents: interrupted\n"
