"""The detail view and list row of an execution, from real runs recorded in a real database."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.dbview import APPROVAL, BREAKS, CHAIN4, echo
from cagents.app import Workbench, run_workflow
from cagents.app.execution_detail import (
    ACTIONS,
    allowed_actions,
    config_filename,
    execution_detail,
    list_item,
    require_action,
)
from cagents.errors import ConflictError, NotFoundError
from support.llm_server import ScriptedLLMServer


def _scripted(server: ScriptedLLMServer) -> dict[str, str]:
    return {"CAGENTS_LLM_BASE_URL": server.url, "CAGENTS_LLM_API_KEY": "test-key"}


def _time(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def test_a_multi_node_run_has_a_timeline_with_shares_and_its_slowest_node_flagged(
    workbench: Workbench, llm_server: ScriptedLLMServer
) -> None:
    llm_server.responder = echo()
    # The client's first call is the slow one: warm it up so the delay decides the bottleneck.
    run_workflow(workbench, CHAIN4, {"seed": "warm-up"}, env=_scripted(llm_server))
    llm_server.responder = echo(delays={"n3": 0.3})
    result = run_workflow(workbench, CHAIN4, {"seed": "s"}, env=_scripted(llm_server))
    assert result.status == "completed", result.error

    detail = execution_detail(workbench, result.execution_id)

    assert detail["id"] == result.execution_id
    assert detail["workflow_name"] == "chain4"
    assert detail["status"] == "completed"
    assert detail["inputs"] == {"seed": "s"}
    assert detail["outputs"]["d"] == "s+n1+n2+n3+n4"
    assert detail["total_tokens"] == 40
    assert detail["total_cost_usd"] > 0
    assert "config_snapshot" not in detail and "bottleneck_info" not in detail
    assert detail["has_config"] is True

    timeline = detail["timeline"]
    assert [(e["step"], e["node_id"], e["status"]) for e in timeline] == [
        (1, "n1", "completed"), (2, "n2", "completed"), (3, "n3", "completed"), (4, "n4", "completed")]
    for entry in timeline:
        assert entry["tokens"] == 10
        assert entry["cost_usd"] > 0
        assert _time(entry["started_at"]) <= _time(entry["ended_at"])
        assert entry["ended_at"] == entry["created_at"]
        assert "state" not in entry
    assert sum(e["share"] for e in timeline) == pytest.approx(1.0, abs=0.01)
    n3 = timeline[2]
    assert n3["duration_seconds"] >= 0.3
    assert n3["share"] > 0.5
    assert [e["bottleneck"] for e in timeline] == [False, False, True, False]
    assert _time(timeline[1]["ended_at"]) <= _time(n3["started_at"])  # nodes ran one after another

    assert detail["bottleneck"]["node_id"] == "n3"
    assert detail["bottleneck"]["duration_seconds"] >= 0.3
    assert detail["bottleneck"]["share"] > 0.5
    assert [n["node_id"] for n in detail["nodes"]] == ["n1", "n2", "n3", "n4"]
    assert all(n["runs"] == 1 and n["tokens"] == 10 for n in detail["nodes"])
    assert detail["actions"] == ["rerun", "download-config"]
    assert detail["links"] == {"deployment_id": None, "deployment": None, "trace_id": None,
                               "mlflow_experiment": "chain4", "retry_of": None}


def test_the_state_after_each_node_on_request(workbench: Workbench) -> None:
    result = run_workflow(workbench, CHAIN4, {"seed": "s"})
    detail = execution_detail(workbench, result.execution_id, include_state=True)
    states = [entry["state"] for entry in detail["timeline"]]
    assert states[0]["a"] and states[0]["b"] is None
    assert states[-1]["d"] == detail["outputs"]["d"]


def test_a_waiting_run_shows_the_pause_and_allows_cancel_and_resume(workbench: Workbench) -> None:
    paused = run_workflow(workbench, APPROVAL, {"news": "n"})
    assert paused.status == "waiting"
    detail = execution_detail(workbench, paused.execution_id)
    assert detail["actions"] == ["cancel", "resume", "rerun", "download-config"]
    assert detail["waiting_for"]["node_id"] == "review"
    last = detail["timeline"][-1]
    assert (last["node_id"], last["status"]) == ("review", "waiting")
    assert last["ended_at"] is None and last["share"] is None
    assert detail["timeline"][0]["node_id"] == "draft"
    assert detail["bottleneck"]["node_id"] == "draft"
    assert list_item(workbench.db.executions.get(paused.execution_id))["waiting_node"] == "review"


def test_a_failed_run_can_be_run_again_but_not_cancelled_or_resumed(workbench: Workbench) -> None:
    failed = run_workflow(workbench, BREAKS, {"n": 3})
    assert failed.status == "failed"
    record = workbench.db.executions.get(failed.execution_id)
    detail = execution_detail(workbench, failed.execution_id)
    assert "boom 3" in detail["error_message"]
    assert detail["timeline"] == []
    assert detail["actions"] == ["rerun", "download-config"]
    with pytest.raises(ConflictError, match="already failed; there is nothing to cancel"):
        require_action(record, "cancel")
    with pytest.raises(ConflictError, match="is failed and cannot be resumed"):
        require_action(record, "resume")
    require_action(record, "rerun")


def test_links_name_the_deployment_the_trace_and_the_experiment(workbench: Workbench) -> None:
    flow = CHAIN4.replace("config:\n", "config:\n  observability:\n    mlflow: {experiment_name: team-runs}\n")
    workbench.db.deployments.register(deployment_id="dep-1", deployment_name="chain-prod",
                                      workflow_name="chain4", host="127.0.0.1", port=8123)
    result = run_workflow(workbench, flow, {"seed": "s"}, deployment_id="dep-1")
    workbench.db.executions.update(result.execution_id, trace_id="tr-abc")  # as the tracer records it

    detail = execution_detail(workbench, result.execution_id)
    links = detail["links"]
    assert links["deployment_id"] == "dep-1"
    assert links["deployment"]["deployment_name"] == "chain-prod"
    assert (links["deployment"]["host"], links["deployment"]["port"]) == ("127.0.0.1", 8123)
    assert links["deployment"]["is_alive"] is True
    assert links["trace_id"] == "tr-abc"
    assert links["mlflow_experiment"] == "team-runs"
    assert "view-trace" in detail["actions"]

    workbench.db.deployments.deregister("dep-1")
    links = execution_detail(workbench, result.execution_id)["links"]
    assert links["deployment_id"] == "dep-1" and links["deployment"] is None


def test_a_run_that_died_is_totalled_from_its_checkpoints(workbench: Workbench) -> None:
    executions = workbench.db.executions
    executions.create(id="died-1", workflow_name="chain4", config_snapshot=CHAIN4, config_hash="h",
                      inputs={"seed": "s"})
    for step, (node, seconds) in enumerate((("n1", 0.5), ("n2", 1.5), ("n1", 0.5)), start=1):
        executions.add_state("died-1", node_id=node, step=step, state_data={"seed": "s"},
                             duration_seconds=seconds, tokens=5, cost_usd=0.01, resume_data=None)
    executions.mark_interrupted(["died-1"], "its process stopped")

    detail = execution_detail(workbench, "died-1")
    assert detail["status"] == "interrupted"
    assert detail["nodes"] == [
        {"node_id": "n1", "runs": 2, "duration_seconds": 1.0, "tokens": 10, "cost_usd": 0.02, "share": 0.4},
        {"node_id": "n2", "runs": 1, "duration_seconds": 1.5, "tokens": 5, "cost_usd": 0.01, "share": 0.6},
    ]
    assert detail["bottleneck"]["node_id"] == "n2"
    assert [e["share"] for e in detail["timeline"]] == [0.2, 0.6, 0.2]
    assert [e["bottleneck"] for e in detail["timeline"]] == [False, True, False]
    assert detail["actions"] == ["cancel", "resume", "rerun", "download-config"]


def test_without_a_config_snapshot_nothing_can_run_again(workbench: Workbench) -> None:
    record = workbench.db.executions.create(
        id="remote-1", workflow_name='Résumé "bot"/v2', config_snapshot=None, config_hash=None, inputs={},
    )
    assert allowed_actions(record) == ["cancel"]
    with pytest.raises(ConflictError, match="without a config snapshot"):
        require_action(record, "rerun")
    detail = execution_detail(workbench, "remote-1")
    assert detail["has_config"] is False
    assert detail["timeline"] == [] and detail["nodes"] == [] and detail["bottleneck"] is None
    assert detail["links"]["mlflow_experiment"] == 'Résumé "bot"/v2'
    assert config_filename(record) == "R_sum_bot_v2-remote-1.yaml"


def test_a_list_row_is_light_and_cuts_a_long_error(workbench: Workbench) -> None:
    result = run_workflow(workbench, CHAIN4, {"seed": "x" * 5000})
    workbench.db.executions.update(result.execution_id, error_message="E" * 1000)
    row = list_item(workbench.db.executions.get(result.execution_id))
    assert not {"inputs", "outputs", "config_snapshot", "bottleneck_info", "waiting_for"} & set(row)
    assert len(row["error_message"]) == 300 and row["error_message"].endswith("...")
    assert row["status"] == "completed" and row["total_tokens"] == result.total_tokens
    assert row["started_at"].endswith("+00:00")
    assert set(row["actions"]) <= set(ACTIONS)
    assert len(repr(row)) < 1500


def test_an_unknown_id_is_named(workbench: Workbench) -> None:
    with pytest.raises(NotFoundError, match="no execution with id 'nope'"):
        execution_detail(workbench, "nope")
