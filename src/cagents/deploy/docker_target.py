"""The `docker` deploy target: an image of the workflow and this cagents, run as a container.

Built with the docker SDK against the engine at `DOCKER_HOST` (legacy builder, host network,
no registry: the base image is local, the wheels come from the host). The container runs
`cagents serve` with host networking, so it binds the host's address and reaches the
workbench over 127.0.0.1. Env values (API keys, the tokens) are the container's environment,
given at run time: none is in the image, its layers or its labels.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cagents.deploy import local
from cagents.deploy.base_image import base_image_name, check_base_image, connect, docker_host
from cagents.deploy.build_context import CONTAINER_WORKFLOW, build_context, wheelhouse
from cagents.deploy.target import DeployedService, url_host
from cagents.errors import DeploymentError

__all__ = ["LABEL_DEPLOYMENT", "LABEL_MANAGED", "DockerTarget"]

#: Every container this target starts carries these labels (tests and cleanups select by them).
LABEL_MANAGED = "cagents.managed"
LABEL_DEPLOYMENT = "cagents.deployment_id"
#: Seconds a new container may take to answer /health.
START_TIMEOUT = 60.0
#: Seconds `stop` gives the service after SIGTERM (its own grace is 30 s) before SIGKILL.
STOP_TIMEOUT = 45
_LOG_TAIL = 20
_BUILDER_NOISE = (" ---> ", "Removing intermediate container", "Successfully built")


class DockerTarget:
    """Deploys to a Docker engine; see the module docstring."""

    name = "docker"

    def __init__(
        self,
        *,
        home: Path | None = None,
        base_image: str | None = None,
        cache_dir: Path | None = None,
        docker_host: str | None = None,
        start_timeout: float = START_TIMEOUT,
        serve_options: Sequence[str] = (),
    ) -> None:
        """`serve_options`: more `cagents serve` options for every service (e.g. `--ttl 5`)."""
        self.home = home
        self.base_image = base_image
        self.cache_dir = cache_dir
        self.docker_host = docker_host
        self.start_timeout = start_timeout
        self.serve_options = list(serve_options)

    def _client(self) -> Any:
        return connect(self.docker_host)

    def _address(self) -> str:
        return self.docker_host or docker_host()

    # ---- deploy ---------------------------------------------------------------------------
    def deploy(
        self,
        spec_path: Path,
        *,
        deployment_id: str,
        name: str,
        host: str,
        port: int,
        env: Mapping[str, str],
        dashboard_url: str | None,
        token: str | None,
    ) -> DeployedService:
        from cagents.config.loader import load_config

        spec_path = Path(spec_path).resolve()
        workflow = load_config(spec_path).name
        with closing(self._client()) as client, self._engine_errors():
            return self._deploy(client, spec_path, workflow, deployment_id=deployment_id, name=name,
                                host=host, port=port, env=env, dashboard_url=dashboard_url, token=token)

    def build_image(self, spec_path: Path) -> tuple[str, int]:
        """The workflow's service image for other runtimes (Kubernetes): built when missing,
        reused otherwise; its tag and size in bytes."""
        from cagents.config.loader import load_config

        spec_path = Path(spec_path).resolve()
        workflow = load_config(spec_path).name
        with closing(self._client()) as client, self._engine_errors():
            base = check_base_image(client, self.base_image or base_image_name(), address=self._address())
            image, _built = self._image(client, spec_path, workflow, base.name)
            return _tag_of(image), int(image.attrs.get("Size") or 0)

    @contextmanager
    def _engine_errors(self) -> Iterator[None]:
        """An engine that fails half way (a refused call, a dropped socket) is a DeploymentError."""
        from docker.errors import DockerException
        from requests.exceptions import RequestException

        try:
            yield
        except DockerException as exc:
            detail = getattr(exc, "explanation", None) or str(exc)
            raise DeploymentError(f"the Docker engine at {self._address()} failed: {detail}") from None
        except RequestException as exc:
            raise DeploymentError(f"lost the Docker engine at {self._address()}: {exc}") from None

    def _deploy(self, client: Any, spec_path: Path, workflow: str, *, deployment_id: str, name: str,
                host: str, port: int, env: Mapping[str, str], dashboard_url: str | None,
                token: str | None) -> DeployedService:
        from cagents.app.deployment_token import TOKEN_ENV
        from cagents.deploy.registration import DASHBOARD_ENV
        from cagents.deploy.serve_main import require_port_free

        base = check_base_image(client, self.base_image or base_image_name(), address=self._address())
        require_port_free(host, port)
        image, built_seconds = self._image(client, spec_path, workflow, base.name)

        container_env: dict[str, str] = {}
        if dashboard_url:
            container_env[DASHBOARD_ENV] = dashboard_url
            if token:
                container_env[TOKEN_ENV] = token
        container_env.update(env)
        labels = {
            LABEL_MANAGED: "true",
            LABEL_DEPLOYMENT: deployment_id,
            "cagents.deployment_name": name,
            "cagents.workflow": workflow,
            "cagents.port": str(port),
        }
        command = ["cagents", "serve", CONTAINER_WORKFLOW, "--host", host, "--port", str(port),
                   "--deployment-id", deployment_id, "--name", name, "--target", self.name,
                   *self.serve_options]
        container_name = self._free_name(client, deployment_id)
        container = client.containers.run(
            image.id, command=command, name=container_name, detach=True, network_mode="host",
            labels=labels, environment=container_env, init=True, stop_signal="SIGTERM",
        )
        record = DeployedService(
            deployment_id=deployment_id, name=name, target=self.name,
            url=f"http://{url_host(host)}:{port}", host=host, port=port, container_id=container.id,
            image=_tag_of(image), image_size_bytes=int(image.attrs.get("Size") or 0),
            log_path=str(local.log_path(deployment_id, self.home)), workflow=workflow,
            spec_path=str(spec_path), started_at=datetime.now(timezone.utc).isoformat(),
            extra={
                "env_names": sorted(env), "dashboard_url": dashboard_url,
                "docker_host": self._address(), "container_name": container_name,
                "image_id": image.id, "base_image": base.name,
                "build_seconds": built_seconds,  # None: the image existed and was reused
            },
        )
        try:
            self._wait_healthy(container, record)
        except BaseException:  # also Ctrl-C: no container outlives a deploy that did not finish
            container.remove(force=True)
            raise
        return record

    def _image(self, client: Any, spec_path: Path, workflow: str, base: str) -> tuple[Any, float | None]:
        """The image of this workflow on these wheels and base: reused when it exists, else built."""
        from docker.errors import ImageNotFound

        from cagents.store.home import workbench_home

        cache = self.cache_dir or Path(self.home or workbench_home()) / "cache" / "wheelhouse"
        context = build_context(spec_path, wheelhouse(cache), workflow_name=workflow, base_image=base)
        try:
            try:
                return client.images.get(context.tag), None
            except ImageNotFound:
                pass
            started = time.monotonic()
            self._build(client, context)
            return client.images.get(context.tag), round(time.monotonic() - started, 2)
        finally:
            context.close()

    def _build(self, client: Any, context: Any) -> None:
        from docker.errors import APIError

        lines: list[str] = []
        error: str | None = None
        try:
            # forcerm: the legacy builder leaves the container of a failed step behind otherwise.
            for chunk in client.api.build(
                fileobj=context.fileobj, custom_context=True, tag=context.tag, rm=True,
                forcerm=True, pull=False, network_mode="host", decode=True,
            ):
                if "stream" in chunk:
                    lines += chunk["stream"].splitlines()
                if "error" in chunk:
                    error = str(chunk["error"]).strip()
        except APIError as exc:
            error = str(exc.explanation or exc)
        if error is not None:
            # The steps and their output; the builder's own bookkeeping lines say nothing.
            shown = [line for line in lines if line.strip() and not line.startswith(_BUILDER_NOISE)]
            tail = "\n".join(shown[-_LOG_TAIL:])
            raise DeploymentError(f"building the image {context.tag} failed: {error}\n{tail}".rstrip())

    def _free_name(self, client: Any, deployment_id: str) -> str:
        """`cagents-<id>`; a stopped leftover of the same deployment is removed first."""
        from docker.errors import NotFound

        container_name = "cagents-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", deployment_id)[:100]
        try:
            old = client.containers.get(container_name)
        except NotFound:
            return container_name
        same = (old.labels or {}).get(LABEL_DEPLOYMENT) == deployment_id
        if same and old.status != "running":
            old.remove(force=True)
            return container_name
        raise DeploymentError(
            f"a container named {container_name} already exists ({old.status}); stop it with "
            f"`cagents deployments stop {deployment_id}` or deploy under another --id"
        )

    def _wait_healthy(self, container: Any, record: DeployedService) -> None:
        import httpx

        deadline = time.monotonic() + self.start_timeout
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while True:
                container.reload()
                if container.status not in ("created", "running"):
                    code = container.attrs.get("State", {}).get("ExitCode")
                    self._save_log(container, record)
                    raise DeploymentError(
                        f"the container of deployment '{record.deployment_id}' exited with status "
                        f"{code} before it answered /health; its log ends with:\n"
                        f"{self._saved_tail(record)}"
                    )
                try:
                    if http.get(record.url + "/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    self._save_log(container, record)
                    raise DeploymentError(
                        f"the container of deployment '{record.deployment_id}' did not answer /health "
                        f"within {self.start_timeout:g} s and was removed; its log ends with:\n"
                        f"{self._saved_tail(record)}"
                    )
                time.sleep(0.1)

    def _saved_tail(self, record: DeployedService) -> str:
        from cagents.deploy.process_target import log_tail

        return log_tail(record.log_path, _LOG_TAIL)

    @staticmethod
    def _save_log(container: Any, record: DeployedService) -> None:
        if not record.log_path:
            return
        from docker.errors import DockerException

        try:
            text = container.logs(stdout=True, stderr=True)
        except DockerException:  # the engine lost it: nothing to keep
            return
        Path(record.log_path).write_bytes(text)

    # ---- after deploy ---------------------------------------------------------------------
    @contextmanager
    def _container(self, record: DeployedService) -> Iterator[Any | None]:
        """The record's container (None when it is gone), with the engine connection open."""
        from docker.errors import NotFound

        if not record.container_id:
            yield None
            return
        address = record.extra.get("docker_host") or self.docker_host
        with closing(connect(address)) as client, self._engine_errors():
            try:
                container = client.containers.get(record.container_id)
            except NotFound:
                container = None
            yield container

    def stop(self, record: DeployedService) -> None:
        """SIGTERM (running executions get the service's grace), keep the log, remove the container."""
        with self._container(record) as container:
            if container is None:
                return
            if container.status == "running":
                container.stop(timeout=STOP_TIMEOUT)
            self._save_log(container, record)
            container.remove(force=True)

    def logs(self, record: DeployedService, tail: int | None = None) -> str:
        """The container's output; after `stop`, the copy kept in the record's log file."""
        from cagents.deploy.process_target import log_tail

        with self._container(record) as container:
            if container is None:
                return log_tail(record.log_path, tail)
            text = container.logs(stdout=True, stderr=True, tail="all" if tail is None else max(tail, 0))
        return bytes(text).decode("utf-8", errors="replace")

    def running(self, record: DeployedService) -> bool:
        with self._container(record) as container:
            return container is not None and bool(container.status == "running")


def _tag_of(image: Any) -> str:
    tags = image.tags or []
    return str(tags[0] if tags else image.id)
