"""`chat/sessions...`: the chat panel's sessions and messages, stored so a chat can be resumed.

A new session starts with the assistant's welcome; a session reads with the assistant's
state (stage, current draft, final workflow). The assistant's own routes (turn, approve,
execute, deploy) are in `chat_actions`. Sessions list most recently active first; messages
oldest first.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from cagents.errors import RequestError
from cagents.jupyter.handlers._base import ApiHandler, Body
from cagents.jupyter.handlers.workflows import MAX_YAML_CHARS

__all__ = ["MAX_MESSAGE_CHARS", "ROUTES"]

#: A message longer than this is refused (413): the panel sends what a person typed.
MAX_MESSAGE_CHARS = 100_000
ROLES = ("user", "assistant", "system")
STATUSES = ("active", "completed", "abandoned")


def _choice(body: Body, name: str, choices: tuple[str, ...], default: Any = ...) -> Any:
    value = body.get(name, str) if default is ... else body.get(name, str, default)
    if value is not None and value not in choices:
        raise RequestError(f"body field '{name}' must be one of {', '.join(choices)}, got {value!r}",
                           field=name, status=422)
    return value


class SessionsHandler(ApiHandler):
    """List sessions (`limit`, default 50) or start a new one."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit = self.query_int("limit", 50, 1, 1000)
        workbench = await self.workbench()
        sessions = await self.blocking(workbench.db.chats.list_sessions, limit=limit)
        self.send_json({"sessions": sessions})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body(allowed={"user_identifier"})
        user = body.get("user_identifier", str, None, max_len=200)
        if user is not None and not user.strip():
            raise RequestError("body field 'user_identifier' must not be empty; leave it out instead",
                               field="user_identifier", status=422)
        from cagents.assistant import ChatAssistant

        workbench = await self.workbench()
        session = await self.blocking(ChatAssistant(workbench).open_session, user)
        self.send_json(session, 201)


class SessionHandler(ApiHandler):
    """One session with its messages and the assistant's state; PATCH changes its status or YAML."""

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        from cagents.assistant import ChatAssistant

        workbench = await self.workbench()
        self.send_json(await self.blocking(ChatAssistant(workbench).view, session_id))

    @web.authenticated
    @authorized
    async def patch(self, session_id: str) -> None:
        body = self.body(allowed={"status", "generated_config"})
        if not body.data:
            raise RequestError("give 'status' and/or 'generated_config' to change", field="status", status=422)
        status = _choice(body, "status", STATUSES, None)
        changes: dict[str, Any] = {"status": status}
        if "generated_config" in body.data:  # null clears it
            changes["generated_config"] = body.get("generated_config", str, None, max_len=MAX_YAML_CHARS)
        workbench = await self.workbench()
        self.send_json(await self.blocking(workbench.db.chats.update_session, session_id, **changes))


class MessagesHandler(ApiHandler):
    """A session's messages, oldest first; POST appends one."""

    @web.authenticated
    @authorized
    async def get(self, session_id: str) -> None:
        workbench = await self.workbench()
        messages = await self.blocking(workbench.db.chats.messages, session_id)
        self.send_json({"session_id": session_id, "messages": messages})

    @web.authenticated
    @authorized
    async def post(self, session_id: str) -> None:
        body = self.body(allowed={"role", "content", "metadata"})
        role = _choice(body, "role", ROLES)
        content = body.get("content", str)
        if len(content) > MAX_MESSAGE_CHARS:
            raise RequestError(
                f"body field 'content' is {len(content):,} characters long; a message holds at most "
                f"{MAX_MESSAGE_CHARS:,}", field="content", status=413,
            )
        metadata = body.get("metadata", dict, None)
        workbench = await self.workbench()
        message = await self.blocking(
            workbench.db.chats.add_message, session_id, role=role, content=content, metadata=metadata,
        )
        self.send_json(message, 201)


ROUTES = [
    ("chat/sessions", SessionsHandler),
    ("chat/sessions/(?P<session_id>[^/]+)", SessionHandler),
    ("chat/sessions/(?P<session_id>[^/]+)/messages", MessagesHandler),
]
