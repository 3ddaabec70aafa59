"""The `docker` target against a real Docker engine: build, run, execute, register, stop, remove.

Each image is built from the local base image and host-built wheels (no registry); each
container runs `cagents serve` with host networking and reports to a real registry on
127.0.0.1. The first test here builds the wheelhouse and the image, so the slow ones get a
longer pytest timeout than the suite's default.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import socket
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy.docker_support import ROOT, Engine, _docker_engine, _wheel_cache, _wheels  # noqa: F401
from deploy.helpers import eventually

from cagents.cli import main
from cagents.deploy import local
from cagents.deploy.build_context import CONTAINER_WORKFLOW, Wheelhouse, build_context, dockerfile
from cagents.deploy.docker_target import LABEL_DEPLOYMENT, DockerTarget
from cagents.deploy.settings import SERVICE_TOKEN_ENV
from cagents.errors import DeploymentError

EXAMPLE = ROOT / "examples" / "summarize_documents.yaml"
MAX_IMAGE_BYTES = 200 * 1000 * 1000
#: Building the wheelhouse and the first image takes a minute or so on a cold cache.
slow = pytest.mark.timeout(900)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def target(engine: Engine, cache: Path, **options: Any) -> DockerTarget:
    return DockerTarget(docker_host=engine.host, cache_dir=cache, **options)


def deploy(docker: DockerTarget, deployment_id: str, path: Path = EXAMPLE, **options: Any) -> Any:
    values: dict[str, Any] = {"name": deployment_id, "host": "127.0.0.1", "port": free_port(), "env": {},
                              "dashboard_url": None, "token": None}
    values.update(options)
    return docker.deploy(path, deployment_id=deployment_id, **values)


def image_bytes_contain(image: Any, needle: bytes) -> bool:
    """Whether `needle` occurs anywhere in `docker save` of the image (every layer, config)."""
    tail = b""
    for chunk in image.save(named=False):
        if needle in tail + chunk:
            return True
        tail = chunk[-len(needle):]
    return False


@slow
def test_deploy_executes_registers_reports_and_leaves_nothing(
    docker_engine: Engine, wheel_cache: Path, registry: Any
) -> None:
    secret = "sk-test-docker-secret-4f1c9b"
    api_token = "svc-token-8e2d"
    docker = target(docker_engine, wheel_cache, serve_options=["--ttl", "2"])
    deployment_id = docker_engine.deployment_id("e2e")
    record = deploy(docker, deployment_id, env={"CAGENTS_TEST_SECRET": secret, SERVICE_TOKEN_ENV: api_token},
                    dashboard_url=registry.url, token=registry.token)
    try:
        assert (record.target, record.url) == ("docker", f"http://127.0.0.1:{record.port}")
        assert record.container_id and record.image.startswith("cagents-summarize_documents:")
        assert 0 < record.image_size_bytes <= MAX_IMAGE_BYTES
        assert record.extra["env_names"] == sorted(["CAGENTS_TEST_SECRET", SERVICE_TOKEN_ENV])
        assert docker.running(record)

        # The env values are the container's, given at run time; the image has none of them.
        container = docker_engine.client.containers.get(record.container_id)
        assert f"CAGENTS_TEST_SECRET={secret}" in container.attrs["Config"]["Env"]
        assert container.attrs["HostConfig"]["NetworkMode"] == "host"
        assert container.attrs["Config"]["User"] == "cagents"
        assert container.labels[LABEL_DEPLOYMENT] == deployment_id
        image = docker_engine.client.images.get(record.image)
        config = json.dumps(image.attrs["Config"])
        history = json.dumps(docker_engine.client.api.history(image.id))
        for value in (secret, api_token, registry.token):
            assert value not in config and value not in history
            assert not image_bytes_contain(image, value.encode())
        assert image.labels["cagents.workflow"] == "summarize_documents"
        assert image.attrs["Config"]["Cmd"][:3] == ["cagents", "serve", CONTAINER_WORKFLOW]

        # The service took its token from the env: without it the service refuses.
        health = httpx.get(record.url + "/health").json()
        assert (health["status"], health["deployment_id"]) == ("ok", deployment_id)
        assert httpx.post(record.url + "/execute", json={"inputs": {"documents": ["x"]}}).status_code == 401
        auth = {"Authorization": f"Bearer {api_token}"}
        reply = httpx.post(record.url + "/execute", headers=auth, timeout=60,
                           json={"inputs": {"documents": ["first text", "second text"]}})
        assert reply.status_code == 200, reply.text
        result = reply.json()
        assert result["status"] == "completed" and len(result["outputs"]["summaries"]) == 2
        execution_id = result["execution_id"]
        got = httpx.get(f"{record.url}/executions/{execution_id}", headers=auth).json()
        assert got["status"] == "completed"

        # The workbench sees the registration, its heartbeats and the reported execution.
        with registry.workbench() as workbench:
            registered = eventually(lambda: _beaten(workbench, deployment_id))
            assert (registered.workflow_name, registered.port) == ("summarize_documents", record.port)
            assert registered.deployment_metadata["target"] == "docker"
            row = eventually(lambda: _reported(workbench, execution_id))
            assert (row.deployment_id, row.workflow_name) == (deployment_id, "summarize_documents")
            states = eventually(lambda: workbench.db.executions.states(execution_id))
            assert {state.node_id for state in states} >= {"plan", "digest"}
    finally:
        docker.stop(record)

    assert not docker.running(record)
    assert docker_engine.containers() == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(record.url + "/health")
    log = docker.logs(record)  # kept from the container before it was removed
    assert f"as deployment '{deployment_id}'" in log and "registered deployment" in log
    assert secret not in log and api_token not in log
    docker.stop(record)  # stopping again is harmless


def _beaten(workbench: Any, deployment_id: str) -> Any:
    from cagents.errors import NotFoundError

    try:
        record = workbench.db.deployments.get(deployment_id)
    except NotFoundError:
        return None
    return record if record.last_heartbeat > record.registered_at else None


def _reported(workbench: Any, execution_id: str) -> Any:
    from cagents.errors import NotFoundError

    try:
        row = workbench.db.executions.get(execution_id)
    except NotFoundError:
        return None
    return row if row.status == "completed" else None


@slow
def test_cli_deploy_list_logs_stop(
    docker_engine: Engine, wheel_cache: Path, registry: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from cagents.app.deployment_token import TOKEN_ENV
    from cagents.store.home import workbench_home

    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    monkeypatch.setenv(TOKEN_ENV, registry.token)
    # The command's target caches wheels in the home: start it from the session's cache.
    shutil.copytree(wheel_cache, workbench_home() / "cache" / "wheelhouse")
    deployment_id = docker_engine.deployment_id("cli")
    try:
        assert main(["deploy", str(EXAMPLE), "--target", "docker", "--id", deployment_id,
                     "--dashboard", registry.url, "--env", "CAGENTS_TEST_VALUE=abc", "--json"]) == 0, \
            capsys.readouterr().err
        shown = json.loads(capsys.readouterr().out)
        assert (shown["deployment_id"], shown["target"]) == (deployment_id, "docker")
        assert shown["image_size_bytes"] <= MAX_IMAGE_BYTES
        assert "abc" not in (local.deployments_dir() / f"{deployment_id}.json").read_text()
        assert httpx.get(shown["url"] + "/health").json()["deployment_id"] == deployment_id

        assert main(["deployments", "logs", deployment_id, "--tail", "50"]) == 0
        assert f"as deployment '{deployment_id}'" in capsys.readouterr().out
    finally:
        assert main(["deployments", "stop", deployment_id]) == 0, capsys.readouterr().err
    assert docker_engine.containers() == []


@slow
def test_a_service_that_cannot_start_is_removed_with_its_log(
    docker_engine: Engine, wheel_cache: Path
) -> None:
    docker = target(docker_engine, wheel_cache)
    deployment_id = docker_engine.deployment_id("nostart")
    with pytest.raises(DeploymentError) as caught:
        # A home the service user cannot create: the service exits before it serves.
        deploy(docker, deployment_id, env={"CAGENTS_HOME": "/proc/no-such-home"})
    assert "exited with status" in str(caught.value) and "before it answered /health" in str(caught.value)
    assert "/proc/no-such-home" in str(caught.value)
    assert docker_engine.containers() == []


@slow
def test_a_port_in_use_is_refused_before_a_container_starts(docker_engine: Engine, wheel_cache: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DeploymentError, match=f"port {port} on 127.0.0.1 is already in use.*--port"):
            deploy(target(docker_engine, wheel_cache), docker_engine.deployment_id("port"), port=port)
    assert docker_engine.containers() == []


def test_a_missing_base_image_says_how_to_build_it(docker_engine: Engine, wheel_cache: Path) -> None:
    docker = target(docker_engine, wheel_cache, base_image="cagents/no-such-base:none")
    with pytest.raises(DeploymentError) as caught:
        deploy(docker, docker_engine.deployment_id("nobase"))
    message = str(caught.value)
    assert "the base image 'cagents/no-such-base:none' is not in the Docker engine" in message
    assert "scripts/build-base-image.sh cagents/no-such-base:none" in message
    assert f"DOCKER_HOST={docker_engine.host}" in message and "--target process" in message


@slow
def test_a_failed_build_says_why_and_leaves_no_container(docker_engine: Engine, wheel_cache: Path) -> None:
    client = docker_engine.client
    name = f"cagents-test/no-python:{docker_engine.prefix}"
    # A "base image" with no Python in it: the first RUN of the build fails.
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("etc/placeholder")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"x\n"))
    repository, _, tag = name.partition(":")
    client.api.import_image_from_data(data.getvalue(), repository=repository, tag=tag)
    base_id = client.images.get(name).id
    before = {c.id for c in client.containers.list(all=True)}
    try:
        with pytest.raises(DeploymentError) as caught:
            deploy(target(docker_engine, wheel_cache, base_image=name), docker_engine.deployment_id("nobuild"))
        message = str(caught.value)
        assert re.match(r"building the image cagents-summarize_documents:\w+ failed: \S", message), message
        assert "RUN python3 -m venv" in message  # the failing step, from the build log
        assert {c.id for c in client.containers.list(all=True)} == before
    finally:
        # The steps that did succeed left cached layers on the fake base: remove them too.
        built_on_it = [image for image in client.images.list(all=True)
                       if base_id in {step["Id"] for step in client.api.history(image.id)}]
        for image in sorted(built_on_it, key=lambda i: i.attrs["Created"], reverse=True):
            client.images.remove(image.id, force=True)


def test_no_engine_suggests_the_process_target(tmp_path: Path) -> None:
    docker = DockerTarget(docker_host=f"unix://{tmp_path}/docker.sock", cache_dir=tmp_path)
    with pytest.raises(DeploymentError) as caught:
        deploy(docker, "no-engine")
    message = str(caught.value)
    assert f"no Docker engine answers at unix://{tmp_path}/docker.sock (no such socket)" in message
    assert "DOCKER_HOST" in message and "`cagents deploy FILE --target process`" in message
    assert caught.value.http_status == 502


def test_cli_without_an_engine_exits_1_with_the_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    assert main(["deploy", str(EXAMPLE), "--target", "docker"]) == 1
    err = capsys.readouterr().err
    assert "no Docker engine answers" in err and "--target process" in err and "Traceback" not in err


def test_the_build_context_holds_wheels_workflow_and_no_secret(wheels: Wheelhouse, tmp_path: Path) -> None:
    spec = tmp_path / "flow.yaml"
    spec.write_text(EXAMPLE.read_text())
    context = build_context(spec, wheels, workflow_name="summarize_documents", base_image="base:1")
    try:
        with tarfile.open(fileobj=context.fileobj) as tar:
            names = tar.getnames()
            text = tar.extractfile("Dockerfile").read().decode()  # type: ignore[union-attr]
            assert tar.extractfile("workflow.yaml").read() == spec.read_bytes()  # type: ignore[union-attr]
    finally:
        context.close()
    assert wheels.app_wheel.name in {Path(n).name for n in names if n.startswith("app/")}
    deps = {Path(n).name for n in names if n.startswith("deps/")}
    assert any(n.startswith("fastapi-") for n in deps) and any(n.startswith("uvicorn-") for n in deps)
    assert not any(n.startswith("cagents-") for n in deps)
    assert text == dockerfile("base:1", wheels.app_wheel.name, context.labels)
    assert "--no-index" in text and "USER cagents" in text and "ARG" not in text
    assert f'CMD ["cagents", "serve", "{CONTAINER_WORKFLOW}"' in text
    # The same inputs name the same image; another workflow text another one.
    again = build_context(spec, wheels, workflow_name="summarize_documents", base_image="base:1")
    spec.write_text(EXAMPLE.read_text() + "\n# edited\n")
    edited = build_context(spec, wheels, workflow_name="summarize_documents", base_image="base:1")
    again.close()
    edited.close()
    assert again.tag == context.tag != edited.tag


def test_the_scripts_name_no_mirror_host() -> None:
    """The Debian mirror is read from the machine's apt sources at run time, never written down."""
    for script in ("build-base-image.sh", "dockerd-up.sh", "dockerd-down.sh"):
        text = (ROOT / "scripts" / script).read_text()
        assert not re.search(r"https?://(?!localhost/)", text), script
