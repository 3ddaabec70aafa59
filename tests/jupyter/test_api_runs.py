"""`POST runs`: start a workflow from YAML text or a file under the server's root."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from app.dbview import execution_row, state_rows

GREET = """\
schema_version: "1.0"
flow: {name: greet}
state:
  fields:
    name: {type: str, required: true}
    times: {type: int, default: 1}
    greeting: {type: str, default: ""}
nodes:
  - id: hello
    prompt: "Say hello to {state.name}, {state.times} times"
    outputs: [greeting]
edges:
  - {from: START, to: hello}
  - {from: hello, to: END}
"""


def db_file(runtime: Any) -> Path:
    return Path(runtime.home) / "configurable_agents.db"


def finish(api: Any, runtime: Any, execution_id: str) -> Any:
    """Wait for a run this server drives (its real LiveRun) and return its result."""
    live = api.run(runtime.live())
    return api.run(live.get(execution_id).wait())


def test_a_run_started_from_yaml_goes_on_after_the_answer_and_is_recorded(api: Any, runtime: Any) -> None:
    reply = api("POST", "runs", {"yaml": GREET, "inputs": {"name": "Ada"}})
    assert reply.code == 202, reply.body
    started = reply.json
    execution_id = started["execution_id"]
    assert started["status"] == "running"
    assert started["execution_url"].endswith(f"/cagents/api/executions/{execution_id}")
    assert started["events_url"].endswith(f"/cagents/api/executions/{execution_id}/events")
    # The row exists as soon as the answer says so.
    assert execution_row(db_file(runtime), execution_id)["workflow_name"] == "greet"

    result = finish(api, runtime, execution_id)
    assert result.status == "completed", result.error
    row = execution_row(db_file(runtime), execution_id)
    assert row["status"] == "completed"
    outputs = json.loads(row["outputs"])
    assert outputs["name"] == "Ada" and outputs["greeting"]
    assert row["config_snapshot"] == GREET
    assert [s["node_id"] for s in state_rows(db_file(runtime), execution_id)] == ["hello"]


def test_wait_true_answers_with_the_result(api: Any, runtime: Any) -> None:
    reply = api("POST", "runs", {"yaml": GREET, "inputs": {"name": "Ada", "times": 2}, "wait": True})
    assert reply.code == 200, reply.body
    result = reply.json
    assert result["status"] == "completed"
    assert result["outputs"]["greeting"] and result["outputs"]["times"] == 2
    assert result["error"] is None
    assert set(result) >= {"total_tokens", "total_cost_usd", "duration_seconds", "events_url", "execution_url"}
    assert execution_row(db_file(runtime), result["execution_id"])["status"] == "completed"


def test_coerce_turns_form_strings_into_typed_inputs(api: Any) -> None:
    typed = api("POST", "runs", {"yaml": GREET, "inputs": {"name": "Ada", "times": "3"}, "coerce": True,
                                 "wait": True})
    assert typed.code == 200, typed.body
    assert typed.json["outputs"]["times"] == 3

    refused = api("POST", "runs", {"yaml": GREET, "inputs": {"name": "Ada", "times": "3"}})
    assert refused.code == 422
    assert refused.json["error"] == "InputError"
    assert "times" in refused.json["fields"]

    missing = api("POST", "runs", {"yaml": GREET, "inputs": {}})
    assert missing.code == 422
    assert "name" in missing.json["fields"]


def test_invalid_yaml_is_a_400_with_issues(api: Any) -> None:
    reply = api("POST", "runs", {"yaml": GREET.replace("outputs:", "outputz:"), "inputs": {"name": "x"}})
    assert reply.code == 400
    assert reply.json["error"] == "ConfigError"
    assert reply.json["issues"][0]["line"] == 11
    assert "traceback" not in reply.body.decode().lower()


def test_yaml_text_is_never_read_as_a_file_name(api: Any, jp_root_dir: Path) -> None:
    (jp_root_dir / "greet.yaml").write_text(GREET)
    reply = api("POST", "runs", {"yaml": "greet.yaml", "inputs": {"name": "x"}})
    assert reply.code == 400
    assert reply.json["error"] == "ConfigError"


def test_a_workflow_file_under_the_server_root(api: Any, jp_root_dir: Path) -> None:
    (jp_root_dir / "flows").mkdir()
    (jp_root_dir / "flows" / "greet.yaml").write_text(GREET)
    reply = api("POST", "runs", {"path": "flows/greet.yaml", "inputs": {"name": "Bo"}, "wait": True})
    assert reply.code == 200, reply.body
    assert reply.json["status"] == "completed"
    assert reply.json["outputs"]["name"] == "Bo"

    (jp_root_dir / "flows" / "bad.yaml").write_text(GREET.replace("outputs:", "outputz:"))
    bad = api("POST", "runs", {"path": "flows/bad.yaml", "inputs": {"name": "Bo"}})
    assert bad.code == 400
    assert bad.json["issues"][0]["file"] == "flows/bad.yaml"


def test_paths_outside_the_server_root_are_refused(api: Any, jp_root_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(GREET)
    relative = os.path.relpath(outside, jp_root_dir)
    escaped = api("POST", "runs", {"path": relative, "inputs": {"name": "x"}})
    assert escaped.code == 403, escaped.body
    assert escaped.json["field"] == "path"
    assert "outside the server's root" in escaped.json["message"]

    (jp_root_dir / "link.yaml").symlink_to(outside)
    linked = api("POST", "runs", {"path": "link.yaml", "inputs": {"name": "x"}})
    assert linked.code == 403
    assert linked.json["field"] == "path"

    absolute = api("POST", "runs", {"path": str(outside), "inputs": {"name": "x"}})
    assert absolute.code == 422
    assert "relative" in absolute.json["message"]

    missing = api("POST", "runs", {"path": "nope.yaml", "inputs": {"name": "x"}})
    assert missing.code == 422
    assert missing.json["field"] == "path"
    assert "nope.yaml" in missing.json["message"]


def test_bad_bodies_name_the_field(api: Any) -> None:
    cases = [
        ({}, "yaml"),
        ({"yaml": GREET, "path": "x.yaml"}, "path"),
        ({"yaml": 3}, "yaml"),
        ({"yaml": GREET, "inputs": [1]}, "inputs"),
        ({"yaml": GREET, "inputs": {"name": "x"}, "env": {"KEY": 1}}, "env.KEY"),
        ({"yaml": GREET, "inputs": {"name": "x"}, "wait": "yes"}, "wait"),
        ({"yaml": GREET, "inputs": {"name": "x"}, "coerce": 1}, "coerce"),
        ({"yaml": GREET, "input": {"name": "x"}}, "input"),
        ({"yaml": "x" * 1_000_001}, "yaml"),
    ]
    for body, field in cases:
        reply = api("POST", "runs", body)
        assert reply.code == 422, (body if len(str(body)) < 200 else field, reply.body[:300])
        assert reply.json["field"] == field, reply.json


def test_anonymous_and_browser_writes_without_xsrf_are_refused(api: Any) -> None:
    body = {"yaml": GREET, "inputs": {"name": "x"}}
    assert api.anonymous("POST", "runs", body).code == 403
    cookies = api.browser_cookies()
    assert api.browser("POST", "runs", body, cookies=cookies, xsrf=None).code == 403
    accepted = api.browser("POST", "runs", {**body, "wait": True}, cookies=cookies, xsrf="abc123")
    assert accepted.code == 200, accepted.body
