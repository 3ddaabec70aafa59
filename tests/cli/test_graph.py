"""`cagents graph`: formats, output files, invalid files, Graphviz missing."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cagents.cli import main
from cagents.config import load_config
from cagents.config.diagram import to_dot, to_mermaid


def test_mermaid_by_default(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", valid_file]) == 0
    out = capsys.readouterr().out
    assert out == to_mermaid(load_config(Path(valid_file)))
    assert 'n_classify -->|"state.score #62;= 8"| n_answer' in out
    assert 'n_answer("Write the reply<br>llm")' in out


def test_direction(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", valid_file, "--direction", "LR"]) == 0
    assert capsys.readouterr().out.startswith("flowchart LR\n")


def test_dot(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", valid_file, "--format", "dot"]) == 0
    assert capsys.readouterr().out == to_dot(load_config(Path(valid_file)))


def test_svg(valid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", valid_file, "-f", "svg"]) == 0
    root = ET.fromstring(capsys.readouterr().out)
    texts = ["".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text")]
    assert {"classify", "Write the reply", "state.score >= 8", "default"} <= set(texts)


@pytest.mark.parametrize(
    ("name", "first"),
    [("out.svg", "<?xml"), ("out.dot", "digraph workflow {"), ("out.gv", "digraph"),
     ("out.mmd", "flowchart TD"), ("out.txt", "flowchart TD")],
)
def test_output_file_format_follows_suffix(
    valid_file: str, name: str, first: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", valid_file, "-o", name]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"wrote {name}\n"
    assert Path(name).read_text(encoding="utf-8").startswith(first)


def test_explicit_format_wins_over_suffix(valid_file: str) -> None:
    assert main(["graph", valid_file, "-o", "out.svg", "--format", "mermaid"]) == 0
    assert Path("out.svg").read_text(encoding="utf-8").startswith("flowchart TD\n")


def test_invalid_file_prints_issues(invalid_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", invalid_file]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("bad.yaml:10:15: ")
    assert lines[1].startswith("bad.yaml:13:26: ")


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(tmp_path / "nope.yaml")]) == 1
    assert ": file not found (" in capsys.readouterr().err


def test_svg_without_graphviz(
    valid_file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert main(["graph", valid_file, "--format", "svg"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "cagents: error: Graphviz `dot` is not installed: apt-get install graphviz, "
        "or use --format mermaid\n"
    )
    assert main(["graph", valid_file]) == 0  # Mermaid needs no Graphviz
