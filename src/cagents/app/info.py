"""What the workbench runs with: versions, which LLM provider calls go to, where traces go.

Never a secret: a key is reported as the name of the variable that holds it, and a URL
with credentials is masked.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from importlib import metadata
from typing import Any

__all__ = ["llm_info", "mlflow_info", "versions", "workbench_info"]

_PACKAGES = ("cagents", "jupyter_server", "jupyterlab", "mlflow", "mlflow-skinny", "openai", "sqlalchemy")


def versions() -> dict[str, str | None]:
    """Installed versions of cagents and what it runs on (None when not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def llm_info(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Where LLM calls go without a per-workflow setting: a gateway, providers with keys, or the simulator."""
    from cagents.config.providers import GATEWAY_KEY_ENV, GATEWAY_URL_ENV, PROVIDER_INFO

    env = os.environ if environ is None else environ
    gateway = env.get(GATEWAY_URL_ENV, "").strip() or None
    providers = []
    for info in PROVIDER_INFO.values():
        if not info.needs_key:
            continue
        key_env = next((name for name in info.key_envs if env.get(name, "").strip()), None)
        if key_env is not None:
            providers.append({"provider": info.name, "key_env": key_env})
    simulator_off = env.get("CAGENTS_SIMULATOR", "").strip().lower() in ("off", "0", "false", "no")
    return {
        "gateway_url": _mask(gateway) if gateway else None,
        "gateway_key_set": bool(env.get(GATEWAY_KEY_ENV, "").strip()),
        "providers_with_keys": providers,
        "simulator": not gateway and not providers and not simulator_off,
        "simulator_disabled": simulator_off,
    }


def mlflow_info(environ: Mapping[str, str] | None = None, *, proxy_path: str | None = None) -> dict[str, Any]:
    """The tracking store, whether tracing is on, and where its UI is (embedded or a link)."""
    from cagents.errors import ConfigError
    from cagents.observe.settings import ObserveSettings

    try:
        settings = ObserveSettings.from_env(environ=environ)
    except ConfigError as error:
        return {"enabled": False, "error": str(error), "tracking_uri": None, "mode": None, "ui_url": None}
    remote = settings.is_remote
    return {
        "enabled": settings.enabled,
        "disabled_reason": settings.disabled_reason,
        "tracking_uri": _mask(settings.tracking_uri),
        "mode": "external" if remote else "embedded",
        "ui_url": _mask(settings.tracking_uri) if remote else proxy_path,
        "installed": _installed("mlflow") or _installed("mlflow-skinny"),
        "ui_installed": _installed("mlflow"),
    }


def workbench_info(*, database_url: str, home: str, mlflow_proxy_path: str | None = None) -> dict[str, Any]:
    """Everything above plus where the app database is."""
    from cagents.store.db import mask_url

    return {
        "versions": versions(),
        "database": mask_url(database_url),
        "home": home,
        "llm": llm_info(),
        "mlflow": mlflow_info(proxy_path=mlflow_proxy_path),
    }


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def _mask(url: str) -> str:
    """A URL without its password (`user:***@host`)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}" if parts.username else f"***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))
