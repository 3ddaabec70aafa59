"""The chat's Execute and Deploy: run or deploy a session's approved workflow, and say so in the chat.

Execute starts the run in the host's loop (`LiveRuns`) and stores a message with the
execution's id and link at once, and another with the result when the run ends. Deploy
starts a service (`deploy_workflow`) and stores a message with its id and URL. Env values
serve the one request: they are scrubbed from anything the chat stores.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cagents.errors import CagentsError, DeploymentError

if TYPE_CHECKING:
    from pathlib import Path

    from cagents.app.live import LiveRun, LiveRuns
    from cagents.app.workbench import Workbench
    from cagents.engine import RunResult

__all__ = ["deploy_from_chat", "execute_from_chat", "result_text"]

_log = logging.getLogger("cagents.app")
#: Characters of outputs a result message shows (the Executions page has all of them).
MAX_OUTPUT_CHARS = 4000
_reports: set[asyncio.Task[Any]] = set()


def result_text(execution_id: str, result: RunResult | None, error: str | None) -> str:
    if result is None:
        return f"Execution `{execution_id}` failed before it started: {error or 'unknown error'}"
    cost = f"${result.total_cost_usd:.4f}" + (" (simulated)" if result.simulated else "")
    head = (f"Execution `{execution_id}` {result.status} in {result.duration_seconds:.1f} s: "
            f"{result.total_tokens:,} tokens, {cost}.")
    if result.status == "waiting":
        return head + " It waits for a person's input: answer it from the Executions panel."
    if result.error:
        return f"{head}\n\nError: {result.error}"
    outputs = json.dumps(result.outputs, indent=2, ensure_ascii=False, default=str)
    if len(outputs) > MAX_OUTPUT_CHARS:
        outputs = outputs[:MAX_OUTPUT_CHARS] + "\n... (cut; the Executions page has everything)"
    return f"{head}\n\nOutputs:\n```json\n{outputs}\n```"


async def execute_from_chat(
    workbench: Workbench,
    live: LiveRuns,
    session_id: str,
    inputs: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    coerce: bool = False,
    links: Callable[[str], dict[str, str]],
) -> tuple[LiveRun, dict[str, Any], asyncio.Task[dict[str, Any]]]:
    """Start the approved workflow; (run, the `execution` message, the task storing the result message).

    Refusals (no approved workflow: 409; inputs that do not fit: 422) raise before anything runs.
    """
    from cagents.app.workflows import compile_text
    from cagents.assistant import ChatAssistant
    from cagents.assistant.model import scrub

    assistant = ChatAssistant(workbench)
    final_yaml, _state = await asyncio.to_thread(assistant.approved_workflow, session_id)
    spec = await asyncio.to_thread(compile_text, final_yaml, "<chat>")
    run = live.start(spec, dict(inputs), env=dict(env) if env else None, coerce_inputs=coerce)
    await run.accepted()
    urls = links(run.execution_id)
    content = (f"Started execution `{run.execution_id}` of `{spec.name}`: [follow it]({urls['execution_url']}). "
               "I will post the result here when it ends.")
    message = await asyncio.to_thread(assistant.record, session_id, "execution", content,
                                      {"execution_id": run.execution_id, "workflow": spec.name, **urls})

    async def report() -> dict[str, Any]:
        result = await run.wait()
        text = scrub(result_text(run.execution_id, result, run.error), env)
        extra: dict[str, Any] = {"execution_id": run.execution_id,
                                 "status": result.status if result else "failed", **urls}
        if result is not None:
            extra.update(total_tokens=result.total_tokens, cost_usd=result.total_cost_usd,
                         duration_seconds=result.duration_seconds)
        try:
            return await asyncio.to_thread(assistant.record, session_id, "execution_result", text, extra,
                                           advance=False)
        except CagentsError as error:  # the session was deleted meanwhile, or the database is down
            _log.warning("chat %s: the result of execution %s was not stored: %s", session_id,
                         run.execution_id, error)
            raise

    task = asyncio.get_running_loop().create_task(report(), name=f"cagents-chat-result-{run.execution_id}")
    _reports.add(task)
    task.add_done_callback(_reports.discard)
    return run, message, task


async def deploy_from_chat(
    workbench: Workbench,
    session_id: str,
    *,
    target: str,
    name: str | None,
    port: int | None,
    env: Mapping[str, str] | None,
    dashboard_url: str | None,
    token: str | None,
    home: Path | None = None,
) -> dict[str, Any]:
    """Deploy the approved workflow; the deployment (with the stored `deployment` message).

    A service that fails to start is said in the chat too, then raised (DeploymentError, 502).
    """
    from cagents.app.deploy import deploy_workflow
    from cagents.assistant import ChatAssistant
    from cagents.assistant.model import scrub

    assistant = ChatAssistant(workbench)
    final_yaml, _state = await asyncio.to_thread(assistant.approved_workflow, session_id)
    try:
        deployed = await asyncio.to_thread(
            deploy_workflow, workbench, final_yaml, target=target, name=name, port=port, env=env,
            dashboard_url=dashboard_url, token=token, home=home)
    except CagentsError as error:
        problem = scrub(str(error), env)
        await asyncio.to_thread(assistant.record, session_id, "error", f"The deployment failed: {problem}",
                                {"error": {"error": type(error).__name__, "message": problem}}, advance=False)
        if problem != str(error):  # an env value in the service's log: never echoed
            raise DeploymentError(problem) from None
        raise
    content = (f"Deployed `{deployed['workflow']}` as `{deployed['deployment_id']}` ({target}) at "
               f"{deployed['url']}: its API docs are at [{deployed['docs_url']}]({deployed['docs_url']}). "
               "It appears under Deployments, and its runs under Executions.")
    extra = {key: deployed[key] for key in ("deployment_id", "url", "docs_url", "target", "workflow")}
    message = await asyncio.to_thread(assistant.record, session_id, "deployment", content, extra)
    return {**deployed, "message": message}
