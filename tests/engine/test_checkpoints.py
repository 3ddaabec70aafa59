"""Checkpoints and resume: each node's checkpoint is recorded before the next node's model
request, and a run resumed from any checkpoint ends where an uninterrupted run ends."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import cagents
from cagents.engine import Checkpoint, MemoryRecorder, RunInfo, Workflow
from support.llm_server import Reply, ScriptedLLMServer

CHAIN4 = """
schema_version: "1.0"
flow: {name: chain4}
state:
  fields:
    seed: {type: str, required: true}
    a: {type: str}
    b: {type: str}
    c: {type: str}
    d: {type: str}
nodes:
  - {id: n1, prompt: "n1 {seed}", outputs: [a]}
  - {id: n2, prompt: "n2 {a}", outputs: [b]}
  - {id: n3, prompt: "n3 {b}", outputs: [c]}
  - {id: n4, prompt: "n4 {c}", outputs: [d]}
edges:
  - {from: START, to: n1}
  - {from: n1, to: n2}
  - {from: n2, to: n3}
  - {from: n3, to: n4}
  - {from: n4, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""

FANOUT = """
schema_version: "1.0"
flow: {name: fan}
state:
  fields:
    seed: {type: str, required: true}
    left: {type: str}
    right: {type: str}
    both: {type: str}
nodes:
  - {id: split, prompt: "split {seed}", outputs: [seed]}
  - {id: l, prompt: "l {seed}", outputs: [left]}
  - {id: r, prompt: "r {seed}", outputs: [right]}
  - {id: join, prompt: "join {left} {right}", outputs: [both]}
edges:
  - {from: START, to: split}
  - {from: split, to: [l, r]}
  - {from: l, to: join}
  - {from: r, to: join}
  - {from: join, to: END}
config:
  llm: {model: gpt-4o-mini}
  execution: {max_retries: 0}
"""


def _load(text: str) -> Workflow:
    return cagents.load(textwrap.dedent(text))


def _prompt(request: dict[str, Any]) -> str:
    return request["messages"][-1]["content"]


def _echo(delays: dict[str, float] | None = None) -> Any:
    """Answers `<node> <text>` with `<text>+<node>` in the node's one output."""
    outputs = {"n1": "a", "n2": "b", "n3": "c", "n4": "d", "split": "seed", "l": "left",
               "r": "right", "join": "both"}

    def respond(body: dict[str, Any]) -> Reply:
        node, _, text = _prompt(body).partition(" ")
        return Reply(json.dumps({outputs[node]: f"{text}+{node}"}), usage=(7, 3),
                     delay=(delays or {}).get(node, 0.0))

    return respond


class CountingRecorder(MemoryRecorder):
    """Notes how many model requests the server had seen when each record was written."""

    def __init__(self, server: ScriptedLLMServer) -> None:
        super().__init__()
        self.server = server
        self.seen: list[tuple[str, int]] = []

    async def accepted(self, info: RunInfo) -> None:
        self.seen.append(("accepted", len(self.server.requests)))
        await super().accepted(info)

    async def checkpoint(self, checkpoint: Checkpoint) -> None:
        self.seen.append((checkpoint.node_id, len(self.server.requests)))
        await super().checkpoint(checkpoint)


async def test_checkpoint_written_before_the_next_request(llm_env: ScriptedLLMServer) -> None:
    llm_env.responder = _echo()
    recorder = CountingRecorder(llm_env)
    result = await _load(CHAIN4).arun({"seed": "s"}, recorder=recorder)
    assert result.status == "completed", result.error
    assert recorder.seen == [("accepted", 0), ("n1", 1), ("n2", 2), ("n3", 3), ("n4", 4)]
    checkpoints = recorder.checkpoints[result.execution_id]
    assert [c.step for c in checkpoints] == [1, 2, 3, 4]
    assert checkpoints[1].state == {"seed": "s", "a": "s+n1", "b": "s+n1+n2", "c": None, "d": None}
    assert checkpoints[1].frontier == ["n3"] and checkpoints[-1].frontier == []
    assert [c.tokens for c in checkpoints] == [10, 20, 30, 40]
    info = recorder.runs[result.execution_id]
    assert info.inputs == {"seed": "s"} and info.workflow_name == "chain4"
    assert "n4 {c}" in info.config_text


def test_resume_from_a_checkpoint_matches_an_uninterrupted_run(llm_env: ScriptedLLMServer) -> None:
    llm_env.responder = _echo()
    wf = _load(CHAIN4)
    recorder = MemoryRecorder()
    whole = wf.run({"seed": "s"}, recorder=recorder)
    assert whole.status == "completed", whole.error
    after_n2 = recorder.checkpoints[whole.execution_id][1]
    assert after_n2.node_id == "n2"

    # through JSON, as a database would keep it
    stored = Checkpoint.from_dict(json.loads(json.dumps(after_n2.to_dict())))
    llm_env.requests.clear()
    events: list[Any] = []
    resumed_recorder = MemoryRecorder()
    handle = _load(CHAIN4).resume_from(stored, recorder=resumed_recorder, subscribers=[events.append])
    assert handle.execution_id == whole.execution_id
    assert handle.next_nodes == ["n3"]
    resumed = handle.run()
    assert resumed.status == "completed", resumed.error
    assert resumed.outputs == whole.outputs
    assert resumed.total_tokens == whole.total_tokens == 40
    assert resumed.total_cost_usd == whole.total_cost_usd
    assert [_prompt(r) for r in llm_env.requests] == ["n3 s+n1+n2", "n4 s+n1+n2+n3"]
    started = [e for e in events if e.type == "execution_started"]
    assert len(started) == 1 and started[0].resumed_from_step == 2
    assert [c.node_id for c in resumed_recorder.checkpoints[whole.execution_id]] == ["n3", "n4"]
    assert [c.step for c in resumed_recorder.checkpoints[whole.execution_id]] == [3, 4]
    assert resumed_recorder.summaries[whole.execution_id].status == "completed"
    assert set(resumed.bottleneck["nodes"]) == {"n1", "n2", "n3", "n4"}


async def test_resume_inside_a_fanout_runs_only_the_unfinished_branch(llm_env: ScriptedLLMServer) -> None:
    llm_env.responder = _echo(delays={"r": 0.1})
    recorder = MemoryRecorder()
    whole = await _load(FANOUT).arun({"seed": "s"}, recorder=recorder)
    assert whole.status == "completed", whole.error
    checkpoints = recorder.checkpoints[whole.execution_id]
    assert [c.node_id for c in checkpoints] == ["split", "l", "r", "join"]
    after_l = checkpoints[1]
    assert sorted(after_l.frontier) == ["join", "r"]

    llm_env.requests.clear()
    handle = _load(FANOUT).resume_from(after_l)
    steps = []
    while not handle.done:
        steps.append((await handle.astep()).nodes)
    assert steps == [["r"], ["join"]]
    assert handle.result().outputs == whole.outputs
    assert [_prompt(r).split()[0] for r in llm_env.requests] == ["r", "join"]


async def test_resume_from_the_last_checkpoint_of_a_failed_run(llm_env: ScriptedLLMServer) -> None:
    """A run that failed at n3 continues from its last checkpoint once the model answers."""
    echo = _echo()
    broken = {"on": True}

    def respond(body: dict[str, Any]) -> Reply:
        if _prompt(body).startswith("n3") and broken["on"]:
            return Reply(status=400, error="n3 is broken today")
        return echo(body)

    llm_env.responder = respond
    recorder = MemoryRecorder()
    failed = await _load(CHAIN4).arun({"seed": "s"}, recorder=recorder)
    assert failed.status == "failed" and "node 'n3'" in (failed.error or "")
    last = recorder.last_checkpoint(failed.execution_id)
    assert last is not None and last.node_id == "n2"

    broken["on"] = False
    llm_env.requests.clear()
    resumed = await _load(CHAIN4).resume_from(last, recorder=recorder).arun()
    assert resumed.status == "completed", resumed.error
    assert resumed.outputs["d"] == "s+n1+n2+n3+n4"
    assert [_prompt(r).split()[0] for r in llm_env.requests] == ["n3", "n4"]
    assert recorder.summaries[failed.execution_id].status == "completed"
