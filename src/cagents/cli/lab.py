"""`cagents lab`: JupyterLab with the workbench ready (REST API, MLflow UI, `%cagents` in kernels).

Checks what can be checked up front (JupyterLab installed, the port free), writes the
workbench kernel, then replaces this process with `python -m jupyterlab`, so Ctrl-C and
signals reach Jupyter itself.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import socket
import subprocess
import sys

from cagents.errors import CagentsError

HELP = "start JupyterLab with the workbench, its MLflow UI and magics"
DESCRIPTION = """\
Start JupyterLab on 127.0.0.1 with the workbench ready:

  - the cagents server extension (REST API under /cagents/api/, the workbench database in
    $CAGENTS_HOME, default ~/.cagents), enabled even in a development install;
  - the MLflow UI under /cagents/mlflow/ (its server starts on the first visit);
  - the Python kernel "Python 3 (cagents)" as the default kernel, with `%load_ext cagents`
    done at start. It lives in $CAGENTS_HOME/jupyter, put first on JUPYTER_PATH for this
    server only; your own kernels and IPython profile are not changed.

Options after `--` go to `jupyter lab` unchanged, e.g.
  cagents lab --port 8890 -- --ServerApp.root_dir=~/work --IdentityProvider.token=SECRET
As root, --allow-root is added. Needs: pip install 'cagents[lab]'."""

#: What `cagents lab` imports (each also the name to pip install).
LAB_PACKAGES = ("jupyterlab", "jupyter_server", "ipykernel")
INSTALL_HINT = "install with pip install 'cagents[lab]'"
EXIT_USAGE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, metavar="PORT",
                        help="port to listen on (default: 8888, or the next free one)")
    parser.add_argument("--ip", default="127.0.0.1", metavar="ADDRESS",
                        help="address to listen on (default: %(default)s)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("jupyter_args", nargs="*", metavar="-- JUPYTER_ARGS",
                        help="further `jupyter lab` options, after `--`")


def run(args: argparse.Namespace) -> int:
    missing = missing_packages()
    if missing:
        print(missing_message(missing), file=sys.stderr)
        return EXIT_USAGE
    if args.port is not None:
        check_port(args.ip, args.port)

    from cagents.jupyter.kernelspec import DISPLAY_NAME, install_for_workbench
    from cagents.store.home import HOME_ENV, workbench_home

    home = workbench_home()
    try:
        data_dir = install_for_workbench(home)
    except OSError as exc:
        raise CagentsError(
            f"cannot write the workbench kernel under {home}: {exc.strerror or exc}; "
            f"set {HOME_ENV} to a writable folder"
        ) from exc
    env = dict(os.environ)
    env[HOME_ENV] = str(home)  # the extension and every kernel open this same home
    paths = (str(data_dir), env.get("JUPYTER_PATH", ""))
    env["JUPYTER_PATH"] = os.pathsep.join(path for path in paths if path)
    command = jupyter_command(args)
    print(f"cagents lab: workbench home {home}; kernel {DISPLAY_NAME!r} loads %cagents; "
          "the MLflow UI is at /cagents/mlflow/ on this server", file=sys.stderr, flush=True)
    sys.stdout.flush()
    if os.name == "nt":  # no exec there: wait for the child and pass its exit code on
        return subprocess.call(command, env=env)
    os.execve(sys.executable, command, env)
    return 0  # not reached


def missing_packages() -> list[str]:
    """Those of LAB_PACKAGES that cannot be imported here."""
    return [name for name in LAB_PACKAGES if importlib.util.find_spec(name) is None]


def missing_message(missing: list[str]) -> str:
    needs = ", ".join(missing)
    return f"cagents: error: `cagents lab` needs {needs}, not installed here; {INSTALL_HINT}"


def check_port(ip: str, port: int) -> None:
    """Refuse a port that is taken now, rather than let Jupyter pick another one silently."""
    if not 0 <= port <= 65535:
        raise CagentsError(f"--port {port} is not a port number; choose one from 1 to 65535")
    if port == 0:
        return
    try:
        addresses = socket.getaddrinfo(ip or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                                       socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CagentsError(f"--ip {ip!r} is not an address of this machine ({exc.strerror}); "
                           "use 127.0.0.1 or a local interface's address") from exc
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            # Same option as Jupyter's own bind: a port in TIME_WAIT counts as free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise CagentsError(
                        f"port {port} on {ip} is already in use; choose another with --port, "
                        "or leave --port out to take the next free one"
                    ) from exc
                if exc.errno == errno.EADDRNOTAVAIL:
                    raise CagentsError(f"--ip {ip!r} is not an address of this machine; "
                                       "use 127.0.0.1 or a local interface's address") from exc
                if exc.errno == errno.EACCES:
                    raise CagentsError(f"no permission to listen on port {port}; "
                                       "choose one above 1023 with --port") from exc
                raise CagentsError(f"cannot listen on {ip}:{port}: {exc.strerror or exc}") from exc


def jupyter_command(args: argparse.Namespace) -> list[str]:
    """`python -m jupyterlab` with the workbench's options, then the user's own."""
    from cagents.jupyter.kernelspec import KERNEL_NAME

    extra = list(args.jupyter_args)
    command = [
        sys.executable, "-m", "jupyterlab",
        f"--ServerApp.ip={args.ip}",
        # Named here too, so a development install (no jupyter_server_config.d file) has it.
        "--ServerApp.jpserver_extensions=cagents.jupyter=True",
        f"--MultiKernelManager.default_kernel_name={KERNEL_NAME}",
    ]
    if args.port is not None:
        command += [f"--ServerApp.port={args.port}", "--ServerApp.port_retries=0"]
    if args.no_browser:
        command.append("--ServerApp.open_browser=False")
    if _is_root() and "--allow-root" not in extra:
        command.append("--allow-root")  # Jupyter refuses to start as root without it
    return command + extra


def _is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)
    return geteuid is not None and geteuid() == 0
