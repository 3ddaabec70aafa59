"""`POST runs`: start a workflow (YAML text or a file under the server's root) in this server.

The run goes on in the server's loop after the answer (202 with the URLs to follow it), or
the request waits for its end (`wait: true`). `env` values reach the run and nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from cagents.errors import RequestError
from cagents.jupyter.handlers._base import API_PREFIX, ApiHandler
from cagents.jupyter.handlers.workflows import MAX_YAML_CHARS

if TYPE_CHECKING:
    from cagents.app.live import LiveRun
    from cagents.config.loader import WorkflowSpec

__all__ = ["ROUTES", "workflow_file"]

_FIELDS = {"yaml", "path", "inputs", "env", "wait", "coerce"}


def workflow_file(root: str | os.PathLike[str], path: str) -> tuple[Path, str]:
    """The file `path` names under `root`, and the name issues show; refuses paths outside it."""
    if not path.strip() or "\x00" in path:
        raise RequestError("body field 'path' must name a workflow file under the server's root",
                           field="path", status=422)
    relative = Path(path.replace("\\", "/"))
    if relative.is_absolute():
        raise RequestError(
            f"body field 'path' must be relative to the server's root folder, got the absolute path {path!r}",
            field="path", status=422,
        )
    base = Path(root).expanduser().resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise RequestError(
            f"body field 'path' {path!r} points outside the server's root folder; "
            "only workflow files under it can be run", field="path", status=403,
        )
    if not target.is_file():
        raise RequestError(f"body field 'path': no workflow file {path!r} under the server's root folder",
                           field="path", status=422)
    return target, target.relative_to(base).as_posix()


def _read_workflow(root: str, path: str) -> WorkflowSpec:
    from cagents.app.workflows import compile_text

    target, name = workflow_file(root, path)
    if target.stat().st_size > MAX_YAML_CHARS * 4:  # UTF-8: at most 4 bytes a character
        raise RequestError(f"workflow file {name!r} is larger than {MAX_YAML_CHARS:,} characters",
                           field="path", status=413)
    text = target.read_text(encoding="utf-8", errors="replace")
    if len(text) > MAX_YAML_CHARS:
        raise RequestError(f"workflow file {name!r} is larger than {MAX_YAML_CHARS:,} characters",
                           field="path", status=413)
    return compile_text(text, name)


class RunsHandler(ApiHandler):
    """Start a run; 202 with its URLs, or 200 with its result when `wait` is true."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        from cagents.app.workflows import compile_text

        body = self.body(allowed=_FIELDS)
        text: str | None = body.get("yaml", str, None, max_len=MAX_YAML_CHARS)
        path: str | None = body.get("path", str, None, max_len=4096)
        if (text is None) == (path is None):
            raise RequestError("give exactly one of the body fields 'yaml' (workflow text) and 'path' "
                               "(a workflow file under the server's root)",
                               field="path" if text is not None else "yaml", status=422)
        inputs: dict[str, Any] = body.get("inputs", dict, {})
        env = body.strings("env")
        wait = body.get("wait", bool, False)
        coerce = body.get("coerce", bool, False)
        if path is not None:
            root = self.settings.get("server_root_dir") or os.getcwd()
            spec = await self.blocking(_read_workflow, root, path)
        else:
            assert text is not None
            spec = await self.blocking(compile_text, text, "<workflow>")
        runs = await self.live()
        run = runs.start(spec, inputs, env=env or None, coerce_inputs=coerce)
        await run.accepted()  # its row exists now: `execution_url` answers at once
        if wait:
            self.send_json({**await self._result(run), **self._links(run.execution_id)})
            return
        self.send_json({"execution_id": run.execution_id, "status": "running",
                        **self._links(run.execution_id)}, 202)

    def _links(self, execution_id: str) -> dict[str, str]:
        execution = url_path_join(self.base_url, API_PREFIX, "executions", execution_id)
        return {"execution_url": execution, "events_url": url_path_join(execution, "events")}

    @staticmethod
    async def _result(run: LiveRun) -> dict[str, Any]:
        result = await run.wait()
        if result is not None:
            return result.to_dict()
        return {"execution_id": run.execution_id, "status": "failed", "outputs": {}, "error": run.error,
                "total_tokens": 0, "total_cost_usd": 0.0, "duration_seconds": 0.0}


ROUTES = [
    ("runs", RunsHandler),
]
