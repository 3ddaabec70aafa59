"""The installed `cagents` script and `python -m cagents`, run as real processes; fast start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cagents._version import __version__

HEAVY = ("openai", "httpx", "sqlalchemy", "mlflow", "docker", "jupyter_server")
SCRIPT = Path(sys.executable).with_name("cagents")


def run(*argv: str | Path, cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, cwd=cwd, timeout=60, check=False
    )


def test_console_script_version() -> None:
    assert SCRIPT.exists(), "the package is not installed in this environment (pip install -e .)"
    done = run(SCRIPT, "--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"cagents {__version__}\n", "")


def test_console_script_validate(valid_file: str, invalid_file: str) -> None:
    ok = run(SCRIPT, "validate", valid_file)
    assert ok.returncode == 0
    assert ok.stdout.startswith("triage.yaml: ok (workflow triage, 2 nodes)\n")
    bad = run(SCRIPT, "validate", invalid_file, "missing.yaml")
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[0].startswith("bad.yaml:10:15: ")
    assert "Traceback" not in bad.stderr
    usage = run(SCRIPT, "validate", "--bogus", valid_file)
    assert usage.returncode == 2 and "unrecognized arguments: --bogus" in usage.stderr


def test_ascii_terminal_gets_escapes_not_a_traceback(valid_file: str) -> None:
    import os

    text = Path(valid_file).read_text(encoding="utf-8")
    Path("accents.yaml").write_text(text.replace("Write the reply", "Réponse"), encoding="utf-8")
    done = subprocess.run(
        [str(SCRIPT), "graph", "accents.yaml"],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
    )
    assert done.returncode == 0, done.stderr
    assert b'n_answer("R\\xe9ponse<br>llm")' in done.stdout


def test_python_dash_m() -> None:
    done = run(sys.executable, "-m", "cagents", "--version")
    assert (done.returncode, done.stdout) == (0, f"cagents {__version__}\n")
    bare = run(sys.executable, "-m", "cagents")
    assert bare.returncode == 2 and bare.stderr.startswith("usage: cagents ")


def _loaded_after(code: str) -> dict[str, bool]:
    probe = (
        "import json, sys\n"
        f"{code}\n"
        f"print(json.dumps({{name: name in sys.modules for name in {list(HEAVY) + ['pydantic']!r}}}))"
    )
    done = run(sys.executable, "-c", probe)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.splitlines()[-1]))


def test_validate_imports_nothing_heavy(valid_file: str) -> None:
    path = Path(valid_file).resolve()
    loaded = _loaded_after(
        f"import cagents.cli\ncode = cagents.cli.main(['validate', {str(path)!r}])\nassert code == 0"
    )
    assert [name for name in HEAVY if loaded[name]] == []
    assert loaded["pydantic"]  # the workflow really was compiled


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["graph", "--help"]])
def test_help_imports_not_even_pydantic(argv: list[str]) -> None:
    loaded = _loaded_after(f"import cagents.cli\ncagents.cli.main({argv!r})")
    assert [name for name, present in loaded.items() if present] == []
