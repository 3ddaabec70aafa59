"""The workbench's Python kernel: ipykernel with the `%cagents` magics loaded at start.

It is named `python3`, so notebooks saved with the usual kernel open on it. `cagents lab`
writes it into a Jupyter data folder of the workbench and puts that folder first on
`JUPYTER_PATH` (the user's own kernels and IPython profile stay untouched); an image such as
Binder's installs it into the environment:
`python -m cagents.jupyter.kernelspec install --sys-prefix`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "DISPLAY_NAME",
    "EXTENSION",
    "KERNEL_NAME",
    "install",
    "install_for_workbench",
    "kernel_dict",
    "workbench_data_dir",
    "write_kernelspec",
]

KERNEL_NAME = "python3"
DISPLAY_NAME = "Python 3 (cagents)"
#: The IPython extension the kernel loads, as `%load_ext cagents` would.
EXTENSION = "cagents"


def kernel_dict(python: str | None = None) -> dict[str, Any]:
    """The kernel.json: ipykernel's usual spec plus `--ext=cagents` (IPKernelApp's option)."""
    return {
        "argv": [python or sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 f"--ext={EXTENSION}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "metadata": {"debugger": True},
    }


def workbench_data_dir(home: Path) -> Path:
    """The Jupyter data folder `cagents lab` puts first on JUPYTER_PATH."""
    return Path(home) / "jupyter"


def write_kernelspec(kernels_dir: Path, python: str | None = None) -> Path:
    """Write `kernels_dir/python3` (kernel.json and ipykernel's logos); returns that folder.

    kernel.json is replaced atomically, so two servers starting on one home never read half a file.
    """
    target = Path(kernels_dir) / KERNEL_NAME
    target.mkdir(parents=True, exist_ok=True)
    _copy_logos(target)
    text = json.dumps(kernel_dict(python), indent=1) + "\n"
    handle, temp = tempfile.mkstemp(prefix=".kernel-", suffix=".json", dir=target)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, target / "kernel.json")
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def _copy_logos(target: Path) -> None:
    try:
        from ipykernel.kernelspec import RESOURCES
    except ImportError:  # no ipykernel: the kernel cannot start anyway; JupyterLab says so
        return
    for source in Path(RESOURCES).iterdir():
        if source.is_file() and not (target / source.name).exists():
            shutil.copyfile(source, target / source.name)


def install_for_workbench(home: Path) -> Path:
    """Write the kernel into the workbench's Jupyter data folder; returns that folder."""
    data_dir = workbench_data_dir(home)
    write_kernelspec(data_dir / "kernels")
    return data_dir


def install(*, user: bool = False, prefix: str | None = None) -> Path:
    """Install the kernel for the user (`--user`) or into an environment (`prefix`), as
    `jupyter kernelspec install` would; returns the kernel's folder."""
    if user:
        from jupyter_core.paths import jupyter_data_dir

        kernels = Path(jupyter_data_dir()) / "kernels"
    else:
        kernels = Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels"
    return write_kernelspec(kernels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cagents.jupyter.kernelspec",
        description="Install the Python kernel that loads the %cagents magics at start "
                    f"(kernel name {KERNEL_NAME!r}, shown as {DISPLAY_NAME!r}).",
    )
    parser.add_argument("action", choices=["install"])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="into the user's Jupyter data folder")
    where.add_argument("--sys-prefix", action="store_true",
                       help="into this Python environment (default)")
    where.add_argument("--prefix", metavar="PREFIX", help="into PREFIX/share/jupyter/kernels")
    args = parser.parse_args(argv)
    try:
        folder = install(user=args.user, prefix=args.prefix)
    except OSError as exc:
        print(f"error: cannot write the kernel: {exc}; "
              "choose a writable place with --user or --prefix", file=sys.stderr)
        return 1
    print(f"installed kernel {KERNEL_NAME!r} ({DISPLAY_NAME}) in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
