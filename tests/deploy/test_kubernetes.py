"""`cagents deploy --target kubernetes`: the manifests it writes, what it refuses, and (with a real
Docker engine) the built image started the way the manifests start it: the pod's arguments,
environment, user and read-only root filesystem, answering /health."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from deploy.docker_support import ROOT, Engine, _docker_engine, _wheel_cache, _wheels  # noqa: F401

from cagents.cli import main
from cagents.config.loader import load_config
from cagents.deploy.build_context import CONTAINER_WORKFLOW, SERVICE_UID
from cagents.deploy.docker_target import LABEL_DEPLOYMENT, LABEL_MANAGED, DockerTarget
from cagents.deploy.kubernetes import CONTAINER_PORT, kubernetes_name, plan_manifests
from cagents.errors import CagentsError

TOOLS = ROOT / "examples" / "research_with_tools.yaml"
SUMMARIZE = ROOT / "examples" / "summarize_documents.yaml"


def written(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    deployment = yaml.safe_load((folder / "deployment.yaml").read_text(encoding="utf-8"))
    service = yaml.safe_load((folder / "service.yaml").read_text(encoding="utf-8"))
    return deployment, service


def secret_refs(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
            if "secretKeyRef" in e.get("valueFrom", {})}


def test_manifests_run_the_image_with_probes_and_read_every_key_from_one_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "k8s"
    assert main(["deploy", str(TOOLS), "--target", "kubernetes", "--image", "team/research:1.2", "--replicas", "3",
                 "--output", str(out), "--dashboard", "http://workbench.tools:8888/", "--namespace", "Agents"]) == 0
    printed = capsys.readouterr()
    assert printed.out.split() == [str(out / "deployment.yaml"), str(out / "service.yaml")]
    deployment, service = written(out)
    assert "&id" not in (out / "deployment.yaml").read_text()  # plain YAML, no anchors

    assert (deployment["apiVersion"], deployment["kind"]) == ("apps/v1", "Deployment")
    assert deployment["metadata"]["name"] == "research-with-tools" == service["metadata"]["name"]
    assert deployment["metadata"]["namespace"] == "agents" == service["metadata"]["namespace"]
    spec = deployment["spec"]
    assert spec["replicas"] == 3
    pod_labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False and pod["terminationGracePeriodSeconds"] > 30
    [container] = pod["containers"]
    assert container["image"] == "team/research:1.2"
    args = container["args"]
    assert args[:3] == ["cagents", "serve", CONTAINER_WORKFLOW]
    assert args[args.index("--port") + 1] == str(CONTAINER_PORT) and args[args.index("--host") + 1] == "0.0.0.0"
    assert args[args.index("--advertise-host") + 1] == "$(POD_IP)"  # each replica registers its own address
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env["CAGENTS_DASHBOARD_URL"]["value"] == "http://workbench.tools:8888/"
    [port] = container["ports"]
    assert port == {"name": "http", "containerPort": CONTAINER_PORT}
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]
    for probe in (container["readinessProbe"], container["livenessProbe"]):
        assert probe["httpGet"] == {"path": "/health", "port": CONTAINER_PORT}
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == SERVICE_UID
    assert security["readOnlyRootFilesystem"] is True and security["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/home/cagents", "/tmp"} <= mounts and env["CAGENTS_HOME"]["value"].startswith("/home/cagents/")

    # Every key comes from the Secret: required ones must be there for a pod to start.
    refs = secret_refs(container)
    assert {ref["name"] for ref in refs.values()} == {"research-with-tools-env"}
    assert {key: not ref["optional"] for key, ref in refs.items()} == {
        "OPENAI_API_KEY": True, "CAGENTS_DEPLOYMENT_TOKEN": True,
        "TAVILY_API_KEY": False, "SERPER_API_KEY": False, "CAGENTS_SERVICE_TOKEN": False,
    }
    assert all("value" not in env[key] for key in refs)
    steps = printed.err
    assert ("kubectl create secret generic research-with-tools-env --from-literal=CAGENTS_DEPLOYMENT_TOKEN=... "
            "--from-literal=OPENAI_API_KEY=...  # optional keys: CAGENTS_SERVICE_TOKEN, SERPER_API_KEY, "
            "TAVILY_API_KEY") in steps
    assert f"kubectl apply -f {out}" in steps


def test_json_output_and_a_workflow_without_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(SUMMARIZE.read_text(encoding="utf-8").replace("provider: openai", "provider: simulator"),
                    encoding="utf-8")
    spec = load_config(path)
    assert spec.env == ()  # the simulator needs no key
    assert main(["deploy", str(path), "--target", "kubernetes", "--image", "app:1", "--output", str(tmp_path / "o"),
                 "--name", "Résumé Bot_v2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "resume-bot-v2" and data["image"] == "app:1" and data["registers_with"] is None
    assert data["secret_keys"] == [{"name": "CAGENTS_SERVICE_TOKEN", "required": False}]
    assert data["commands"][-1] == f"kubectl apply -f {tmp_path / 'o'}"
    deployment, _ = written(tmp_path / "o")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--name") + 1] == "Résumé Bot_v2"  # the display name stays as given


@pytest.mark.parametrize(("extra", "message"), [
    (["-e", "OPENAI_API_KEY=sk-canary-123"], "--env and --env-file are not written into Kubernetes manifests"),
    (["--token", "svc-canary-123"], "put CAGENTS_SERVICE_TOKEN into the Secret"),
    (["--replicas", "0"], "--replicas 0 must be between 1 and 1000"),
    (["--image", "two words"], "--image 'two words' is not an image reference"),
    (["--name", "///"], "cannot make a Kubernetes name of '///'"),
])
def test_refusals_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    args = ["deploy", str(TOOLS), "--target", "kubernetes", "--output", str(tmp_path / "o")]
    if "--image" not in extra:
        args += ["--image", "app:1"]
    assert main(args + extra) != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "canary" not in err
    assert not (tmp_path / "o").exists()


def test_names_are_rfc_1123_labels() -> None:
    assert kubernetes_name("Research_Bot v2") == "research-bot-v2"
    assert kubernetes_name("--Ünïcödé--") == "unicode"
    long = kubernetes_name("x" * 80 + "-tail")
    assert len(long) == 59 and not long.endswith("-")
    with pytest.raises(CagentsError, match="give one with --name"):
        kubernetes_name("日本")


@pytest.mark.timeout(900)
def test_the_built_image_serves_as_the_manifests_start_it(
    docker_engine: Engine, wheel_cache: Path, tmp_path: Path
) -> None:
    """No cluster here: the pod's container is run by the Docker engine with the manifests'
    arguments, environment, user and read-only root filesystem (host folders where the pod has emptyDir)."""
    tag, size = DockerTarget(docker_host=docker_engine.host, cache_dir=wheel_cache).build_image(SUMMARIZE)
    assert docker_engine.client.images.get(tag) is not None and size > 0
    plan = plan_manifests(load_config(SUMMARIZE), image=tag, name="summaries")
    container_spec = plan.documents[0]["spec"]["template"]["spec"]["containers"][0]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = [{"$(POD_IP)": "127.0.0.1", "0.0.0.0": "127.0.0.1", str(CONTAINER_PORT): str(port)}.get(a, a)
            for a in container_spec["args"]]
    env = {e["name"]: e["value"] for e in container_spec["env"] if "value" in e}
    security = container_spec["securityContext"]
    deployment_id = docker_engine.deployment_id("k8s")
    volumes = {}
    for mount in container_spec["volumeMounts"]:  # an emptyDir: a fresh world-writable folder of the node
        folder = tmp_path / mount["name"]
        folder.mkdir()
        folder.chmod(0o777)
        volumes[str(folder)] = {"bind": mount["mountPath"], "mode": "rw"}
    container = docker_engine.client.containers.run(
        tag, command=args, environment=env, user=str(security["runAsUser"]),
        read_only=security["readOnlyRootFilesystem"], cap_drop=["ALL"], security_opt=["no-new-privileges"],
        volumes=volumes,
        network_mode="host", detach=True,
        labels={LABEL_MANAGED: "true", LABEL_DEPLOYMENT: deployment_id},
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                container.reload()
                assert container.status in ("created", "running"), container.logs().decode()[-2000:]
                assert time.monotonic() < deadline, container.logs().decode()[-2000:]
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["workflow"] == load_config(SUMMARIZE).name
        assert health.json()["deployment_id"].startswith(load_config(SUMMARIZE).name)  # its own id per replica
        reply = httpx.post(f"http://127.0.0.1:{port}/execute", json={"inputs": {"documents": ["a", "b"]}}, timeout=60)
        assert reply.status_code == 200 and reply.json()["status"] == "completed", reply.text
    finally:
        container.remove(force=True)
    assert docker_engine.containers() == []
