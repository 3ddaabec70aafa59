"""`cagents deploy FILE --target process|docker`: start a workflow service and remember it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from cagents.app.deploy import find_registry
from cagents.app.deploy import free_port
from cagents.app.formatting import parse_env
from cagents.errors import CagentsError

HELP = "deploy a workflow as a local process or a Docker container"
DESCRIPTION = """\
Start the workflow as an HTTP service (see `cagents serve`) and print its deployment id and
URL. Targets: `process` (a local subprocess; needs nothing else) and `docker` (an image built
from the workflow and this cagents, run as a container; needs a Docker engine with the local
base image). The default, `auto`, takes `docker` when such an engine answers, else `process`.

Env values (--env NAME=VALUE, --env-file FILE) go into the service's environment when it
starts; they are never written into an image or a file. With a workbench to report to
(--dashboard, $CAGENTS_DASHBOARD_URL, or a running `cagents deployments start` of this home)
the service registers itself with the workbench's deployment token and its executions appear
on the Executions page.

The deployment is remembered in $CAGENTS_HOME/deployments/ID.json: see
`cagents deployments list|logs|stop`."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="workflow YAML/JSON file")
    parser.add_argument("--target", choices=("auto", "process", "docker"), default="auto",
                        help="where the service runs (default auto: docker when an engine with the "
                             "base image answers, else process)")
    parser.add_argument("--name", help="display name (default: the workflow name)")
    parser.add_argument("--id", dest="deployment_id", metavar="ID",
                        help="deployment id (default NAME-<6 hex>)")
    parser.add_argument("--host", default="127.0.0.1", help="address the service binds (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("-e", "--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable of the service, e.g. an API key (repeatable)")
    parser.add_argument("--env-file", metavar="FILE", help="a .env file of NAME=VALUE lines")
    parser.add_argument("--token", help="bearer token the service's clients must send "
                                        "(default $CAGENTS_SERVICE_TOKEN; none: open on its address)")
    parser.add_argument("--dashboard", metavar="URL",
                        help="workbench to register with (default $CAGENTS_DASHBOARD_URL, else a "
                             "running `cagents deployments start` of this home)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def choose_target(name: str) -> str:
    """`auto`: docker when an engine with the base image answers, else process (said on stderr)."""
    if name != "auto":
        return name
    from contextlib import closing

    from cagents.deploy.base_image import check_base_image, connect, docker_host

    address = docker_host()
    reason = _engine_socket_problem(address)
    if reason is None:
        try:
            with closing(connect(timeout=5)) as client:
                check_base_image(client)
        except CagentsError as error:
            reason = str(error).split(";")[0]
        except ImportError:
            reason = "the docker package is not installed"
    if reason is None:
        return "docker"
    print(f"cagents: deploying as a local process ({reason})", file=sys.stderr)
    return "process"


def _engine_socket_problem(address: str) -> str | None:
    """Why nothing can answer at a Docker address, found without the SDK (None: something may)."""
    import socket

    if address.startswith("unix://"):
        path = address[len("unix://"):]
        if not os.path.exists(path):
            return f"no Docker engine at {address}: no such socket"
        family, where = socket.AF_UNIX, path
    elif address.startswith(("tcp://", "http://")):
        host, _, port = address.split("://", 1)[1].rstrip("/").rpartition(":")
        if not port.isdigit():
            return None
        family, where = socket.AF_INET, (host or "127.0.0.1", int(port))  # type: ignore[assignment]
    else:
        return None
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(where)
        except OSError as exc:
            return f"no Docker engine answers at {address}: {exc.strerror or exc}"
    return None


def run(args: argparse.Namespace) -> int:
    from cagents.config.loader import load_config
    from cagents.deploy import local
    from cagents.deploy.settings import SERVICE_TOKEN_ENV, check_deployment_id
    from cagents.deploy.target import get_target

    spec_path = Path(args.file)
    spec = load_config(spec_path)  # an invalid workflow fails here, before anything starts
    env = parse_env(args.env, args.env_file)
    token = args.token or os.environ.get(SERVICE_TOKEN_ENV)
    if token:
        env[SERVICE_TOKEN_ENV] = token
    name = args.name or spec.name
    deployment_id = check_deployment_id(args.deployment_id or local.new_deployment_id(name))
    port = args.port or free_port(args.host)
    url, deployment_token = find_registry(args.dashboard)
    target_name = choose_target(args.target)
    target = get_target(target_name)
    record = target.deploy(spec_path, deployment_id=deployment_id, name=name, host=args.host, port=port,
                           env=env, dashboard_url=url, token=deployment_token)
    record.workflow = record.workflow or spec.name
    local.save(record)
    if args.json:
        data: dict[str, Any] = record.to_dict()
        data["registered_with"] = url
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"{record.deployment_id} {record.url}")
        where = f"registered with {url}" if url else "not registered with a workbench (no --dashboard)"
        print(f"deployed '{spec.name}' ({target_name}); {where}; docs: {record.url}/docs", file=sys.stderr)
    return 0
