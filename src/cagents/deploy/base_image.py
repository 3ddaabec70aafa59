"""The engine connection and the local Python base image the docker target builds on.

No image is ever pulled: the base image must already be in the engine (built once with
`scripts/build-base-image.sh`). Each failure here says what to run or set, and that the
`process` target needs no Docker at all.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from cagents.errors import DeploymentError

__all__ = [
    "BASE_IMAGE_ENV",
    "DEFAULT_BASE_IMAGE",
    "BaseImage",
    "base_image_name",
    "check_base_image",
    "connect",
    "docker_host",
]

DEFAULT_BASE_IMAGE = "cagents/python-base:bookworm"
#: The setting that names another local base image (it needs a python3 of this Python's version).
BASE_IMAGE_ENV = "CAGENTS_DOCKER_BASE_IMAGE"
_DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_PROCESS_HINT = "or deploy without Docker: `cagents deploy FILE --target process`"


def docker_host() -> str:
    """The engine address the docker SDK uses: `$DOCKER_HOST`, else the default socket."""
    return os.environ.get("DOCKER_HOST", "").strip() or _DEFAULT_SOCKET


def base_image_name() -> str:
    return os.environ.get(BASE_IMAGE_ENV, "").strip() or DEFAULT_BASE_IMAGE


def connect(host: str | None = None, *, timeout: float = 120.0) -> Any:
    """A `docker.DockerClient` that has answered a ping; DeploymentError when there is none."""
    address = host or docker_host()
    try:
        import docker
        from docker.errors import DockerException
        from requests.exceptions import RequestException
    except ImportError:
        raise DeploymentError(
            "the docker target needs the `docker` package: pip install 'cagents[docker]'; "
            + _PROCESS_HINT
        ) from None
    reason = _probe(address)
    if reason is not None:
        raise _no_engine(address, reason)
    client = None
    try:
        client = docker.DockerClient(base_url=address, timeout=int(timeout))
        client.ping()
    except DockerException as exc:
        _close(client)
        raise _no_engine(address, _reason(exc)) from None
    except RequestException as exc:  # the socket went away between the probe and the ping
        _close(client)
        raise _no_engine(address, type(exc).__name__) from None
    return client


def _no_engine(address: str, reason: str) -> DeploymentError:
    return DeploymentError(
        f"no Docker engine answers at {address} ({reason}); start one (scripts/dockerd-up.sh "
        "prints the DOCKER_HOST to export) or point DOCKER_HOST at a running engine, " + _PROCESS_HINT
    )


def _probe(address: str) -> str | None:
    """Why nothing listens at the address, or None; checked first because the SDK's client
    leaks its socket when the engine is not there."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    try:
        if parts.scheme == "unix":
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(5)
                sock.connect(parts.path)
        elif parts.scheme in ("tcp", "http", "https") and parts.hostname:
            with socket.create_connection((parts.hostname, parts.port or 2375), timeout=5):
                pass
    except FileNotFoundError:
        return "no such socket"
    except ConnectionRefusedError:
        return "connection refused"
    except PermissionError:
        return "permission denied on the socket"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def _close(client: Any) -> None:
    if client is not None:
        client.close()


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("FileNotFoundError", "ConnectionRefusedError", "PermissionError"):
        if marker in text:
            return {"FileNotFoundError": "no such socket",
                    "ConnectionRefusedError": "connection refused",
                    "PermissionError": "permission denied on the socket"}[marker]
    return text.splitlines()[0][:200] if text else type(exc).__name__


@dataclass(frozen=True)
class BaseImage:
    name: str
    id: str
    size_bytes: int
    python: str | None


def _build_hint(name: str, address: str) -> str:
    return (
        f"build it once from a cagents source tree (as root, with debootstrap; about a minute): "
        f"DOCKER_HOST={address} scripts/build-base-image.sh {name}; or set {BASE_IMAGE_ENV} to "
        f"a local image whose python3 is {_host_python()} (images are never pulled); "
        + _PROCESS_HINT
    )


def _host_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def check_base_image(client: Any, name: str | None = None, *, address: str | None = None) -> BaseImage:
    """The base image, checked to exist in the engine and to carry this Python's version."""
    from docker.errors import ImageNotFound

    name = name or base_image_name()
    address = address or docker_host()
    try:
        image = client.images.get(name)
    except ImageNotFound:
        raise DeploymentError(
            f"the base image '{name}' is not in the Docker engine at {address}; "
            + _build_hint(name, address)
        ) from None
    labels = image.attrs.get("Config", {}).get("Labels") or {}
    python = labels.get("cagents.python")
    # The wheels are built for this interpreter; a label says which python3 the image has
    # (images without it are trusted and fail at `pip install` with pip's own message).
    if python and python != _host_python():
        raise DeploymentError(
            f"the base image '{name}' has Python {python}, but the wheels are built by this "
            f"Python {_host_python()}: run cagents with Python {python}, or build a base image "
            f"with Python {_host_python()} and set {BASE_IMAGE_ENV}"
        )
    return BaseImage(name=name, id=image.id, size_bytes=int(image.attrs.get("Size") or 0), python=python)
