"""`chat/sessions/{id}/turn|approve|execute|deploy`: the assistant's side of the chat.

A turn answers as Server-Sent Events (or one JSON object with `?stream=false`); refusals
(unknown session, abandoned, too long) are JSON errors before any event. `env` values serve
the one request and are never stored, echoed or logged.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

from cagents.errors import RequestError
from cagents.jupyter.handlers._base import API_PREFIX, ApiHandler

__all__ = ["ROUTES"]

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class _ChatHandler(ApiHandler):
    async def assistant(self) -> Any:
        from cagents.assistant import ChatAssistant

        return ChatAssistant(await self.workbench())

    def links(self, execution_id: str) -> dict[str, str]:
        execution = url_path_join(self.base_url, API_PREFIX, "executions", execution_id)
        return {"execution_url": execution, "events_url": url_path_join(execution, "events")}


class TurnHandler(_ChatHandler):
    """The user says something; the assistant's reply streams back."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        from cagents.assistant.conversation import check_turn_text

        body = self.body(allowed={"content", "env"})
        text = check_turn_text(body.get("content", str))
        env = body.strings("env")
        stream = (self.query("stream") or "true").lower()
        if stream not in _TRUE + _FALSE:
            raise RequestError(f"query argument 'stream' must be true or false, got {stream!r}", field="stream")
        assistant = await self.assistant()
        if stream in _FALSE:
            self.send_json(await assistant.collect(session_id, text, env=env))
            return
        events = assistant.turn(session_id, text, env=env)
        first = await events.__anext__()  # refusals raise here, answered as JSON errors
        self.set_status(200)
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        try:
            self._send(first)
            await self.flush()
            async for item in events:
                self._send(item)
                await self.flush()
            self.finish()
        except StreamClosedError:
            pass  # the client left; the reply is still written and stored
        finally:
            await events.aclose()

    def _send(self, item: dict[str, Any]) -> None:
        self.write(f"event: {item['event']}\ndata: {json.dumps(item['data'], default=str)}\n\n")


class ApproveHandler(_ChatHandler):
    """The current draft becomes the session's final workflow."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        body = self.body(allowed={"env"})
        env = body.strings("env")
        assistant = await self.assistant()
        self.send_json(await assistant.approve(session_id, env=env))


class ExecuteHandler(_ChatHandler):
    """Run the approved workflow here; 202 with its URLs, or 200 with the result when `wait`."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        from cagents.app.chat import execute_from_chat

        body = self.body(allowed={"inputs", "env", "coerce", "wait"})
        inputs: dict[str, Any] = body.get("inputs", dict, {})
        env = body.strings("env")
        coerce = body.get("coerce", bool, False)
        wait = body.get("wait", bool, False)
        run, message, report = await execute_from_chat(
            await self.workbench(), await self.live(), session_id, inputs, env=env or None, coerce=coerce,
            links=self.links)
        links = self.links(run.execution_id)
        if not wait:
            self.send_json({"execution_id": run.execution_id, "status": "running", **links, "message": message},
                           202)
            return
        result = await run.wait()
        result_message = await report
        outcome = result.to_dict() if result is not None else {
            "execution_id": run.execution_id, "status": "failed", "outputs": {}, "error": run.error,
            "total_tokens": 0, "total_cost_usd": 0.0, "duration_seconds": 0.0}
        self.send_json({**outcome, **links, "message": message, "result_message": result_message})


class DeployHandler(_ChatHandler):
    """Deploy the approved workflow as a service that registers with this workbench."""

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        from cagents.app.chat import deploy_from_chat
        from cagents.app.deploy import TARGETS

        body = self.body(allowed={"target", "name", "port", "env"})
        target = body.get("target", str)
        if target not in TARGETS:
            raise RequestError(f"body field 'target' must be one of {', '.join(TARGETS)}, got {target!r}",
                               field="target", status=422)
        name: str | None = body.get("name", str, None, max_len=100)
        if name is not None and not name.strip():
            raise RequestError("body field 'name' must not be blank; leave it out for the workflow's name",
                               field="name", status=422)
        port: int | None = body.get("port", int, None)
        if port is not None and not 1 <= port <= 65535:
            raise RequestError(f"body field 'port' must be between 1 and 65535, got {port}", field="port",
                               status=422)
        env = body.strings("env")
        dashboard = f"{self.request.protocol}://{self.request.host}{self.base_url}"
        deployed = await deploy_from_chat(
            await self.workbench(), session_id, target=target, name=name, port=port, env=env,
            dashboard_url=dashboard, token=self.runtime.deployment_token())
        self.send_json(deployed, 201)


ROUTES = [
    ("chat/sessions/(?P<session_id>[^/]+)/turn", TurnHandler),
    ("chat/sessions/(?P<session_id>[^/]+)/approve", ApproveHandler),
    ("chat/sessions/(?P<session_id>[^/]+)/execute", ExecuteHandler),
    ("chat/sessions/(?P<session_id>[^/]+)/deploy", DeployHandler),
]
