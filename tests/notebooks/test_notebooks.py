"""The demo notebooks run top to bottom, offline, in a real kernel (as Binder users run them)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.timeout(900)


def test_the_demo_notebooks_are_there() -> None:
    names = [path.name for path in NOTEBOOKS]
    assert names == [
        "01-getting-started.ipynb",
        "02-cell-by-cell.ipynb",
        "03-executions-and-mlflow.ipynb",
        "04-deployments.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_without_errors(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    workdir = tmp_path / "work"
    shutil.copytree(ROOT / "notebooks", workdir)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.setenv("CAGENTS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CAGENTS_TRACING", raising=False)  # notebook 03 shows traces, as users see them
    # The kernel must be this interpreter (the one with cagents installed), whatever kernels
    # the machine has: a kernelspec pointing at sys.executable.
    kernels = tmp_path / "kernels"
    spec_dir = kernels / "kernels" / "cagents-test"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        '{"argv": [%s, "-m", "ipykernel_launcher", "-f", "{connection_file}"], '
        '"display_name": "cagents test", "language": "python"}' % _json(sys.executable)
    )
    monkeypatch.setenv("JUPYTER_PATH", str(kernels))
    assert "cagents-test" in KernelSpecManager().find_kernel_specs()

    notebook = nbformat.read(workdir / path.name, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="cagents-test", resources={"metadata": {"path": str(workdir)}},
        allow_errors=False,
    )
    client.execute()
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
            assert "Traceback" not in text, f"{path.name}: a cell printed a traceback:\n{text}"


def _json(value: str) -> str:
    import json

    return json.dumps(value)
