"""The served app of one workflow: `/health`, `/schema`, `/execute`, `/executions/{id}`, and
`/executions/{id}/resume` (answer a waiting human node, or continue an interrupted run).

Runs go through `cagents.app` on the service's own workbench (its own database), tagged
with the deployment id; with a workbench URL the service registers itself and reports its
executions there. A synchronous `/execute` answers when the run ends, or after `timeout`
with `202` and the execution id: the run goes on and is never started twice. Stopping
waits `grace` seconds for running executions, then cancels them (recorded as cancelled).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cagents.deploy.settings import ServiceConfig

if TYPE_CHECKING:
    from fastapi import FastAPI

    from cagents.app.workbench import Workbench
    from cagents.config.loader import WorkflowSpec
    from cagents.deploy.registration import Registration
    from cagents.deploy.reporter import Reporter
    from cagents.engine import RunResult

__all__ = ["ServiceConfig", "WorkflowService", "create_app"]

_log = logging.getLogger("cagents.deploy")
_IDEMPOTENCY_KEYS = 10_000


class Refused(Exception):
    """A request the service answers with `status` and FastAPI's `{"detail": ...}` shape."""

    def __init__(self, status: int, detail: Any, message: str | None = None) -> None:
        self.status = status
        self.detail = detail
        self.message = message
        super().__init__(message or str(detail))


def field_errors(problems: Mapping[str, str], where: tuple[str, ...] = ("body", "inputs")) -> list[dict[str, Any]]:
    """FastAPI's validation error items, one per field."""
    return [{"loc": [*where, name], "msg": why, "type": "value_error"} for name, why in problems.items()]


class WorkflowService:
    """The state of one running service: its workflow, workbench, runs and workbench link."""

    def __init__(self, config: ServiceConfig, spec: WorkflowSpec) -> None:
        self.config = config
        self.spec = spec
        self.deployment_id = config.deployment_id or config.default_id(spec.name)
        self.name = config.name or spec.name
        self.workbench: Workbench | None = None
        self.tasks: dict[str, asyncio.Task[RunResult]] = {}
        self.keys: OrderedDict[str, str] = OrderedDict()
        self.reporter: Reporter | None = None
        self.registration: Registration | None = None
        self.closing = False
        self.started = time.monotonic()
        self._subscribers: list[Any] = []

    # ---- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Open the workbench; register and start reporting when a workbench URL is set."""
        from cagents.app import Workbench

        home = self.config.home
        self.workbench = await asyncio.to_thread(Workbench.open, home)
        if self.config.dashboard_url:
            from cagents.deploy.registration import Registration
            from cagents.deploy.reporter import Reporter

            self.reporter = Reporter(self.config.dashboard_url, self.config.deployment_token,
                                     self.deployment_id, self.workbench.db, on_cancel=self.cancel_runs)
            self.reporter.start()
            self._subscribers = [self.reporter.subscriber]
            self.registration = Registration(self.config.dashboard_url, self.config.deployment_token,
                                             self.registration_payload(self.config.port),
                                             interval=self.config.heartbeat_interval,
                                             on_cancel=self.cancel_runs)
            self.registration.start()

    def cancel_runs(self, execution_ids: list[str]) -> None:
        """Stop runs of this service that the workbench was asked to cancel (Executions page)."""
        if self.workbench is None:
            return
        for execution_id in execution_ids:
            run = self.workbench.live_run(execution_id)
            if run is not None:
                _log.info("execution %s: cancelled from the workbench", execution_id)
                run.cancel()

    async def stop(self) -> None:
        """Finish or cancel the running executions, send their reports, close the workbench."""
        self.closing = True
        if self.tasks:
            _log.info("waiting up to %g s for %d running executions", self.config.grace, len(self.tasks))
            await asyncio.wait(set(self.tasks.values()), timeout=self.config.grace)
        if self.tasks and self.workbench is not None:
            _log.warning("cancelling %d executions still running after %g s", len(self.tasks), self.config.grace)
            for execution_id in list(self.tasks):
                run = self.workbench.live_run(execution_id)
                if run is not None:
                    run.cancel()
            await asyncio.wait(set(self.tasks.values()), timeout=10.0)
            for task in list(self.tasks.values()):
                task.cancel()
        if self.registration is not None:
            await self.registration.aclose()
        if self.reporter is not None:
            await self.reporter.aclose(flush_timeout=max(10.0, self.config.grace))
        from cagents.llm import aclose_clients

        await aclose_clients()
        if self.workbench is not None:
            await asyncio.to_thread(self.workbench.close)

    def registration_payload(self, port: int) -> dict[str, Any]:
        """The body of `POST cagents/api/deployments` for this service."""
        from cagents._version import __version__

        host = self.config.advertised_host()
        tools = sorted({tool for node in self.spec.config.nodes for tool in _tool_names(node)})
        metadata: dict[str, Any] = {
            "target": self.config.target, "pid": os.getpid(), "url": f"http://{_url_host(host)}:{port}",
            "cagents_version": __version__, "config_hash": self.spec.config_hash,
            "workflow_version": self.spec.config.flow.version,
        }
        if self.config.token:
            from cagents.app.deployments import TOKEN_KEY

            metadata[TOKEN_KEY] = self.config.token  # so the workbench can call /execute
        return {
            "deployment_id": self.deployment_id, "deployment_name": self.name,
            "workflow_name": self.spec.name, "host": host, "port": port,
            "ttl_seconds": self.config.ttl_seconds,
            "capabilities": {"execute": True, "async": True, "schema": True, "resume": True,
                             "auth": bool(self.config.token),
                             "sync_timeout_seconds": self.config.timeout, "tools": tools,
                             "env": [name for req in self.spec.env for name in req.names]},
            "metadata": metadata,
        }

    # ---- executions ---------------------------------------------------------------------
    def launch(self, inputs: Mapping[str, Any], env: Mapping[str, str]) -> str:
        """Start a recorded run as a task; bad inputs raise InputError before anything runs."""
        from cagents.app.runs import drive, start_workflow

        assert self.workbench is not None
        if self.closing:
            raise Refused(503, "the service is shutting down; send the request to another replica")
        handle = start_workflow(self.workbench, self.spec, inputs, env=env or None,
                                subscribers=self._subscribers, coerce_inputs=True,
                                deployment_id=self.deployment_id)
        execution_id = handle.execution_id
        task = asyncio.get_running_loop().create_task(drive(self.workbench, handle))
        self.tasks[execution_id] = task
        task.add_done_callback(lambda done: self._ended(execution_id, done))
        return execution_id

    async def resume(self, execution_id: str, values: Mapping[str, Any] | None, env: Mapping[str, str]) -> None:
        """Continue a waiting or interrupted execution of this service as a task; returns once the
        answer is accepted (its first event), so refusals (409, 422 naming each value) reach the caller."""
        from cagents.app.resume import aresume_execution, check_resumable
        from cagents.errors import ConflictError, InputError, NotFoundError

        assert self.workbench is not None
        if self.closing:
            raise Refused(503, "the service is shutting down; resume the execution once it runs again")
        if execution_id in self.tasks:
            raise Refused(409, f"execution {execution_id} is running on this service; it needs no resume")
        try:
            record = await check_resumable(self.workbench, execution_id, values)
        except NotFoundError:
            record = None
        except ConflictError as error:
            raise Refused(409, str(error)) from None
        if record is None or record.deployment_id != self.deployment_id:
            raise Refused(404, f"no execution with id '{execution_id}' on this service")
        accepted = asyncio.Event()
        task = asyncio.get_running_loop().create_task(aresume_execution(
            self.workbench, execution_id, values, env=env or None,
            subscribers=[lambda _event: accepted.set(), *self._subscribers]))
        self.tasks[execution_id] = task
        task.add_done_callback(lambda done: self._ended(execution_id, done))
        waiter = asyncio.ensure_future(accepted.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        failure = task.exception() if task.done() and not task.cancelled() else None
        if isinstance(failure, (InputError, ConflictError)):
            self.workbench.untrack(execution_id)  # still waiting for a right answer
        if isinstance(failure, InputError):
            raise Refused(422, field_errors(failure.problems, ("body", "values")), str(failure))
        if isinstance(failure, ConflictError):
            raise Refused(409, str(failure))
        _log.info("execution %s: resumed", execution_id)

    def _ended(self, execution_id: str, task: asyncio.Task[RunResult]) -> None:
        from cagents.errors import ConflictError, InputError

        self.tasks.pop(execution_id, None)
        if not task.cancelled() and isinstance(task.exception(), (InputError, ConflictError)):
            return  # a refused resume: its caller was told
        if not task.cancelled() and task.exception() is not None:
            _log.error("execution %s failed outside the workflow", execution_id, exc_info=task.exception())

    def remember(self, key: str | None, execution_id: str) -> None:
        if key:
            self.keys[key] = execution_id
            while len(self.keys) > _IDEMPOTENCY_KEYS:
                self.keys.popitem(last=False)

    async def wait(self, execution_id: str, timeout: float) -> RunResult | None:
        """The run's result when it ends within `timeout`; None while it goes on."""
        task = self.tasks.get(execution_id)
        if task is None:
            return None
        done, _ = await asyncio.wait({task}, timeout=timeout)  # never cancels the run itself
        if not done:
            return None
        if task.cancelled():
            raise Refused(500, f"execution {execution_id} was stopped with the service")
        error = task.exception()
        if error is not None:
            raise Refused(500, f"execution {execution_id} failed: {error}")
        return task.result()

    async def execution(self, execution_id: str) -> dict[str, Any]:
        """What `GET /executions/{id}` answers (from the service's database)."""
        from cagents.errors import NotFoundError

        assert self.workbench is not None
        try:
            record = await asyncio.to_thread(self.workbench.db.executions.get, execution_id)
        except NotFoundError:
            record = None
        if record is None or record.deployment_id != self.deployment_id:
            if execution_id in self.tasks:  # accepted, its row is being written
                return {"execution_id": execution_id, "deployment_id": self.deployment_id,
                        "workflow_name": self.spec.name, "status": "pending"}
            raise Refused(404, f"no execution with id '{execution_id}' on this service")
        return {
            "execution_id": record.id, "deployment_id": record.deployment_id,
            "workflow_name": record.workflow_name, "status": record.status, "outputs": record.outputs,
            "error": record.error_message, "total_tokens": record.total_tokens,
            "total_cost_usd": record.total_cost_usd, "duration_seconds": record.duration_seconds,
            "started_at": _iso(record.started_at), "completed_at": _iso(record.completed_at),
            "simulated": record.simulated, "waiting_for": record.waiting_for,
        }

    def result_body(self, result: RunResult) -> dict[str, Any]:
        body = result.to_dict()
        body["deployment_id"] = self.deployment_id
        return body

    def health(self) -> dict[str, Any]:
        registration = self.registration
        return {
            "status": "stopping" if self.closing else "ok",
            "workflow": self.spec.name, "deployment_id": self.deployment_id, "name": self.name,
            "running": len(self.tasks), "uptime_seconds": round(time.monotonic() - self.started, 3),
            "registered": None if registration is None else registration.registered,
        }

    def schema(self) -> dict[str, Any]:
        from cagents.app.workflows import env_entry

        return {
            "workflow": self.spec.name, "description": self.spec.config.flow.description,
            "version": self.spec.config.flow.version, "config_hash": self.spec.config_hash,
            "input_schema": self.spec.input_schema(), "output_schema": self.spec.output_schema(),
            "env": [env_entry(requirement) for requirement in self.spec.env],
        }


def _tool_names(node: Any) -> list[str]:
    names = []
    for tool in getattr(node, "tools", None) or []:
        name = tool if isinstance(tool, str) else getattr(tool, "name", None)
        if isinstance(name, str):
            names.append(name)
    return names


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _iso(value: Any) -> str | None:
    from cagents.store.records import iso

    return iso(value)


def create_app(config: ServiceConfig, spec: WorkflowSpec | None = None) -> FastAPI:
    """The FastAPI app serving `config.spec_path` (or `spec`)."""
    from cagents.deploy._routes import build_app

    if spec is None:
        from cagents.app.runs import load_workflow

        spec = load_workflow(config.spec_path)
    return build_app(WorkflowService(config, spec))
