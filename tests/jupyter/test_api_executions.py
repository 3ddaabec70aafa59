"""`executions...`: list with filters and keyset paging, summary, detail, cancel, re-run, resume, config."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from app.dbview import APPROVAL, BREAKS, CHAIN4, dump_database, echo, execution_row, rows
from cagents.app import arun_workflow
from support.llm_server import ScriptedLLMServer

TWO_STEP = textwrap.dedent("""\
    schema_version: "1.0"
    flow: {name: two_step}
    state:
      fields:
        topic: {type: str, required: true}
        notes: {type: str}
        article: {type: str}
    nodes:
      - {id: research, prompt: "Research {topic}", outputs: [notes]}
      - {id: write, prompt: "Write about {notes}", outputs: [article]}
    edges:
      - {from: START, to: research}
      - {from: research, to: write}
      - {from: write, to: END}
    """)


CANARY = "sk-canary-5e1b77d0c4"


# ---- helpers --------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _close_llm_clients(api: Any) -> Iterator[None]:
    """The LLM clients cached on the server's loop are closed while it still runs."""
    yield
    from cagents.llm import aclose_clients

    api.run(aclose_clients())


def db_file(runtime: Any) -> Path:
    return Path(runtime.home) / "configurable_agents.db"


def run(api: Any, runtime: Any, source: str, inputs: dict[str, Any], **options: Any) -> Any:
    """Run a workflow to its end (or pause) with the server's own workbench, as a panel's run does."""

    async def go() -> Any:
        return await arun_workflow(await runtime.workbench(), source, inputs, **options)

    return api.run(go())


def finish(api: Any, runtime: Any, execution_id: str) -> Any:
    """Wait for a run the server drives (its real LiveRun) and return its result."""
    live = api.run(runtime.live())
    return api.run(live.get(execution_id).wait())


def ids(reply: Any) -> list[str]:
    assert reply.code == 200, reply.body
    return [item["id"] for item in reply.json["items"]]


def history(api: Any, runtime: Any) -> dict[str, Any]:
    """Three completed runs, one failed, one waiting for a person; newest last."""
    made: dict[str, Any] = {
        "two_step": [run(api, runtime, TWO_STEP, {"topic": f"t{i}"}).execution_id for i in range(3)]}
    made["failed"] = run(api, runtime, BREAKS, {"n": 3}).execution_id
    made["waiting"] = run(api, runtime, APPROVAL, {"news": "n"}).execution_id
    return made


def refused(reply: Any, status: int, field: str | None) -> dict[str, Any]:
    assert reply.code == status, (reply.code, reply.body)
    body = reply.json
    assert body["status"] == status
    assert "traceback" not in reply.body.decode().lower()
    if field is not None:
        assert body["field"] == field, body
        assert f"'{field}'" in body["message"], body
    return body  # type: ignore[no-any-return]


# ---- list, filters, summary -----------------------------------------------------------------
def test_the_list_filters_by_status_workflow_dates_and_text(api: Any, runtime: Any) -> None:
    made = history(api, runtime)
    everything = api("GET", "executions")
    assert everything.code == 200
    assert everything.json["next_cursor"] is None
    newest_first = [made["waiting"], made["failed"], *reversed(made["two_step"])]
    assert ids(everything) == newest_first

    item = everything.json["items"][1]
    assert item["status"] == "failed" and "boom 3" in item["error_message"]
    assert item["workflow_name"] == "breaks"
    assert item["actions"] == ["rerun", "download-config"]
    assert item["started_at"].endswith("+00:00")
    for row in everything.json["items"]:  # light rows: no inputs, outputs, states or config text
        assert not {"inputs", "outputs", "config_snapshot", "bottleneck_info", "state_data"} & set(row)
    assert everything.json["items"][0]["waiting_node"] == "review"

    assert ids(api("GET", "executions", params={"status": "failed"})) == [made["failed"]]
    assert ids(api("GET", "executions", params={"status": "completed, failed"})) == newest_first[1:]
    assert ids(api("GET", "executions", params={"status": "waiting"})) == [made["waiting"]]
    assert ids(api("GET", "executions", params={"workflow": "two_step"})) == newest_first[2:]
    assert ids(api("GET", "executions", params={"workflow": "two_step", "status": "failed"})) == []
    assert ids(api("GET", "executions", params={"deployment": "nowhere"})) == []

    assert ids(api("GET", "executions", params={"q": "boom"})) == [made["failed"]]  # in the error
    assert ids(api("GET", "executions", params={"q": "TWO_S"})) == newest_first[2:]  # workflow, any case
    assert ids(api("GET", "executions", params={"q": made["two_step"][1][:13]})) == [made["two_step"][1]]

    now = datetime.now(timezone.utc)
    hour = timedelta(hours=1)
    assert ids(api("GET", "executions", params={"since": (now - hour).isoformat()})) == newest_first
    assert ids(api("GET", "executions", params={"since": (now + hour).isoformat()})) == []
    assert ids(api("GET", "executions", params={"until": (now - hour).isoformat()})) == []
    assert ids(api("GET", "executions", params={  # naive times are UTC; `Z` and offsets are read
        "since": (now - hour).replace(tzinfo=None).isoformat(),
        "until": (now + hour).strftime("%Y-%m-%dT%H:%M:%SZ")})) == newest_first
    two_hours_east = timezone(timedelta(hours=2))
    east = (now - hour).astimezone(two_hours_east).isoformat()
    assert ids(api("GET", "executions", params={"until": east})) == []
    yesterday = (now - timedelta(days=1)).date().isoformat()
    assert ids(api("GET", "executions", params={"since": yesterday})) == newest_first


def test_the_summary_counts_the_filtered_executions(
    api: Any, runtime: Any, llm_server: ScriptedLLMServer
) -> None:
    history(api, runtime)
    llm_server.responder = echo()
    paid = run(api, runtime, CHAIN4, {"seed": "s"},
               env={"CAGENTS_LLM_BASE_URL": llm_server.url, "CAGENTS_LLM_API_KEY": "test-key"})
    assert paid.status == "completed" and paid.total_cost_usd > 0

    summary = api("GET", "executions/summary")
    assert summary.code == 200
    assert summary.json["total"] == 6
    assert (summary.json["completed"], summary.json["failed"], summary.json["running"]) == (4, 1, 1)
    assert abs(summary.json["total_cost_usd"] - paid.total_cost_usd) < 1e-9

    only = api("GET", "executions/summary", params={"workflow": "two_step"}).json
    assert (only["total"], only["completed"], only["total_cost_usd"]) == (3, 3, 0.0)
    failed = api("GET", "executions/summary", params={"status": "failed,cancelled"}).json
    assert (failed["total"], failed["failed"], failed["completed"]) == (1, 1, 0)
    text = api("GET", "executions/summary", params={"q": "chain", "limit": "5"}).json
    assert (text["total"], text["completed"]) == (1, 1)
    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert api("GET", "executions/summary", params={"since": future.isoformat()}).json["total"] == 0

    names = api("GET", "executions/workflows")
    assert names.code == 200
    assert names.json == {"workflows": ["approval", "breaks", "chain4", "two_step"]}


def test_keyset_pages_cover_every_execution_once(api: Any, runtime: Any) -> None:
    made = [run(api, runtime, TWO_STEP, {"topic": f"t{i}"}).execution_id for i in range(7)]
    made.append(run(api, runtime, BREAKS, {"n": 1}).execution_id)

    def walk(params: dict[str, Any]) -> list[list[str]]:
        pages, cursor = [], None
        while True:
            reply = api("GET", "executions", params={**params, "cursor": cursor})
            pages.append(ids(reply))
            cursor = reply.json["next_cursor"]
            if cursor is None:
                return pages
            assert isinstance(cursor, str) and cursor

    pages = walk({"limit": 3})
    assert [len(page) for page in pages] == [3, 3, 2]
    assert [i for page in pages for i in page] == list(reversed(made))
    completed = walk({"limit": 2, "status": "completed"})
    assert [len(page) for page in completed] == [2, 2, 2, 1]
    assert [i for page in completed for i in page] == list(reversed(made[:7]))
    assert walk({"limit": 7, "workflow": "two_step"}) == [list(reversed(made[:7]))]


def test_bad_query_arguments_are_400s_naming_the_argument(api: Any, runtime: Any) -> None:
    for route in ("executions", "executions/summary"):
        body = refused(api("GET", route, params={"status": "failed,bogus"}), 400, "status")
        assert "bogus" in body["message"] and "completed" in body["message"]
        body = refused(api("GET", route, params={"since": "yesterday"}), 400, "since")
        assert "ISO" in body["message"]
        refused(api("GET", route, params={"until": "2025-13-01"}), 400, "until")
        body = refused(api("GET", route, params={"since": "2025-02-01", "until": "2025-01-01"}), 400, "until")
        assert "after" in body["message"]
        refused(api("GET", route, params={"stauts": "failed"}), 400, "stauts")
        refused(api("GET", route, params={"q": "x" * 201}), 400, "q")
        refused(api("GET", route, params={"workflow": "w" * 201}), 400, "workflow")
    for limit in ("0", "501", "ten"):
        refused(api("GET", "executions", params={"limit": limit}), 400, "limit")
    body = refused(api("GET", "executions", params={"cursor": "not-a-cursor"}), 400, "cursor")
    assert "next_cursor" in body["message"]
    refused(api("GET", "executions/workflows", params={"status": "failed"}), 400, "status")
    execution_id = run(api, runtime, TWO_STEP, {"topic": "t"}).execution_id
    refused(api("GET", f"executions/{execution_id}", params={"include_state": "maybe"}), 400, "include_state")


# ---- detail --------------------------------------------------------------------------------
def test_the_detail_has_the_timeline_and_the_bottleneck(
    api: Any, runtime: Any, llm_server: ScriptedLLMServer
) -> None:
    env = {"CAGENTS_LLM_BASE_URL": llm_server.url, "CAGENTS_LLM_API_KEY": "test-key"}
    llm_server.responder = echo()
    run(api, runtime, CHAIN4, {"seed": "warm-up"}, env=env)  # the client's first call is the slow one
    llm_server.responder = echo(delays={"n2": 0.3})
    result = run(api, runtime, CHAIN4, {"seed": "s"}, env=env)

    reply = api("GET", f"executions/{result.execution_id}")
    assert reply.code == 200
    detail = reply.json
    assert detail["id"] == result.execution_id
    assert (detail["status"], detail["workflow_name"]) == ("completed", "chain4")
    assert detail["inputs"] == {"seed": "s"} and detail["outputs"]["d"] == "s+n1+n2+n3+n4"
    assert detail["total_tokens"] == 40 and detail["total_cost_usd"] > 0
    steps = [(e["step"], e["node_id"]) for e in detail["timeline"]]
    assert steps == [(1, "n1"), (2, "n2"), (3, "n3"), (4, "n4")]
    assert [e["bottleneck"] for e in detail["timeline"]] == [False, True, False, False]
    slow = detail["timeline"][1]
    assert slow["duration_seconds"] >= 0.3 and slow["share"] > 0.5 and slow["tokens"] == 10
    assert detail["bottleneck"]["node_id"] == "n2"
    assert {n["node_id"] for n in detail["nodes"]} == {"n1", "n2", "n3", "n4"}
    assert detail["actions"] == ["rerun", "download-config"]
    assert detail["links"]["mlflow_experiment"] == "chain4"
    assert "config_snapshot" not in detail

    with_state = api("GET", f"executions/{result.execution_id}", params={"include_state": "true"}).json
    assert with_state["timeline"][1]["state"]["b"] == "s+n1+n2"


def test_unknown_ids_are_404s(api: Any, runtime: Any) -> None:
    for method, path in (("GET", "executions/nope"), ("POST", "executions/nope/cancel"),
                         ("POST", "executions/nope/rerun"), ("POST", "executions/nope/resume"),
                         ("GET", "executions/nope/config")):
        body = refused(api(method, path, {} if method == "POST" else None), 404, None)
        assert body["error"] == "NotFoundError" and "no execution with id 'nope'" in body["message"], path


# ---- actions -------------------------------------------------------------------------------
def test_cancel_stops_a_waiting_run_and_refuses_a_finished_one(api: Any, runtime: Any) -> None:
    waiting = run(api, runtime, APPROVAL, {"news": "n"})
    assert waiting.status == "waiting"
    reply = api("POST", f"executions/{waiting.execution_id}/cancel")
    assert reply.code == 200, reply.body
    assert reply.json["id"] == waiting.execution_id and reply.json["status"] == "cancelled"
    assert reply.json["actions"] == ["rerun", "download-config"]
    row = execution_row(db_file(runtime), waiting.execution_id)
    assert row["status"] == "cancelled" and row["completed_at"] is not None
    assert api("GET", f"executions/{waiting.execution_id}").json["actions"] == ["rerun", "download-config"]

    body = refused(api("POST", f"executions/{waiting.execution_id}/cancel"), 409, None)
    assert "already cancelled" in body["message"]
    done = run(api, runtime, TWO_STEP, {"topic": "t"})
    body = refused(api("POST", f"executions/{done.execution_id}/cancel"), 409, None)
    assert "already completed; there is nothing to cancel" in body["message"]
    assert execution_row(db_file(runtime), done.execution_id)["status"] == "completed"
    refused(api("POST", f"executions/{done.execution_id}/cancel", {"force": True}), 422, "force")


def test_rerun_starts_a_new_linked_execution_in_the_background(api: Any, runtime: Any) -> None:
    failed = run(api, runtime, BREAKS, {"n": 4})
    done = run(api, runtime, TWO_STEP, {"topic": "again"})

    reply = api("POST", f"executions/{done.execution_id}/rerun")
    assert reply.code == 202, reply.body
    new_id = reply.json["execution_id"]
    assert new_id != done.execution_id and reply.json["retry_of"] == done.execution_id
    assert reply.json["events_url"] == urlparse(api.base_url).path + f"cagents/api/executions/{new_id}/events"
    # The row exists as soon as the answer says so.
    assert execution_row(db_file(runtime), new_id)["retry_of"] == done.execution_id

    result = finish(api, runtime, new_id)
    assert result.status == "completed", result.error
    row = execution_row(db_file(runtime), new_id)
    assert (row["status"], row["retry_of"]) == ("completed", done.execution_id)
    assert row["workflow_name"] == "two_step"
    assert json.loads(row["inputs"]) == {"topic": "again"}
    detail = api("GET", f"executions/{new_id}").json
    assert detail["links"]["retry_of"] == done.execution_id

    again = api("POST", f"executions/{failed.execution_id}/rerun")
    assert again.code == 202
    assert finish(api, runtime, again.json["execution_id"]).status == "failed"
    assert len(rows(db_file(runtime), "SELECT id FROM executions WHERE retry_of = ?", failed.execution_id)) == 1

    refused(api("POST", f"executions/{done.execution_id}/rerun", {"env": {"KEY": 1}}), 422, "env.KEY")
    refused(api("POST", f"executions/{done.execution_id}/rerun", {"envs": {}}), 422, "envs")


def test_rerun_and_config_need_a_config_snapshot(api: Any, runtime: Any) -> None:
    workbench = api.run(runtime.workbench())
    workbench.db.executions.create(id="remote-1", workflow_name="elsewhere", config_snapshot=None,
                                   config_hash=None, inputs={}, status="failed")
    body = refused(api("POST", "executions/remote-1/rerun"), 409, None)
    assert "without a config snapshot" in body["message"]
    body = refused(api("GET", "executions/remote-1/config"), 404, None)
    assert body["field"] == "execution_id" and "remote-1 has no config snapshot" in body["message"]


def test_resume_answers_a_waiting_human_node(api: Any, runtime: Any) -> None:
    paused = run(api, runtime, APPROVAL, {"news": "n"})
    path = f"executions/{paused.execution_id}/resume"

    body = refused(api("POST", path), 409, None)
    assert "waits for input at node `review`" in body["message"]
    body = refused(api("POST", path, {"values": {"approved": "perhaps"}}), 422, None)
    assert body["error"] == "InputError" and set(body["fields"]) == {"approved", "notes"}
    assert execution_row(db_file(runtime), paused.execution_id)["status"] == "waiting"
    refused(api("POST", path, {"values": ["yes"]}), 422, "values")
    refused(api("POST", path, {"answers": {}}), 422, "answers")

    reply = api("POST", path, {"values": {"approved": True, "notes": "ship it"}})
    assert reply.code == 202, reply.body
    assert reply.json["execution_id"] == paused.execution_id
    assert reply.json["events_url"] == (urlparse(api.base_url).path
                                        + f"cagents/api/executions/{paused.execution_id}/events")
    # The 202 comes once the row shows the run going: a panel that reads the detail now follows it.
    assert api("GET", f"executions/{paused.execution_id}").json["status"] in ("running", "completed")
    result = finish(api, runtime, paused.execution_id)
    assert result.status == "completed", result.error
    row = execution_row(db_file(runtime), paused.execution_id)
    assert row["status"] == "completed"
    outputs = json.loads(row["outputs"])
    assert outputs["approved"] is True and outputs["notes"] == "ship it" and outputs["outcome"]
    timeline = api("GET", f"executions/{paused.execution_id}").json["timeline"]
    assert [e["node_id"] for e in timeline] == ["draft", "review", "review", "publish"]
    assert [e["status"] for e in timeline] == ["completed", "waiting", "completed", "completed"]

    body = refused(api("POST", path, {"values": {"approved": True, "notes": ""}}), 409, None)
    assert "is completed and cannot be resumed" in body["message"]


def test_the_config_downloads_as_the_yaml_that_ran(api: Any, runtime: Any) -> None:
    odd = TWO_STEP.replace("flow: {name: two_step}", 'flow: {name: "Résumé \\"bot\\"/v2"}')
    for text, name in ((TWO_STEP, "two_step"), (odd, "R_sum_bot_v2")):
        execution_id = run(api, runtime, text, {"topic": "t"}).execution_id
        reply = api("GET", f"executions/{execution_id}/config")
        assert reply.code == 200
        assert reply.body.decode("utf-8") == text
        assert reply.headers["Content-Type"] == "application/x-yaml; charset=utf-8"
        assert reply.headers["Content-Disposition"] == f'attachment; filename="{name}-{execution_id[:8]}.yaml"'


# ---- secrets and auth ---------------------------------------------------------------------
def test_env_values_reach_the_model_and_are_never_stored_or_echoed(
    api: Any, runtime: Any, llm_server: ScriptedLLMServer
) -> None:
    llm_server.responder = echo()
    env = {"CAGENTS_LLM_BASE_URL": llm_server.url, "CAGENTS_LLM_API_KEY": CANARY}
    original = run(api, runtime, CHAIN4, {"seed": "s"})  # the offline simulator
    paused = run(api, runtime, APPROVAL, {"news": "n"})
    replies = []

    rerun = api("POST", f"executions/{original.execution_id}/rerun", {"env": env})
    assert rerun.code == 202, rerun.body
    new_id = rerun.json["execution_id"]
    assert finish(api, runtime, new_id).status == "completed"
    resume = api("POST", f"executions/{paused.execution_id}/resume",
                 {"values": {"approved": True, "notes": ""}, "env": env})
    assert resume.code == 202, resume.body
    assert finish(api, runtime, paused.execution_id).status == "completed"
    replies += [rerun, resume, api("POST", f"executions/{original.execution_id}/rerun", {"env": {"X": 5}})]

    # The key was really used: every model request of the re-run and the resume carried it.
    assert len(llm_server.requests) == 4 + 1
    assert all(h.get("authorization") == f"Bearer {CANARY}" for h in llm_server.request_headers)

    for execution_id in (new_id, paused.execution_id):
        replies += [api("GET", f"executions/{execution_id}", params={"include_state": "true"}),
                    api("GET", f"executions/{execution_id}/config")]
    replies += [api("GET", "executions"), api("GET", "executions/summary")]
    for reply in replies:
        assert CANARY not in reply.body.decode("utf-8")
    text = dump_database(db_file(runtime))
    assert new_id in text and "approval" in text  # the dump holds the executions
    assert CANARY not in text


def _routes(execution_id: str) -> list[tuple[str, str]]:
    return [("GET", "executions"), ("GET", "executions/summary"), ("GET", "executions/workflows"),
            ("GET", f"executions/{execution_id}"), ("POST", f"executions/{execution_id}/cancel"),
            ("POST", f"executions/{execution_id}/rerun"), ("POST", f"executions/{execution_id}/resume"),
            ("GET", f"executions/{execution_id}/config")]


def test_anonymous_requests_are_refused_on_every_route(api: Any, runtime: Any) -> None:
    paused = run(api, runtime, APPROVAL, {"news": "n"})
    for method, path in _routes(paused.execution_id):
        reply = api.anonymous(method, path, {} if method == "POST" else None)
        assert reply.code == 403, (method, path, reply.code)
    assert execution_row(db_file(runtime), paused.execution_id)["status"] == "waiting"
    assert len(rows(db_file(runtime), "SELECT id FROM executions")) == 1


def test_browser_writes_need_the_xsrf_token(api: Any, runtime: Any) -> None:
    paused = run(api, runtime, APPROVAL, {"news": "n"})
    cookies = api.browser_cookies()
    assert cookies
    for method, path in _routes(paused.execution_id):
        if method == "POST":
            body = {"values": {"approved": False, "notes": "no"}} if path.endswith("resume") else {}
            reply = api.browser(method, path, body, cookies=cookies, xsrf=None)
            assert reply.code == 403, (path, reply.code)
    assert execution_row(db_file(runtime), paused.execution_id)["status"] == "waiting"
    assert len(rows(db_file(runtime), "SELECT id FROM executions")) == 1

    reads = api.browser("GET", "executions", cookies=cookies, xsrf=None)
    assert reads.code == 200 and [i["id"] for i in reads.json["items"]] == [paused.execution_id]
    cancelled = api.browser("POST", f"executions/{paused.execution_id}/cancel", {},
                            cookies=cookies, xsrf="tok123")
    assert cancelled.code == 200, cancelled.body
    assert execution_row(db_file(runtime), paused.execution_id)["status"] == "cancelled"
