"""`cagents deploy FILE --target process|docker|kubernetes`: start a workflow service and remember
it, or (kubernetes) write the manifests that run it on a cluster."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from cagents.app.deploy import find_registry, free_port
from cagents.app.formatting import parse_env
from cagents.errors import CagentsError

HELP = "deploy a workflow as a local process or a Docker container, or write Kubernetes manifests"
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
`cagents deployments list|logs|stop`.

`--target kubernetes` starts nothing: it writes a Deployment (--replicas stateless replicas,
/health probes, non-root, read-only root filesystem) and a Service into --output, for
`kubectl apply -f DIR`. The image is --image, or the docker target's image built here (push it
to a registry your cluster pulls from). Keys are never written: the manifests read them from a
Secret, and the command that creates it is printed with the key names only (--env is refused).
With a workbench (--dashboard) each replica registers itself and reports its executions."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="workflow YAML/JSON file")
    parser.add_argument("--target", choices=("auto", "process", "docker", "kubernetes"), default="auto",
                        help="where the service runs (default auto: docker when an engine with the "
                             "base image answers, else process); kubernetes writes manifests")
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
    k8s = parser.add_argument_group("kubernetes target")
    k8s.add_argument("--output", type=Path, metavar="DIR",
                     help="folder for the manifests (default ./NAME-kubernetes)")
    k8s.add_argument("--image", help="image the cluster pulls (default: build the docker target's image here)")
    k8s.add_argument("--replicas", type=int, default=1, help="replicas of the service (default 1)")
    k8s.add_argument("--namespace", help="namespace of the manifests (default: kubectl's current one)")


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
    if args.target == "kubernetes":
        return _kubernetes(args, spec_path, spec)
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


def _kubernetes(args: argparse.Namespace, spec_path: Path, spec: Any) -> int:
    from cagents.deploy.kubernetes import plan_manifests, write_manifests
    from cagents.deploy.registration import DASHBOARD_ENV
    from cagents.deploy.settings import SERVICE_TOKEN_ENV

    if args.env or args.env_file:
        raise CagentsError(
            "--env and --env-file are not written into Kubernetes manifests (anyone who reads them "
            "would see the values); leave them out and create the Secret whose command this prints"
        )
    if args.token:
        raise CagentsError(f"--token is not written into Kubernetes manifests; put {SERVICE_TOKEN_ENV} into "
                           "the Secret whose command this prints (the replicas read it from there)")
    name = args.name or spec.name
    dashboard = args.dashboard or os.environ.get(DASHBOARD_ENV) or None
    image = args.image
    if not image:
        from cagents.deploy.docker_target import DockerTarget

        image, size = DockerTarget().build_image(spec_path)
        print(f"cagents: built image {image} ({size / 1e6:.0f} MB); push it where the cluster pulls from "
              "(docker tag / docker push) and give that name with --image", file=sys.stderr)
    plan = plan_manifests(spec, image=image, name=name, replicas=args.replicas, dashboard_url=dashboard,
                          namespace=args.namespace)
    folder = args.output or Path(f"{plan.name}-kubernetes")
    files = write_manifests(plan, folder)
    steps = [plan.secret_command()] if plan.secret_keys else []
    steps.append(f"kubectl apply -f {folder}")
    if args.json:
        json.dump({"target": "kubernetes", "name": plan.name, "image": plan.image, "files": [str(f) for f in files],
                   "secret": plan.secret, "secret_keys": [{"name": key, "required": required}
                                                          for key, required in plan.secret_keys],
                   "registers_with": dashboard, "commands": steps}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    for path in files:
        print(path)
    print(f"wrote the manifests of '{spec.name}' ({args.replicas} replica(s) of {plan.image}); then run:",
          file=sys.stderr)
    for step in steps:
        print(f"  {step}", file=sys.stderr)
    if not dashboard:
        print("  (no --dashboard: the replicas register with no workbench)", file=sys.stderr)
    return 0
