"""`executions...`: the history with filters, paging and totals; detail; cancel, re-run, resume; config.

Filters read like the CLI's (`cagents executions list`); detail, actions and list rows come
from `cagents.app.execution_detail`, so every host shows an execution the same way. Re-run
and resume answer 202 once the run has begun in the server's loop; its events stream from
`executions/{id}/events`.
"""

from __future__ import annotations

from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from cagents.errors import RequestError
from cagents.jupyter.handlers._base import API_PREFIX, ApiHandler

if TYPE_CHECKING:
    from cagents.app.live import LiveRun
    from cagents.store import ExecutionFilters

__all__ = ["ROUTES", "MAX_LIMIT"]

#: Rows per page at most (`limit`).
MAX_LIMIT = 500
DEFAULT_LIMIT = 50
_FILTERS = {"status", "workflow", "deployment", "since", "until", "q"}
#: Query arguments Jupyter itself reads on any request.
_JUPYTER_ARGS = {"token", "_xsrf", "no_track_activity"}
_TEXT_LIMITS = {"workflow": 200, "deployment": 128, "q": 200}


class _ExecutionsHandler(ApiHandler):
    """Query parsing shared by the list and the summary."""

    def known_args(self, allowed: set[str]) -> None:
        """Refuse query arguments the route does not read (a typo would silently widen a filter)."""
        extra = sorted(set(self.request.query_arguments) - allowed - _JUPYTER_ARGS)
        if extra:
            raise RequestError(
                f"query argument '{extra[0]}' is not known here; known: {', '.join(sorted(allowed))}",
                field=extra[0],
            )

    def filters(self) -> ExecutionFilters:
        from cagents.store import ExecutionFilters

        texts: dict[str, str | None] = {}
        for name, limit in _TEXT_LIMITS.items():
            value = self.query(name)
            if value is not None and len(value) > limit:
                raise RequestError(f"query argument '{name}' is longer than {limit} characters", field=name)
            texts[name] = value
        since, until = self._when("since"), self._when("until")
        if since is not None and until is not None and _utc(until) <= _utc(since):
            raise RequestError(f"query argument 'until' ({self.query('until')}) must be after 'since' "
                               f"({self.query('since')})", field="until")
        return ExecutionFilters(status=self._statuses(), workflow=texts["workflow"], since=since, until=until,
                                text=texts["q"], deployment_id=texts["deployment"])

    def _statuses(self) -> list[str] | None:
        from cagents.store.models import EXECUTION_STATUSES

        raw = self.query("status")
        if raw is None:
            return None
        found = [part.strip() for part in raw.split(",") if part.strip()]
        unknown = [name for name in found if name not in EXECUTION_STATUSES]
        if unknown or not found:
            raise RequestError(f"query argument 'status' has unknown status {', '.join(unknown) or repr(raw)}; "
                               f"choose from {', '.join(EXECUTION_STATUSES)} (comma-separated)", field="status")
        return found

    def _when(self, name: str) -> datetime | None:
        raw = self.query(name)
        if raw is None:
            return None
        text = raw.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise RequestError(f"query argument '{name}' is not an ISO date or time: {raw!r} "
                               "(e.g. 2025-01-31 or 2025-01-31T14:00:00Z)", field=name) from None


class ExecutionListHandler(_ExecutionsHandler):
    """One page of executions, newest first, as light rows."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        from cagents.app.execution_detail import list_item
        from cagents.store.repositories.executions import decode_cursor

        self.known_args(_FILTERS | {"limit", "cursor"})
        filters = self.filters()
        limit = self.query_int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        cursor = self.query("cursor")
        if cursor is not None:
            try:
                decode_cursor(cursor)
            except RequestError as error:
                raise RequestError(f"query argument 'cursor' is not valid: {error}", field="cursor") from None
        workbench = await self.workbench()
        page = await self.blocking(workbench.db.executions.list, filters, limit=limit, cursor=cursor)
        self.send_json({"items": [list_item(record) for record in page.items], "next_cursor": page.next_cursor})


class ExecutionSummaryHandler(_ExecutionsHandler):
    """The summary box over the same filters as the list."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        # `limit` and `cursor` are accepted and ignored, so a panel can send one query to both.
        self.known_args(_FILTERS | {"limit", "cursor"})
        filters = self.filters()
        workbench = await self.workbench()
        summary = await self.blocking(workbench.db.executions.summary, filters)
        self.send_json(summary.to_dict())


class WorkflowNamesHandler(_ExecutionsHandler):
    """Names of the workflows that have executions (the filter dropdown)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.known_args(set())
        workbench = await self.workbench()
        self.send_json({"workflows": await self.blocking(workbench.db.executions.workflows)})


class ExecutionDetailHandler(ApiHandler):
    """One execution: its fields, timeline, bottleneck, links and the actions it allows."""

    @web.authenticated
    @authorized
    async def get(self, execution_id: str) -> None:
        from cagents.app.execution_detail import execution_detail

        raw = (self.query("include_state") or "false").lower()
        if raw not in ("true", "false", "1", "0"):
            raise RequestError(f"query argument 'include_state' must be true or false, got {raw!r}",
                               field="include_state")
        workbench = await self.workbench()
        detail = await self.blocking(execution_detail, workbench, execution_id,
                                     include_state=raw in ("true", "1"))
        self.send_json(detail)


class CancelHandler(ApiHandler):
    """Stop a running, pending, waiting or interrupted execution; a finished one is a 409."""

    @web.authenticated
    @authorized
    async def post(self, execution_id: str) -> None:
        from cagents.app.cancel import acancel_execution
        from cagents.app.execution_detail import record_fields

        self.body(allowed=set())
        record = await acancel_execution(await self.workbench(), execution_id)
        self.send_json(record_fields(record))


class _BackgroundRunHandler(ApiHandler):
    """A route that starts a run in the server's loop and points at its events."""

    def events_url(self, execution_id: str) -> str:
        return url_path_join(self.base_url, API_PREFIX, "executions", quote(execution_id, safe=""), "events")


class RerunHandler(_BackgroundRunHandler):
    """Run again from the config snapshot and inputs, in the background; a new execution id."""

    @web.authenticated
    @authorized
    async def post(self, execution_id: str) -> None:
        from cagents.app.execution_detail import require_action

        body = self.body(allowed={"env"})
        env = body.strings("env")
        workbench = await self.workbench()
        require_action(await self.blocking(workbench.db.executions.get, execution_id), "rerun")
        live = await (await self.live()).rerun(execution_id, env=env or None)
        await _begun(live)
        self.send_json({"execution_id": live.execution_id, "retry_of": execution_id,
                        "events_url": self.events_url(live.execution_id)}, status=202)


class ResumeHandler(_BackgroundRunHandler):
    """Continue an interrupted or waiting execution (`values` answer a waiting human node);
    one a deployment reported goes on there, not here."""

    @web.authenticated
    @authorized
    async def post(self, execution_id: str) -> None:
        from cagents.app.deployments import aresume_deployed

        body = self.body(allowed={"values", "env"})
        values: dict[str, Any] | None = body.get("values", dict, None)
        env = body.strings("env")
        workbench = await self.workbench()
        record = await self.blocking(workbench.db.executions.get, execution_id)
        if record.deployment_id:
            await aresume_deployed(workbench, record, values, env or None)
            self.send_json({"execution_id": execution_id, "deployment_id": record.deployment_id,
                            "events_url": self.events_url(execution_id)}, status=202)
            return
        live = await (await self.live()).resume(execution_id, values, env=env or None)
        await _begun(live)
        self.send_json({"execution_id": execution_id, "events_url": self.events_url(execution_id)}, status=202)


class ConfigHandler(ApiHandler):
    """The YAML the execution ran, as a file download."""

    @web.authenticated
    @authorized
    async def get(self, execution_id: str) -> None:
        from cagents.app.execution_detail import config_filename

        workbench = await self.workbench()
        record = await self.blocking(workbench.db.executions.get, execution_id)
        if not record.config_snapshot:
            raise RequestError(
                f"execution {execution_id} has no config snapshot (the process that recorded it kept "
                "no YAML), so there is no config to download", field="execution_id", status=404,
            )
        self.set_header("Content-Disposition", f'attachment; filename="{config_filename(record)}"')
        self.finish(record.config_snapshot, set_content_type="application/x-yaml; charset=utf-8")


#: Events that may come before the run's row says it is going again: an answer to a waiting
#: node finishes that node first, and the row is reopened by the checkpoint that follows.
_BEFORE_THE_ROW = frozenset({"node_finished", "node_failed", "node_retrying", "token_streamed", "tool_called"})


async def _begun(live: LiveRun) -> None:
    """Wait until the run's row shows it going (or it ended), so a 202 means the detail read next
    is current; a refusal raised inside the run before that (answers that do not fit the waiting
    node, another process resumed it first) is raised here."""
    async with aclosing(live.follow()) as events:
        async for event in events:
            if event.get("type") not in _BEFORE_THE_ROW:
                break
    task = live.task
    if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


def _utc(value: datetime) -> datetime:
    from cagents.store.records import to_utc_naive

    return to_utc_naive(value)


_ID = r"(?P<execution_id>[^/]+)"

ROUTES = [
    ("executions", ExecutionListHandler),
    ("executions/summary", ExecutionSummaryHandler),
    ("executions/workflows", WorkflowNamesHandler),
    (f"executions/{_ID}", ExecutionDetailHandler),
    (f"executions/{_ID}/cancel", CancelHandler),
    (f"executions/{_ID}/rerun", RerunHandler),
    (f"executions/{_ID}/resume", ResumeHandler),
    (f"executions/{_ID}/config", ConfigHandler),
]
