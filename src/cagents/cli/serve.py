"""`cagents serve FILE`: serve one workflow over HTTP (FastAPI + uvicorn) until stopped."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "serve a workflow over HTTP (/execute, /schema, /docs)"
DESCRIPTION = """\
Serve one workflow as an HTTP service:

  GET  /health            liveness (no token needed)
  GET  /schema            input and output JSON Schema, the environment it needs
  POST /execute           {"inputs": {...}, "env": {NAME: VALUE}}; waits for the end, or
                          answers 202 with the execution id after --timeout (or with
                          "async": true / ?async=true at once); invalid inputs: 422
  GET  /executions/ID     status, outputs, error, tokens and cost of an execution
  GET  /docs              interactive API documentation (OpenAPI at /openapi.json)

It binds 127.0.0.1 unless --host says otherwise. With --token (or $CAGENTS_SERVICE_TOKEN)
every route but /health, /docs and /openapi.json needs `Authorization: Bearer TOKEN`.
`env` values are used for that one run only: never stored or logged.

With $CAGENTS_DASHBOARD_URL (a JupyterLab with cagents, or `cagents deployments start`) and
$CAGENTS_DEPLOYMENT_TOKEN (the workbench's deployment_token file) the service registers
itself, sends heartbeats and reports every execution, which then appear on the workbench's
Executions page with this deployment's id. Executions are also kept in the service's own
database ($CAGENTS_HOME, or --home).

Ctrl-C or SIGTERM stops it: running executions get --grace seconds to end, then they are
cancelled (and recorded as cancelled)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="workflow YAML/JSON file")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind (default 8080; 0: any free)")
    parser.add_argument("--token", help="bearer token clients must send (default $CAGENTS_SERVICE_TOKEN)")
    parser.add_argument("--deployment-id", metavar="ID",
                        help="id to register under (default WORKFLOW-HOSTNAME-PORT)")
    parser.add_argument("--name", help="display name on the Deployments page (default: the workflow name)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="a synchronous /execute answers 202 after this long (default 60)")
    parser.add_argument("--grace", type=float, default=30.0, metavar="SECONDS",
                        help="on stop, wait this long for running executions (default 30)")
    parser.add_argument("--ttl", type=int, default=60, metavar="SECONDS",
                        help="registration TTL; heartbeats every third of it (default 60)")
    parser.add_argument("--dashboard", metavar="URL",
                        help="workbench URL to register with (default $CAGENTS_DASHBOARD_URL)")
    parser.add_argument("--advertise-host", metavar="HOST",
                        help="host name the workbench should call (default: --host, or this "
                             "host's name when bound to all interfaces)")
    parser.add_argument("--home", type=Path, help="the service's own workbench home (default $CAGENTS_HOME)")
    parser.add_argument("--target", default="serve", help=argparse.SUPPRESS)
    parser.add_argument("--access-log", action="store_true", help="log every request")


def run(args: argparse.Namespace) -> int:
    from cagents.deploy.serve_main import serve
    from cagents.deploy.settings import ServiceConfig

    config = ServiceConfig.from_env(
        args.file, host=args.host, port=args.port, token=args.token, deployment_id=args.deployment_id,
        name=args.name, timeout=args.timeout, grace=args.grace, ttl_seconds=args.ttl,
        dashboard_url=args.dashboard, advertise_host=args.advertise_host, home=args.home,
        target=args.target, access_log=args.access_log,
    )
    return serve(config)
