"""`cagents mlflow`: run the workbench's MLflow server (traces UI) in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import time

HELP = "run the local MLflow server (the traces UI) until Ctrl-C"
DESCRIPTION = """\
Start `mlflow server` on the workbench's tracking store (sqlite:///$CAGENTS_HOME/mlflow.db
unless MLFLOW_TRACKING_URI names another local store), print its URL on stdout and keep it
running until Ctrl-C; it is restarted if it dies. One worker, bound to 127.0.0.1; the log is
$CAGENTS_HOME/logs/mlflow-server.log. When MLFLOW_TRACKING_URI is an http(s) URL, nothing is
started and that URL is printed. Needs the full MLflow package: pip install 'cagents[mlflow]'."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, metavar="PORT", help="port to listen on (default: a free one)")
    parser.add_argument(
        "--allowed-hosts", metavar="HOSTS",
        help="Host headers the server accepts besides localhost (comma-separated), e.g. behind a proxy",
    )


def run(args: argparse.Namespace) -> int:
    from cagents.observe import MlflowServer, MlflowServerError, ObserveSettings

    settings = ObserveSettings.from_env()
    server = MlflowServer(settings, port=args.port, allowed_hosts=args.allowed_hosts)
    if not server.managed:
        print(server.start(), flush=True)
        print("MLFLOW_TRACKING_URI is a tracking server: nothing to start", file=sys.stderr)
        return 0
    print(f"starting mlflow server on {settings.tracking_uri} ...", file=sys.stderr, flush=True)
    try:
        url = server.start()
        print(url, flush=True)
        print(f"MLflow UI at {url}; log {server.log_path}; Ctrl-C to stop", file=sys.stderr, flush=True)
        while True:
            time.sleep(0.5)
            if server.gave_up:
                raise MlflowServerError(server.problem or "mlflow server stopped")
    except KeyboardInterrupt:
        print("stopping mlflow server ...", file=sys.stderr, flush=True)
        return 0
    finally:
        server.stop()
