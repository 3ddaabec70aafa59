"""`deployments/{id}/executions`: a deployed service reports an execution it ran.

Called by the services themselves with the deployment token, like register and heartbeat
(the same `_ServiceCallable` admission: the token, or Jupyter's auth and XSRF).
"""

from __future__ import annotations

from jupyter_server.auth.decorator import allow_unauthenticated

from cagents.jupyter.handlers.deployments import _ServiceCallable

__all__ = ["ROUTES"]


class ExecutionReportHandler(_ServiceCallable):
    """`POST`: create or update the execution and add its new checkpoints (idempotent)."""

    @allow_unauthenticated
    async def post(self, deployment_id: str) -> None:
        from cagents.app.reports import report_execution

        await self._admit()
        body = self.body(allowed={"execution", "states"})
        execution = body.get("execution", dict)
        states = body.get("states", list, [])
        workbench = await self.workbench()
        result = await self.blocking(report_execution, workbench, deployment_id, execution, states)
        self.send_json(result, 201 if result["created"] else 200)


ROUTES = [
    ("deployments/(?P<deployment_id>[^/]+)/executions", ExecutionReportHandler),
]
