"""The `process` deploy target: the workflow service as a local subprocess (no Docker needed).

The child is `python -m cagents serve FILE ...` in its own session (so stopping it stops
all it started), with its output in `$CAGENTS_HOME/deployments/<id>.log`, its own workbench
home, and the deployment's env values in its environment only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from cagents.deploy import local
from cagents.deploy.target import DeployedService, url_host
from cagents.errors import DeploymentError

__all__ = ["ProcessTarget", "log_tail"]

#: Seconds a new service may take to answer /health.
START_TIMEOUT = 60.0
#: Seconds `stop` waits after SIGTERM (the service's own grace is 30 s) before SIGKILL.
STOP_TIMEOUT = 45.0
# Children started by this process, so `stop` can reap them (no zombie left behind).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def log_tail(path: str | Path | None, lines: int | None = 40) -> str:
    """The last `lines` lines of a log file ('' when there is none)."""
    if not path:
        return ""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    if lines is None:
        return text
    return "\n".join(text.splitlines()[-lines:]) if lines > 0 else ""


class ProcessTarget:
    """Deploys with `subprocess.Popen`; see the module docstring."""

    name = "process"

    def __init__(self, home: Path | None = None, start_timeout: float = START_TIMEOUT) -> None:
        self.home = home
        self.start_timeout = start_timeout

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
        from cagents.app.deployment_token import TOKEN_ENV
        from cagents.deploy.registration import DASHBOARD_ENV
        from cagents.deploy.serve_main import require_port_free
        from cagents.store.home import DB_URL_ENV, HOME_ENV

        spec_path = Path(spec_path).resolve()
        require_port_free(host, port)
        log = local.log_path(deployment_id, self.home)
        child_env = dict(os.environ)
        # The service keeps its executions in its own home; the workbench gets them by report.
        child_env.pop(DB_URL_ENV, None)
        child_env[HOME_ENV] = str(local.service_home(deployment_id, self.home))
        for variable in (DASHBOARD_ENV, TOKEN_ENV):
            child_env.pop(variable, None)
        if dashboard_url:
            child_env[DASHBOARD_ENV] = dashboard_url
            if token:
                child_env[TOKEN_ENV] = token
        child_env.update(env)
        command = [sys.executable, "-m", "cagents", "serve", str(spec_path), "--host", host, "--port",
                   str(port), "--deployment-id", deployment_id, "--name", name, "--target", self.name]
        with open(log, "ab") as output:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=subprocess.STDOUT, env=child_env, start_new_session=True)
        _CHILDREN[process.pid] = process
        record = DeployedService(
            deployment_id=deployment_id, name=name, target=self.name, url=f"http://{url_host(host)}:{port}",
            host=host, port=port, pid=process.pid, log_path=str(log), spec_path=str(spec_path),
            started_at=datetime.now(timezone.utc).isoformat(),
            extra={"env_names": sorted(env), "dashboard_url": dashboard_url},
        )
        self._wait_healthy(process, record)
        return record

    def _wait_healthy(self, process: subprocess.Popen[bytes], record: DeployedService) -> None:
        import httpx

        deadline = time.monotonic() + self.start_timeout
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while True:
                code = process.poll()
                if code is not None:
                    _CHILDREN.pop(process.pid, None)
                    raise DeploymentError(
                        f"the service of deployment '{record.deployment_id}' exited with status {code} "
                        f"before it answered /health; its log ({record.log_path}) ends with:\n"
                        f"{log_tail(record.log_path, 20)}"
                    )
                try:
                    if client.get(record.url + "/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    self.stop(record)
                    raise DeploymentError(
                        f"the service of deployment '{record.deployment_id}' did not answer /health within "
                        f"{self.start_timeout:g} s and was stopped; its log ({record.log_path}) ends with:\n"
                        f"{log_tail(record.log_path, 20)}"
                    )
                time.sleep(0.05)

    def stop(self, record: DeployedService) -> None:
        """SIGTERM to the service's session (it finishes or cancels its runs), SIGKILL if it hangs."""
        pid = record.pid
        if pid is None:
            return
        child = _CHILDREN.pop(pid, None)
        if child is None and not local.process_alive(record):
            return
        _signal_group(pid, signal.SIGTERM)
        if not _wait_gone(pid, child, STOP_TIMEOUT):
            _signal_group(pid, signal.SIGKILL)
            _wait_gone(pid, child, 10.0)

    def logs(self, record: DeployedService, tail: int | None = None) -> str:
        return log_tail(record.log_path, tail)

    def running(self, record: DeployedService) -> bool:
        return local.process_alive(record)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the child leads its own session: its group id is its pid
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        raise DeploymentError(f"not allowed to stop process {pid}: {exc.strerror}") from None


def _wait_gone(pid: int, child: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    from cagents.app.recovery import pid_alive

    if child is not None:
        try:
            child.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
