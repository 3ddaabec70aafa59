"""Secrets given in `env` reach the model and nothing else: no table, no column, no file byte."""

from __future__ import annotations

from pathlib import Path

from app.dbview import APPROVAL, CHAIN4, dump_database, echo, node_of
from cagents.app import Workbench, rerun_execution, resume_execution, run_workflow
from support.llm_server import Reply, ScriptedLLMServer

CANARY = "sk-canary-7f3a9c2e1d"


def test_a_secret_in_env_is_used_for_the_run_and_stored_nowhere(
    workbench: Workbench, home: Path, db_file: Path, llm_server: ScriptedLLMServer
) -> None:
    answer = echo()

    def respond(body: dict) -> Reply:  # type: ignore[type-arg]
        if node_of(body) == "n4":
            return Reply(status=401, error="invalid api key")
        return answer(body)

    llm_server.responder = respond
    env = {"CAGENTS_LLM_BASE_URL": llm_server.url, "CAGENTS_LLM_API_KEY": CANARY}
    failed = run_workflow(workbench, CHAIN4, {"seed": "s"}, env=env)
    assert failed.status == "failed" and "n4" in (failed.error or "")
    llm_server.responder = echo()
    again = rerun_execution(workbench, failed.execution_id, env=env)
    assert again.status == "completed", again.error
    llm_server.reply(json={"post": "P"})
    llm_server.reply(json={"outcome": "published"})
    paused = run_workflow(workbench, APPROVAL, {"news": "n"}, env=env)
    done = resume_execution(workbench, paused.execution_id, {"approved": True, "notes": ""}, env=env)
    assert done.status == "completed", done.error

    # The key really was used: every request carried it.
    assert len(llm_server.requests) == 4 + 4 + 2
    assert all(h.get("authorization") == f"Bearer {CANARY}" for h in llm_server.request_headers)

    text = dump_database(db_file)
    assert "chain4" in text and "approval" in text  # the dump holds the executions
    assert CANARY not in text
    workbench.close()
    for path in home.iterdir():  # the database, its WAL and anything else written there
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path.name
