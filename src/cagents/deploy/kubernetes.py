"""Kubernetes manifests for a workflow service (DESIGN section 9: clusters).

A Deployment of N stateless replicas of the Docker target's image and a Service in front of
them, written as files for `kubectl apply -f DIR`; nothing is applied from here. No secret
value is ever written: every key the workflow reads (and the workbench's deployment token)
comes from one Secret the operator creates, whose command is printed with the key names only.
Each replica registers with the workbench on its own (its pod name makes its deployment id,
its pod IP the address the workbench calls), so the Deployments page shows every replica's
health and the Executions page where each execution ran.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cagents.errors import CagentsError

__all__ = ["CONTAINER_PORT", "KubernetesPlan", "kubernetes_name", "plan_manifests", "write_manifests"]

#: The port the service listens on inside its pod (the Service forwards port 80 to it).
CONTAINER_PORT = 8000
_HOME = "/home/cagents"
_MAX_NAME = 63 - len("-env")  # the Secret's name is the longest derived one


def kubernetes_name(text: str) -> str:
    """`text` as an RFC 1123 label (lower-case letters, digits, '-'; at most 59 characters)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:_MAX_NAME].rstrip("-")
    if not name:
        raise CagentsError(f"cannot make a Kubernetes name of {text!r}: give one with --name (letters, digits, '-')")
    return name


@dataclass(frozen=True)
class KubernetesPlan:
    """The manifests of one workflow service and what the operator still has to do."""

    name: str
    image: str
    secret: str
    #: Environment variables read from the Secret: (name, required).
    secret_keys: tuple[tuple[str, bool], ...]
    documents: tuple[dict[str, Any], ...]

    def secret_command(self) -> str:
        """The `kubectl create secret` line, placeholders for the values (optional keys after `#`)."""
        required = " ".join(f"--from-literal={key}=..." for key, needed in self.secret_keys if needed)
        optional = ", ".join(key for key, needed in self.secret_keys if not needed)
        line = f"kubectl create secret generic {self.secret} {required}".rstrip()
        return f"{line}  # optional keys: {optional}" if optional else line


def plan_manifests(
    spec: Any,
    *,
    image: str,
    name: str,
    replicas: int = 1,
    dashboard_url: str | None = None,
    namespace: str | None = None,
) -> KubernetesPlan:
    """The Deployment and Service of `spec` (a loaded WorkflowSpec) running `image`."""
    from cagents.app.deployment_token import TOKEN_ENV
    from cagents.deploy.build_context import CONTAINER_WORKFLOW, SERVICE_UID
    from cagents.deploy.registration import DASHBOARD_ENV
    from cagents.deploy.settings import SERVICE_TOKEN_ENV

    if not 1 <= replicas <= 1000:
        raise CagentsError(f"--replicas {replicas} must be between 1 and 1000")
    if not image.strip() or any(c.isspace() for c in image):
        raise CagentsError(f"--image {image!r} is not an image reference (e.g. team/app:1.0, with the registry your cluster pulls from in front)")
    k8s = kubernetes_name(name)
    secret = f"{k8s}-env"
    keys: dict[str, bool] = {}
    for requirement in spec.env:  # one of several names: each is optional, the service says which is missing
        for key in requirement.names:
            keys[key] = keys.get(key, False) or (requirement.required and len(requirement.names) == 1)
    if dashboard_url:
        keys[TOKEN_ENV] = True
    keys[SERVICE_TOKEN_ENV] = False  # when the Secret has it, clients must send it as a bearer token
    labels = {"app.kubernetes.io/name": k8s, "app.kubernetes.io/managed-by": "cagents",
              "cagents.workflow": kubernetes_name(spec.name)}
    def metadata() -> dict[str, Any]:  # a fresh copy per use: no YAML anchors in the files
        data: dict[str, Any] = {"name": k8s, "labels": dict(labels)}
        if namespace:
            data["namespace"] = kubernetes_name(namespace)
        return data

    env: list[dict[str, Any]] = [
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "CAGENTS_HOME", "value": f"{_HOME}/.cagents"},
    ]
    if dashboard_url:
        env.append({"name": DASHBOARD_ENV, "value": dashboard_url})
    env += [{"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": not required}}}
            for key, required in sorted(keys.items())]
    probe = {"httpGet": {"path": "/health", "port": CONTAINER_PORT}}
    container = {
        "name": "service",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["cagents", "serve", CONTAINER_WORKFLOW, "--host", "0.0.0.0", "--port", str(CONTAINER_PORT),
                 "--name", name, "--advertise-host", "$(POD_IP)", "--target", "kubernetes"],
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT}],
        "env": env,
        "readinessProbe": {**probe, "periodSeconds": 5},
        "livenessProbe": {**probe, "initialDelaySeconds": 10, "periodSeconds": 20},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "securityContext": {"runAsNonRoot": True, "runAsUser": SERVICE_UID, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "home", "mountPath": _HOME}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": k8s}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    # The service finishes running executions on SIGTERM (its grace is 30 s).
                    "terminationGracePeriodSeconds": 40,
                    "automountServiceAccountToken": False,
                    "securityContext": {"fsGroup": SERVICE_UID},  # its volumes writable by the service user
                    "containers": [container],
                    "volumes": [{"name": "home", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(),
        "spec": {"selector": {"app.kubernetes.io/name": k8s},
                 "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }
    return KubernetesPlan(k8s, image, secret, tuple(sorted(keys.items())), (deployment, service))


def write_manifests(plan: KubernetesPlan, folder: Path) -> Sequence[Path]:
    """Write `deployment.yaml` and `service.yaml` into `folder` (created); the paths written."""
    import yaml

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CagentsError(f"cannot create the folder {folder}: {exc.strerror or exc}; choose another --output") from exc

    class _PlainDumper(yaml.SafeDumper):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:  # no anchors: some tools reject them
            return True

    written = []
    for document in plan.documents:
        path = folder / f"{document['kind'].lower()}.yaml"
        header = f"# Written by `cagents deploy --target kubernetes`; apply with: kubectl apply -f {folder}\n"
        text = yaml.dump(document, Dumper=_PlainDumper, sort_keys=False)
        path.write_text(header + text, encoding="utf-8")
        written.append(path)
    return written
