"""End to end: workflows run against the scripted LLM server with the tracer subscribed, and
their traces are read back from a real MLflow SQLite store."""

from __future__ import annotations

import json
import socket
import textwrap
from pathlib import Path
from typing import Any

import pytest

import cagents
from cagents.observe import MlflowTracer, ObserveSettings, TraceResult, tracer_for
from support.llm_server import ScriptedLLMServer

from .conftest import MLFLOW_WARNINGS

pytestmark = [pytest.mark.filterwarnings(w) for w in MLFLOW_WARNINGS]

SHAPES = """
schema_version: "1.0"
flow: {name: traced_shapes}
state:
  fields:
    topic: {type: str, required: true}
    value: {type: float}
    docs: {type: "list[str]"}
    answer: {type: str}
    summary: {type: str}
    summaries: {type: "list[str]"}
    report: {type: str}
nodes:
  - {id: double, kind: tool, tool: calculator, args: {expression: "2 * 21"}, outputs: [value]}
  - {id: gather, prompt: "Gather docs on {topic}", outputs: [docs]}
  - {id: solve, prompt: "Use the calculator: {topic}", tools: [calculator], outputs: [answer]}
  - {id: summarize, prompt: "Summarize #{item_index}: {item}", outputs: [summary]}
  - {id: combine, prompt: "Combine {summaries}", outputs: [report]}
edges:
  - {from: START, to: double}
  - {from: double, to: gather}
  - {from: gather, to: solve}
  - {from: solve, parallel: {items_field: docs, target_node: summarize, collect_field: summaries}}
  - {from: summarize, to: combine}
  - {from: combine, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""

ONE_NODE = """
schema_version: "1.0"
flow: {name: NAME}
state:
  fields:
    question: {type: str, required: true}
    answer: {type: str}
nodes:
  - {id: reply, prompt: "Answer: {question}", outputs: [answer]}
edges:
  - {from: START, to: reply}
  - {from: reply, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""

CALL_COST = 10 * 0.15e-6 + 5 * 0.6e-6  # gpt-4o-mini list price for the server's usage (10, 5)


def _one_node(name: str, extra: str = "") -> cagents.Workflow:
    return cagents.load(textwrap.dedent(ONE_NODE).replace("NAME", name) + extra)


def _read(uri: str, trace_id: str) -> Any:
    import mlflow

    return mlflow.MlflowClient(uri).get_trace(trace_id)


def _tree(trace: Any) -> dict[str, Any]:
    """name -> (parent name, span) for every span; names are unique in these workflows."""
    by_id = {span.span_id: span for span in trace.data.spans}
    return {span.name: (by_id[span.parent_id].name if span.parent_id else None, span)
            for span in trace.data.spans}


async def test_trace_of_a_linear_tool_and_map_workflow(llm_env: ScriptedLLMServer, tracking_uri: str) -> None:
    llm_env.reply(json={"docs": ["alpha", "beta"]})
    llm_env.reply(tool_calls=[{"id": "c1", "name": "calculator", "arguments": {"expression": "6 * 7"}}])
    llm_env.reply(json={"answer": "forty-two"})
    llm_env.reply(json={"summary": "short"})
    llm_env.reply(json={"summary": "short"})
    llm_env.reply(json={"report": "all done"})
    workflow = cagents.load(textwrap.dedent(SHAPES))
    reported: list[TraceResult] = []
    tracer = tracer_for(workflow, deployment_id="dep-7", on_trace=reported.append)
    assert tracer is not None

    result = await workflow.arun({"topic": "numbers"}, subscribers=[tracer])
    assert result.status == "completed", result.error
    assert tracer.wait(60)
    assert tracer.problem is None
    assert [r.trace_id for r in reported] == [tracer.trace_id]
    assert reported[0].execution_id == result.execution_id

    import mlflow

    client = mlflow.MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("traced_shapes")
    assert experiment is not None and reported[0].experiment_id == experiment.experiment_id
    assert experiment.tags["mlflow.experimentKind"] == "genai_development"
    [found] = client.search_traces(
        locations=[experiment.experiment_id],
        filter_string=f"tags.`cagents.execution_id` = '{result.execution_id}'",
    )
    assert found.info.trace_id == tracer.trace_id

    trace = _read(tracking_uri, tracer.trace_id)
    tree = _tree(trace)
    parents = {name: parent for name, (parent, _) in tree.items()}
    assert parents == {
        "traced_shapes": None,
        "double": "traced_shapes",
        "calculator": parents["calculator"],  # two calculator spans: checked below
        "gather": "traced_shapes",
        "solve": "traced_shapes",
        "summarize": "traced_shapes",
        "summarize[0]": "summarize",
        "summarize[1]": "summarize",
        "combine": "traced_shapes",
        "llm gpt-4o-mini": parents["llm gpt-4o-mini"],
    }
    by_id = {span.span_id: span for span in trace.data.spans}
    kids: dict[str, list[tuple[str, str]]] = {}
    for span in trace.data.spans:
        if span.parent_id:
            kids.setdefault(by_id[span.parent_id].name, []).append((span.name, span.span_type))
    assert kids["double"] == [("calculator", "TOOL")]
    for node in ("gather", "solve", "summarize[0]", "summarize[1]", "combine"):
        assert kids[node] == [("llm gpt-4o-mini", "CHAT_MODEL")], node
    [solve_llm] = [s for s in trace.data.spans
                   if s.name == "llm gpt-4o-mini" and by_id[s.parent_id].name == "solve"]
    [tool] = [s for s in trace.data.spans if s.parent_id == solve_llm.span_id]
    assert (tool.name, tool.span_type, tool.inputs, tool.outputs) == \
        ("calculator", "TOOL", {"expression": "6 * 7"}, 42)
    assert solve_llm.inputs["model"] == "gpt-4o-mini"
    assert solve_llm.inputs["tools"] == ["calculator"]
    assert solve_llm.outputs == {"answer": "forty-two"}

    root = tree["traced_shapes"][1]
    assert root.inputs == {"topic": "numbers"}
    assert root.outputs["report"] == "all done" and root.outputs["summaries"] == ["short", "short"]
    assert str(trace.info.state).endswith("OK")

    # per-node tokens and cost on the spans
    def attr(name: str, key: str) -> Any:
        return tree[name][1].attributes.get(key)

    assert attr("gather", "cagents.tokens") == 15
    assert attr("solve", "cagents.tokens") == 30  # two model calls around the tool
    assert attr("summarize[0]", "cagents.tokens") == 15 and attr("summarize", "cagents.tokens") == 30
    assert attr("double", "cagents.tokens") == 0
    assert attr("solve", "cagents.cost_usd") == pytest.approx(2 * CALL_COST)
    assert attr("summarize", "cagents.items") == 2
    assert solve_llm.attributes["mlflow.chat.tokenUsage"]["total_tokens"] == 30

    # tags and metadata: identity, totals, bottleneck
    tags, meta = trace.info.tags, trace.info.trace_metadata
    assert tags["cagents.execution_id"] == result.execution_id
    assert tags["cagents.workflow"] == "traced_shapes"
    assert tags["cagents.config_hash"] == workflow.spec.config_hash
    assert tags["cagents.deployment_id"] == "dep-7"
    assert tags["cagents.status"] == "completed"
    assert result.total_tokens == 90
    assert meta["cagents.total_tokens"] == "90"
    assert float(meta["cagents.total_cost_usd"]) == pytest.approx(result.total_cost_usd)
    assert result.total_cost_usd == pytest.approx(6 * CALL_COST)
    assert json.loads(meta["mlflow.trace.tokenUsage"])["total_tokens"] == 90
    assert json.loads(meta["mlflow.trace.cost"])["total_cost"] == pytest.approx(6 * CALL_COST)
    bottleneck = result.bottleneck["bottleneck_node"]
    assert tags["cagents.bottleneck_node"] == meta["cagents.bottleneck_node"] == bottleneck
    assert float(meta["cagents.bottleneck_share"]) == \
        pytest.approx(result.bottleneck["nodes"][bottleneck]["share"], abs=1e-3)
    nodes = json.loads(meta["cagents.nodes"])
    assert nodes["summarize"]["runs"] == 2 and nodes["summarize"]["tokens"] == 30


async def test_a_failed_execution_has_an_error_trace(llm_env: ScriptedLLMServer, tracking_uri: str) -> None:
    llm_env.reply(status=400, error="model refuses")
    workflow = _one_node("failing_flow")
    tracer = tracer_for(workflow)
    assert tracer is not None
    result = await workflow.arun({"question": "why?"}, subscribers=[tracer])
    assert result.status == "failed"
    assert tracer.wait(60) and tracer.problem is None
    trace = _read(tracking_uri, str(tracer.trace_id))
    assert str(trace.info.state).endswith("ERROR")
    assert trace.info.tags["cagents.status"] == "failed"
    tree = _tree(trace)
    node = tree["reply"][1]
    assert str(node.status.status_code).endswith("ERROR")
    assert "model refuses" in node.status.description
    assert "model refuses" in tree["failing_flow"][1].status.description


async def test_a_paused_and_resumed_execution_gets_a_trace_per_segment(
    llm_env: ScriptedLLMServer, tracking_uri: str
) -> None:
    workflow = cagents.load(textwrap.dedent("""
        schema_version: "1.0"
        flow: {name: approval_flow}
        state:
          fields:
            news: {type: str, required: true}
            post: {type: str}
            approved: {type: bool, default: false}
            outcome: {type: str}
        nodes:
          - {id: draft, prompt: "Draft {news}", outputs: [post]}
          - {id: review, kind: human, prompt: "Approve? {post}", outputs: [approved]}
          - {id: publish, prompt: "Publish {post}", outputs: [outcome]}
        edges:
          - {from: START, to: draft}
          - {from: draft, to: review}
          - {from: review, to: publish}
          - {from: publish, to: END}
        config:
          llm: {model: gpt-4o-mini}
          execution: {max_retries: 0}
    """))
    llm_env.reply(json={"post": "We ship"})
    llm_env.reply(json={"outcome": "published"})
    tracer = tracer_for(workflow)
    assert tracer is not None
    handle = workflow.start({"news": "SSO"}, subscribers=[tracer])
    paused = await handle.arun()
    assert paused.status == "waiting"
    assert tracer.wait(60) and tracer.problem is None
    first = _read(tracking_uri, str(tracer.trace_id))
    assert first.info.tags["cagents.status"] == "waiting"
    assert first.info.trace_metadata["cagents.waiting_for"] == "review"
    review = _tree(first)["review"][1]
    assert review.attributes["cagents.waiting"] is True and review.outputs["prompt"] == "Approve? We ship"

    done = await handle.aresume({"approved": True})
    assert done.status == "completed"
    assert tracer.wait(60) and tracer.problem is None
    second = _read(tracking_uri, str(tracer.trace_id))
    assert second.info.trace_id != first.info.trace_id
    assert second.info.tags["cagents.execution_id"] == first.info.tags["cagents.execution_id"]
    assert second.info.tags["cagents.status"] == "completed"
    tree = _tree(second)
    assert tree["review"][1].attributes["cagents.answered"] is True
    assert tree["review"][1].outputs == {"approved": True}
    assert tree["publish"][0] == "approval_flow"


async def test_a_secret_canary_never_reaches_a_trace(llm_env: ScriptedLLMServer, tracking_uri: str) -> None:
    canary = "canary-7f3a9c2e51d04b8f"
    stray_key = "sk-ant-api03-QWERTYUIOPasdfghjkl0987"
    workflow = cagents.load(textwrap.dedent(SHAPES).replace("traced_shapes", "canary_flow"))
    llm_env.reply(json={"docs": [f"doc mentioning {canary}", "plain"]})
    llm_env.reply(tool_calls=[{"id": "c1", "name": "calculator", "arguments": {"expression": "1 + 1"}}])
    llm_env.reply(json={"answer": f"the key is {canary} and {stray_key}"})
    llm_env.reply(json={"summary": f"echo {canary}"})
    llm_env.reply(json={"summary": f"echo {canary}"})
    llm_env.reply(json={"report": f"Authorization: Bearer {canary}"})
    run_env = {"CANARY_API_KEY": canary}
    tracer = tracer_for(workflow, env=run_env)
    assert tracer is not None
    result = await workflow.arun({"topic": f"about {canary}"}, subscribers=[tracer], env=run_env)
    assert result.status == "completed", result.error
    assert canary in result.outputs["answer"]  # the run itself is untouched
    assert tracer.wait(60) and tracer.problem is None
    trace = _read(tracking_uri, str(tracer.trace_id))
    text = trace.to_json()
    assert canary not in text and stray_key not in text
    assert "[REDACTED]" in text
    answer = _tree(trace)["solve"][1].outputs["answer"]
    assert answer == "the key is [REDACTED] and [REDACTED]"


async def test_an_unreachable_tracking_server_does_not_fail_the_run(
    llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    llm_env.reply(json={"answer": "fine"})
    workflow = _one_node("unreachable_flow")
    reported: list[TraceResult] = []
    tracer = tracer_for(workflow, on_trace=reported.append)
    assert tracer is not None
    result = await workflow.arun({"question": "still runs?"}, subscribers=[tracer])
    assert result.status == "completed" and result.outputs["answer"] == "fine"
    assert tracer.wait(60)
    assert tracer.trace_id is None
    assert tracer.problem is not None
    assert uri in tracer.problem and "unreachable" in tracer.problem and "refused" in tracer.problem
    assert reported == [tracer.result(result.execution_id)]


async def test_a_broken_store_does_not_fail_the_run(
    llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{blocker}/mlflow.db")
    llm_env.reply(json={"answer": "fine"})
    workflow = _one_node("broken_store_flow")
    tracer = tracer_for(workflow)
    assert tracer is not None
    result = await workflow.arun({"question": "q"}, subscribers=[tracer])
    assert result.status == "completed"
    assert tracer.wait(60)
    assert tracer.trace_id is None and tracer.problem is not None
    assert tracer.problem.startswith("trace not written:")


async def test_tracing_off_writes_nothing(
    llm_env: ScriptedLLMServer, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    llm_env.reply(json={"answer": "a"})
    llm_env.reply(json={"answer": "b"})
    per_workflow = _one_node("off_per_workflow", "  observability: {mlflow: {enabled: false}}\n")
    assert tracer_for(per_workflow) is None
    tracer = MlflowTracer(ObserveSettings.from_env(per_workflow), workflow=per_workflow)
    result = await per_workflow.arun({"question": "q"}, subscribers=[tracer])
    assert result.status == "completed"
    assert tracer.trace_id is None
    assert tracer.problem == "tracing is off (config.observability.mlflow.enabled: false)"

    monkeypatch.setenv("CAGENTS_TRACING", "off")
    by_env = _one_node("off_by_env")
    assert tracer_for(by_env) is None
    tracer = MlflowTracer(workflow=by_env)
    assert (await by_env.arun({"question": "q"}, subscribers=[tracer])).status == "completed"
    assert tracer.problem == "tracing is off (CAGENTS_TRACING=off)"

    client = mlflow.MlflowClient(tracking_uri)
    assert client.get_experiment_by_name("off_per_workflow") is None
    assert client.get_experiment_by_name("off_by_env") is None


async def test_experiment_named_by_the_workflow_and_one_tracer_for_several_runs(
    llm_env: ScriptedLLMServer, tracking_uri: str
) -> None:
    import mlflow

    workflow = _one_node("named_flow", "  observability: {mlflow: {experiment_name: shared-experiment}}\n")
    llm_env.reply(json={"answer": "a"})
    llm_env.reply(json={"answer": "b"})
    tracer = tracer_for(workflow)
    assert tracer is not None
    first = await workflow.arun({"question": "1"}, subscribers=[tracer])
    second = await workflow.arun({"question": "2"}, subscribers=[tracer])
    assert tracer.wait(60)
    one, two = tracer.result(first.execution_id), tracer.result(second.execution_id)
    assert one is not None and two is not None and one.trace_id and two.trace_id
    assert one.trace_id != two.trace_id
    experiment = mlflow.MlflowClient(tracking_uri).get_experiment_by_name("shared-experiment")
    assert experiment is not None and one.experiment_id == two.experiment_id == experiment.experiment_id
    assert _read(tracking_uri, two.trace_id).info.tags["cagents.execution_id"] == second.execution_id


async def test_each_run_traces_to_the_store_current_for_it(
    llm_env: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    import mlflow

    workflow = _one_node("moving_flow")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
    llm_env.reply(json={"answer": "other"})
    first = tracer_for(workflow)
    assert first is not None
    await workflow.arun({"question": "1"}, subscribers=[first])
    assert first.wait(60) and first.problem is None

    # MLFLOW_TRACKING_URI unset: the home store; MLflow's mirror of its URI into the
    # environment is undone, so this setting still sees the variable unset.
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    llm_env.reply(json={"answer": "home"})
    second = tracer_for(workflow)
    assert second is not None and second.settings.tracking_uri != other
    await workflow.arun({"question": "2"}, subscribers=[second])
    assert second.wait(60) and second.problem is None
    assert "MLFLOW_TRACKING_URI" not in os.environ

    for uri, trace_id in ((other, first.trace_id), (second.settings.tracking_uri, second.trace_id)):
        client = mlflow.MlflowClient(uri)
        experiment = client.get_experiment_by_name("moving_flow")
        assert experiment is not None
        assert [t.info.trace_id for t in client.search_traces(locations=[experiment.experiment_id])] == \
            [trace_id]
