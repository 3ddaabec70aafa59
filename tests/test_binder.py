"""The Binder set-up (`binder/`) stays buildable and in step with the package and its tests.

No image is built here: each file is checked the way repo2docker reads it, `start` and the
postBuild steps are run (the pip install recorded, not performed), and the extras postBuild
installs are compared with what CI installs, so the test suite covers what Binder runs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
NOTEBOOKS = ("01-getting-started.ipynb", "02-cell-by-cell.ipynb", "03-executions-and-mlflow.ipynb",
             "04-deployments.ipynb")
LAB_PACKAGES = {"jupyter-server", "jupyterlab", "ipykernel", "mlflow", "graphviz"}
URLPATH = "?urlpath=lab/tree/notebooks/01-getting-started.ipynb"


def _name(requirement: str) -> str:
    """The normalized distribution name of a requirement string (PEP 503)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, f"not a requirement: {requirement!r}"
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def _extras() -> dict[str, list[str]]:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return dict(project.get("optional-dependencies", {}))


def _names_of(extras: list[str], defined: dict[str, list[str]]) -> set[str]:
    """Every distribution the extras bring, `cagents[x]` self-references followed."""
    names: set[str] = set()
    todo = list(extras)
    seen: set[str] = set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        assert extra in defined, f"extra {extra!r} is not in pyproject.toml's optional-dependencies"
        for requirement in defined[extra]:
            inner = re.match(r"\s*cagents\[([^\]]+)\]", requirement)
            if inner:
                todo += [e.strip() for e in inner.group(1).split(",")]
            else:
                names.add(_name(requirement))
    return names


def test_the_files_repo2docker_reads_are_there() -> None:
    for name in ("environment.yml", "apt.txt", "postBuild", "start", "README.md"):
        assert (BINDER / name).is_file(), f"binder/{name} is missing"


def test_environment_is_python_3_11() -> None:
    environment = yaml.safe_load((BINDER / "environment.yml").read_text(encoding="utf-8"))
    dependencies = environment["dependencies"]
    assert "python=3.11" in dependencies
    assert "pip" in dependencies
    assert all(isinstance(d, str) for d in dependencies), "pip packages belong in postBuild's extras"


def test_apt_packages_include_graphviz() -> None:
    packages = []
    for line in (BINDER / "apt.txt").read_text(encoding="utf-8").splitlines():
        package = line.partition("#")[0].strip()  # as repo2docker reads the file
        if package:
            assert re.fullmatch(r"[a-z0-9.+-]+", package), f"not a Debian package name: {package!r}"
            packages.append(package)
    assert "graphviz" in packages


@pytest.mark.parametrize("name", ["postBuild", "start"])
def test_scripts_are_executable_bash(name: str) -> None:
    script = BINDER / name
    assert os.access(script, os.X_OK), f"binder/{name} must be executable (chmod +x)"
    assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


def test_start_exports_the_workbench_home_and_runs_the_server_command(tmp_path: Path) -> None:
    lines = [line.strip() for line in (BINDER / "start").read_text(encoding="utf-8").splitlines()]
    assert [line for line in lines if line and not line.startswith("#")][-1] == 'exec "$@"'

    env = {k: v for k, v in os.environ.items() if k != "CAGENTS_HOME"}
    env["HOME"] = str(tmp_path)
    result = subprocess.run([str(BINDER / "start"), "sh", "-c", 'echo "$CAGENTS_HOME"; echo "$0 $1"', "arg0", "arg1"],
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(tmp_path / ".cagents"), "arg0 arg1"]
    assert (tmp_path / ".cagents").is_dir()

    env["CAGENTS_HOME"] = str(tmp_path / "elsewhere")
    result = subprocess.run([str(BINDER / "start"), "printenv", "CAGENTS_HOME"], capture_output=True, text=True,
                            env=env, check=False)
    assert result.stdout.strip() == str(tmp_path / "elsewhere")


def _run_post_build(tmp_path: Path, pip_exit: int = 0) -> tuple[subprocess.CompletedProcess[str], list[list[str]], Path]:
    """Run postBuild for real into a throwaway prefix, only pip recorded instead of run.

    `python` is a wrapper around this interpreter that logs `python -m pip ...` calls and
    answers them with `pip_exit`; everything else (the extension check, the kernel) runs.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "pip-calls.jsonl"
    wrapper = bin_dir / "python"
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "if sys.argv[1:3] == ['-m', 'pip']:\n"
        f"    with open({str(log)!r}, 'a') as out:\n"
        "        out.write(json.dumps([os.getcwd(), *sys.argv[3:]]) + '\\n')\n"
        f"    sys.exit({pip_exit})\n"
        f"os.execv({sys.executable!r}, [{sys.executable!r}, *sys.argv[1:]])\n",
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    prefix = tmp_path / "env"
    env = dict(
        os.environ,
        PATH=os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]),
        NB_PYTHON_PREFIX=str(prefix),
        # The server reads the prefix's config as it would read its own environment's.
        JUPYTER_CONFIG_PATH=str(prefix / "etc" / "jupyter"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "user-config"),
    )
    result = subprocess.run(["bash", str(BINDER / "postBuild")], cwd=tmp_path, capture_output=True,
                            text=True, env=env, check=False)
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    return result, calls, prefix


def test_post_build_installs_the_package_enables_the_extension_and_the_kernel(tmp_path: Path) -> None:
    result, calls, prefix = _run_post_build(tmp_path)
    assert result.returncode == 0, result.stderr
    assert calls == [[str(ROOT), "install", "--no-cache-dir", "-e", ".[lab]"]], "pip runs once, in the repo root"

    config = prefix / "etc" / "jupyter" / "jupyter_server_config.d" / "cagents.json"
    assert json.loads(config.read_text(encoding="utf-8")) == {
        "ServerApp": {"jpserver_extensions": {"cagents.jupyter": True}},
    }
    spec = json.loads((prefix / "share/jupyter/kernels/python3/kernel.json").read_text(encoding="utf-8"))
    assert spec["argv"][-1] == "--ext=cagents"
    assert spec["display_name"] == "Python 3 (cagents)"


def test_post_build_fails_the_build_when_pip_fails(tmp_path: Path) -> None:
    result, calls, prefix = _run_post_build(tmp_path, pip_exit=1)
    assert result.returncode == 1
    assert len(calls) == 1
    assert not (prefix / "share").exists()  # nothing after the failed install ran


def test_lab_extra_holds_what_binder_needs_and_ci_installs_it() -> None:
    extras = _extras()
    assert "lab" in extras, "pyproject.toml needs the `lab` extra that binder/postBuild installs"
    lab = _names_of(["lab"], extras)
    assert LAB_PACKAGES <= lab, f"the lab extra lacks {sorted(LAB_PACKAGES - lab)}"

    # CI's install line names the extras the test suite runs with.
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    installed: list[str] = []
    for line in ci.splitlines():
        if "pip install" in line and "-e" in line:
            for word in shlex.split(line):
                found = re.fullmatch(r"\.\[([^\]]+)\]", word)
                if found:
                    installed += [e.strip() for e in found.group(1).split(",")]
    assert installed, "found no `pip install -e .[extras]` in .ci/run"
    missing = lab - _names_of(installed, extras)
    assert not missing, f"CI does not install {sorted(missing)}, which Binder runs with: tests miss them"


def test_readme_badge_opens_the_getting_started_notebook() -> None:
    readme = (BINDER / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"https://mybinder\.org/v2/gh/\S+?(?=[)\s`])", readme)
    assert links, "binder/README.md has no mybinder.org link"
    assert all(link.endswith(URLPATH) for link in links), links
    for notebook in NOTEBOOKS:
        assert f"notebooks/{notebook}" in readme


def test_the_demo_notebooks_exist_and_use_the_workbench_kernel() -> None:
    folder = ROOT / "notebooks"
    for name in NOTEBOOKS:
        path = folder / name
        assert path.is_file(), f"notebooks/{name} is missing (binder/README.md and the badge name it)"
        notebook = json.loads(path.read_text(encoding="utf-8"))
        assert notebook["nbformat"] == 4
        kernel = notebook.get("metadata", {}).get("kernelspec", {}).get("name", "python3")
        assert kernel == "python3", f"notebooks/{name} asks for kernel {kernel!r}; the workbench kernel is python3"
