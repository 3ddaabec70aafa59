"""The chat assistant through the REST API: every branch of the conversation against the
scripted LLM server, repair, outages, refusals, restart, and secrets that stay secret."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.dbview import dump_database, rows
from support.llm_server import Reply, ScriptedLLMServer

CANARY = "sk-canary-chat-4d9e1f0b7a"

ARTICLE: dict[str, Any] = {
    "schema_version": "1.0",
    "flow": {"name": "article_writer", "description": "Research a topic, then write an article."},
    "state": {"fields": {"topic": {"type": "str", "required": True}, "notes": {"type": "str"},
                         "article": {"type": "str"}}},
    "nodes": [{"id": "research", "description": "Collect facts.", "prompt": "List facts about {topic}",
               "outputs": ["notes"]},
              {"id": "write", "prompt": "Write about {topic} from {notes}", "outputs": ["article"]}],
    "edges": [{"from": "START", "to": "research"}, {"from": "research", "to": "write"},
              {"from": "write", "to": "END"}],
    "config": {"llm": {"provider": "openai", "model": "gpt-4o-mini"}},
}


def variant(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(ARTICLE)
    if "model" in changes:
        data["config"]["llm"]["model"] = changes["model"]
    if changes.get("edit"):
        data["state"]["fields"]["edited"] = {"type": "str"}
        data["nodes"].append({"id": "edit", "prompt": "Edit {article}", "outputs": ["edited"]})
        data["edges"][-1] = {"from": "write", "to": "edit"}
        data["edges"].append({"from": "edit", "to": "END"})
    if changes.get("invalid"):
        data["nodes"][0]["outputs"] = ["facts"]  # not a state field
    return data


# ---- helpers -------------------------------------------------------------------------------
class Turn:
    """The events of one streamed turn."""

    def __init__(self, code: int, raw: str) -> None:
        self.code, self.raw = code, raw
        self.events: list[tuple[str, Any]] = []
        for block in raw.split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if "event" in fields:
                self.events.append((fields["event"], json.loads(fields["data"])))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def of(self, name: str) -> Any:
        found = [data for event, data in self.events if event == name]
        assert found, f"no {name} event in {self.names()}"
        return found[-1]

    @property
    def text(self) -> str:
        return "".join(data["text"] for event, data in self.events if event == "delta")


def say(api: Any, session_id: str, content: str, env: dict[str, str] | None = None) -> Turn:
    body: dict[str, Any] = {"content": content}
    if env is not None:
        body["env"] = env
    reply = api("POST", f"chat/sessions/{session_id}/turn", body)
    assert reply.code == 200, reply.body[:500]
    assert reply.headers["Content-Type"].startswith("text/event-stream")
    turn = Turn(reply.code, reply.body.decode())
    assert turn.names()[0] == "user_message" and turn.names()[-1] == "end", turn.names()
    return turn


def script_draft(llm: ScriptedLLMServer, intent: str | None, *workflows: dict[str, Any],
                 text: str = "It researches, then writes. Does this match?") -> None:
    if intent is not None:
        llm.reply(json={"intent": intent})
    for workflow in workflows:
        llm.reply(tool_calls=[{"name": "propose_workflow", "arguments": workflow}], usage=(900, 300))
    llm.reply(text, usage=(1000, 40))


def run_answers(body: dict[str, Any]) -> Reply:
    """What the workflow's own nodes get: an object with every field the schema asks for."""
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    return Reply(json.dumps({name: f"{name} of the run" for name in schema.get("properties", {})}))


def db_file(runtime: Any) -> Path:
    return Path(runtime.home) / "configurable_agents.db"


def new_session(api: Any) -> str:
    created = api("POST", "chat/sessions", {"user_identifier": "ada"})
    assert created.code == 201, created.body
    return str(created.json["session_id"])


@pytest.fixture
def server_log(jp_serverapp: Any) -> Iterator[list[str]]:
    """Every log line of the server and of cagents while the test runs, at DEBUG."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep(logging.DEBUG)
    loggers = [logging.getLogger(), jp_serverapp.log, logging.getLogger("cagents"),
               logging.getLogger("tornado.access")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        for logger, level in zip(loggers, levels):
            logger.removeHandler(handler)
            logger.setLevel(level)


# ---- the conversation ----------------------------------------------------------------------
def test_describe_question_modify_twice_approve_and_execute(api: Any, runtime: Any, llm_env: ScriptedLLMServer) -> None:
    llm = llm_env
    created = api("POST", "chat/sessions", {"user_identifier": "ada"}).json
    session_id = created["session_id"]
    (welcome,) = created["messages"]
    assert welcome["role"] == "assistant" and welcome["metadata"]["kind"] == "welcome"
    for capability in ("Single-agent", "pipelines", "Tool-augmented", "Conditional branching", "Loops",
                       "Parallel maps", "Human steps"):
        assert capability in welcome["content"]
    assert created["assistant"]["stage"] == "awaiting_description" and created["assistant"]["offline"] is False

    # A description: the model proposes through the tool call; the diagram and suggestions come along.
    script_draft(llm, "describe", ARTICLE)
    first = say(api, session_id, "Research a topic and write an article about it")
    proposal = first.of("proposal")
    assert proposal["valid"] and proposal["workflow"] == "article_writer" and proposal["nodes"] == ["research", "write"]
    assert proposal["mermaid"].startswith("flowchart TD") and "research" in proposal["mermaid"]
    assert proposal["input_schema"]["required"] == ["topic"] and proposal["revision"] == 1
    assert first.of("status") == {"session_status": "active", "stage": "proposed"}
    message = first.of("message")
    assert message["content"].startswith("It researches, then writes.")
    assert "```mermaid" in message["content"] and "Does this match" in message["content"]
    assert first.text == message["content"]
    meta = message["metadata"]
    assert meta["kind"] == "proposal" and meta["model"] == "gpt-4o-mini" and meta["offline"] is False
    assert meta["tokens"]["total"] == (10 + 5) + (900 + 300) + (1000 + 40)
    assert meta["cost_usd"] > 0 and meta["attempts"] == 1
    tool_request = llm.requests[1]
    assert tool_request["tools"][0]["function"]["name"] == "propose_workflow"
    assert "$defs" in tool_request["tools"][0]["function"]["parameters"]  # the workflow JSON Schema
    suggestions = first.of("suggestions")
    assert suggestions["env"][0] == {"names": ["OPENAI_API_KEY"], "required": True,
                                     "reason": "API key of LLM provider `openai`", "set": False}
    assert suggestions["tools"][0]["name"] == "web_search" and suggestions["tools"][0]["node"] == "research"
    assert suggestions["cost_estimate"]["usd_per_run"] > 0 and suggestions["cost_estimate"]["model"] == "gpt-4o-mini"

    # A question is answered in context and changes nothing.
    llm.reply(json={"intent": "question"})
    llm.reply("The research node lists facts about the topic into `notes`.")
    asked = say(api, session_id, "What does node research do?")
    assert asked.of("message")["content"] == "The research node lists facts about the topic into `notes`."
    assert asked.of("status")["stage"] == "proposed" and asked.of("message")["metadata"]["kind"] == "answer"
    answer_request = llm.requests[-1]
    assert "List facts about {topic}" in answer_request["messages"][0]["content"]  # the draft in context

    # Two changes.
    script_draft(llm, "modify", variant(model="gpt-4.1-nano"), text="Now on gpt-4.1-nano. Does this match?")
    cheaper = say(api, session_id, "make it cheaper")
    assert "gpt-4.1-nano" in cheaper.of("proposal")["yaml"] and cheaper.of("proposal")["revision"] == 2
    assert "List facts about {topic}" in json.dumps(llm.requests[-2]["messages"])  # the current draft went along
    script_draft(llm, "modify", variant(model="gpt-4.1-nano", edit=True), text="Added an edit step. Match?")
    edited = say(api, session_id, "add a step that edits the article")
    assert edited.of("proposal")["nodes"] == ["research", "write", "edit"]
    assert edited.of("proposal")["revision"] == 3

    # "yes": the suggestions; "approve": the final YAML and diagram; the session is completed.
    requests_before = len(llm.requests)
    yes = say(api, session_id, "yes")
    assert yes.of("status") == {"session_status": "active", "stage": "reviewing"}
    assert "Tools you could add" in yes.of("message")["content"] and "Cost per run" in yes.of("message")["content"]
    assert yes.of("suggestions")["cost_estimate"]["model"] == "gpt-4.1-nano"
    approved = say(api, session_id, "approve")
    assert len(llm.requests) == requests_before  # plain confirmations need no model call
    final = approved.of("final")
    assert final["workflow"] == "article_writer" and "edit" in final["yaml"] and final["mermaid"]
    assert approved.of("status") == {"session_status": "completed", "stage": "approved"}
    session = api("GET", f"chat/sessions/{session_id}").json
    assert session["status"] == "completed" and session["generated_config"] == final["yaml"]
    assert session["assistant"]["final"]["yaml"] == final["yaml"]
    assert session["assistant"]["actions"] == ["turn", "approve", "execute", "deploy"]

    # Execute: the run goes on in the server, the chat gets its id, link and result.
    llm.responder = run_answers
    executed = api("POST", f"chat/sessions/{session_id}/execute", {"inputs": {"topic": "tea"}, "wait": True})
    assert executed.code == 200, executed.body
    result = executed.json
    assert result["status"] == "completed" and result["outputs"]["edited"] == "edited of the run"
    assert result["execution_url"].endswith(f"/cagents/api/executions/{result['execution_id']}")
    assert result["message"]["metadata"]["kind"] == "execution"
    assert result["message"]["metadata"]["execution_id"] == result["execution_id"]
    assert result["result_message"]["metadata"]["kind"] == "execution_result"
    assert "edited of the run" in result["result_message"]["content"]
    row = rows(db_file(runtime), "SELECT * FROM executions WHERE id = ?", result["execution_id"])[0]
    assert row["status"] == "completed" and row["workflow_name"] == "article_writer"

    stored = rows(db_file(runtime), "SELECT role, content, message_metadata FROM chat_messages "
                                    "WHERE session_id = ? ORDER BY id", session_id)
    kinds = [(m["role"], json.loads(m["message_metadata"] or "{}").get("kind")) for m in stored]
    assert kinds == [("assistant", "welcome"), ("user", None), ("assistant", "proposal"), ("user", None),
                     ("assistant", "answer"), ("user", None), ("assistant", "proposal"), ("user", None),
                     ("assistant", "proposal"), ("user", None), ("assistant", "suggestions"), ("user", None),
                     ("assistant", "final"), ("assistant", "execution"), ("assistant", "execution_result")]
    assert api("GET", f"chat/sessions/{session_id}").json["assistant"]["stage"] == "done"


def test_no_thanks_ends_the_session(api: Any, llm_env: ScriptedLLMServer) -> None:
    session_id = new_session(api)
    ended = say(api, session_id, "No thanks")
    assert ended.of("status") == {"session_status": "abandoned", "stage": "abandoned"}
    assert ended.of("message")["metadata"]["kind"] == "abandoned"
    assert llm_env.requests == []
    again = api("POST", f"chat/sessions/{session_id}/turn", {"content": "wait, one more thing"})
    assert again.code == 409 and "start a new session" in again.json["message"]
    assert api("POST", f"chat/sessions/{session_id}/approve", {}).code == 409
    assert api("POST", f"chat/sessions/{session_id}/execute", {}).code == 409
    detail = api("GET", f"chat/sessions/{session_id}").json
    assert detail["status"] == "abandoned" and detail["assistant"]["actions"] == []
    assert len(detail["messages"]) == 3  # welcome, "No thanks", the goodbye; the refused turn left nothing


def test_an_invalid_first_proposal_is_repaired_and_never_shown(api: Any, llm_env: ScriptedLLMServer) -> None:
    session_id = new_session(api)
    script_draft(llm_env, "describe", variant(invalid=True), ARTICLE)
    turn = say(api, session_id, "Research a topic and write an article")
    proposals = [data for name, data in turn.events if name == "proposal"]
    assert len(proposals) == 1 and proposals[0]["valid"] and "outputs: [notes]" in proposals[0]["yaml"]
    assert turn.of("message")["metadata"]["attempts"] == 2
    # The validator's issue went back to the model as the tool's answer.
    tool_answer = [m for m in llm_env.requests[2]["messages"] if m["role"] == "tool"][-1]
    assert json.loads(tool_answer["content"])["valid"] is False and "facts" in tool_answer["content"]


def test_no_valid_proposal_after_the_attempts_is_an_error_and_the_session_goes_on(
    api: Any, llm_env: ScriptedLLMServer
) -> None:
    session_id = new_session(api)
    llm_env.reply(json={"intent": "describe"})
    for _ in range(3):
        llm_env.reply(tool_calls=[{"name": "propose_workflow", "arguments": variant(invalid=True)}])
    failed = say(api, session_id, "Research a topic and write an article")
    assert "proposal" not in failed.names()
    error = failed.of("error")
    assert error["error"] == "DraftFailed" and "3 attempt" in error["message"] and "facts" in error["message"]
    assert failed.of("status") == {"session_status": "active", "stage": "awaiting_description"}
    assert failed.of("message")["metadata"]["kind"] == "error"
    script_draft(llm_env, "describe", ARTICLE)
    assert say(api, session_id, "Research a topic and write an article").of("proposal")["valid"]


def test_an_outage_or_a_bad_key_is_said_and_the_session_stays_usable(api: Any, llm_env: ScriptedLLMServer) -> None:
    session_id = new_session(api)
    # Nothing scripted: the server answers 500 to every call.
    down = say(api, session_id, "Research a topic and write an article")
    assert down.of("error")["error"] == "LLMError"
    assert "Sorry, I could not answer that" in down.of("message")["content"]
    llm_env.reply(status=401, error="Incorrect API key provided")
    refused = say(api, session_id, "Research a topic and write an article")
    assert "401" in refused.of("error")["message"] or "key" in refused.of("error")["message"].lower()
    assert refused.of("status")["stage"] == "awaiting_description"
    script_draft(llm_env, "describe", ARTICLE)
    assert say(api, session_id, "Research a topic and write an article").of("proposal")["workflow"] == "article_writer"


def test_the_whole_flow_works_offline_and_is_labelled(api: Any, runtime: Any) -> None:
    created = api("POST", "chat/sessions", {}).json
    session_id = created["session_id"]
    assert created["assistant"]["offline"] is True and "offline simulator" in created["messages"][0]["content"]
    drafted = say(api, session_id, "Triage support tickets into billing, bug or how-to and reply")
    proposal = drafted.of("proposal")
    assert proposal["valid"] and proposal["nodes"][0] == "classify"
    message = drafted.of("message")
    assert message["content"].startswith("(offline simulator)")
    assert message["metadata"]["offline"] is True and message["metadata"]["model"] == "offline-simulator"
    cheaper = say(api, session_id, "make it cheaper")
    assert "gpt-4.1-nano" in cheaper.of("proposal")["yaml"]
    asked = say(api, session_id, "what does node classify do?")
    assert "classify" in asked.of("message")["content"] and asked.of("status")["stage"] == "proposed"
    say(api, session_id, "yes")
    approved = api("POST", f"chat/sessions/{session_id}/approve", {})
    assert approved.code == 200 and approved.json["stage"] == "approved"
    assert approved.json["session"]["generated_config"] == approved.json["final"]["yaml"]
    inputs = {"ticket": "I was charged twice"}
    executed = api("POST", f"chat/sessions/{session_id}/execute", {"inputs": inputs, "wait": True})
    assert executed.code == 200 and executed.json["status"] == "completed" and executed.json["simulated"]
    assert "(simulated)" in executed.json["result_message"]["content"]


def test_a_conversation_resumes_after_a_restart(api: Any, runtime: Any) -> None:
    from cagents.app import Workbench
    from cagents.assistant import ChatAssistant

    session_id = new_session(api)
    say(api, session_id, "Summarize each of a list of documents, then write a digest")
    say(api, session_id, "make it cheaper")
    # Another process (the restarted server) opens the same home and goes on from there.
    with Workbench.open(runtime.home) as again:
        assistant = ChatAssistant(again)
        restored = assistant.view(session_id)
        assert restored["assistant"]["stage"] == "proposed" and restored["assistant"]["proposal"]["revision"] == 2
        assert "gpt-4.1-nano" in restored["assistant"]["proposal"]["yaml"]
        answer = api.run(assistant.collect(session_id, "yes"))
        assert answer["stage"] == "reviewing"
        final = api.run(assistant.approve(session_id))
        assert final["session"]["status"] == "completed"
    detail = api("GET", f"chat/sessions/{session_id}").json
    assert detail["status"] == "completed" and detail["assistant"]["stage"] == "approved"
    assert detail["generated_config"] == final["final"]["yaml"]
    assert api("GET", "chat/sessions").json["sessions"][0]["session_id"] == session_id


# ---- refusals ----------------------------------------------------------------------------
def test_bad_turns_are_refused_and_the_session_is_intact(api: Any) -> None:
    session_id = new_session(api)
    path = f"chat/sessions/{session_id}/turn"
    cases = [
        ({"content": "x" * 20_001}, "content", 413),
        ({"content": "   "}, "content", 422),
        ({"content": 7}, "content", 422),
        ({}, "content", 422),
        ({"content": "hi", "mood": "happy"}, "mood", 422),
        ({"content": "hi", "env": {"KEY": 1}}, "env.KEY", 422),
        ({"content": "hi", "env": "KEY=1"}, "env", 422),
    ]
    for body, field, status in cases:
        reply = api("POST", path, body)
        assert reply.code == status, (body if len(json.dumps(body)) < 100 else field, reply.body[:200])
        assert reply.json["field"] == field
    huge = api("POST", path, {"content": "x" * 20_001}).json["message"]
    assert "20,001 characters" in huge and "20,000" in huge
    assert api("POST", path, raw_body="{not json").code == 400
    assert api("POST", path, {"content": "hi"}, params={"stream": "maybe"}).json["field"] == "stream"
    detail = api("GET", f"chat/sessions/{session_id}").json
    assert [m["metadata"]["kind"] for m in detail["messages"]] == ["welcome"]  # nothing was stored
    assert detail["assistant"]["stage"] == "awaiting_description"
    assert say(api, session_id, "Translate an email to French").of("proposal")["valid"]  # still usable


def test_actions_need_an_approved_workflow_and_check_their_bodies(api: Any) -> None:
    session_id = new_session(api)
    base = f"chat/sessions/{session_id}"
    assert api("POST", f"{base}/approve", {}).code == 409
    assert "describe the workflow first" in api("POST", f"{base}/approve", {}).json["message"]
    assert api("POST", f"{base}/execute", {}).code == 409
    assert api("POST", f"{base}/deploy", {"target": "process"}).code == 409
    say(api, session_id, "Translate an email to French")
    assert api("POST", f"{base}/approve", {"env": {"OPENAI_API_KEY": 3}}).json["field"] == "env.OPENAI_API_KEY"
    assert api("POST", f"{base}/approve", {}).code == 200
    cases = [
        (f"{base}/execute", {"inputs": []}, "inputs", 422),
        (f"{base}/execute", {"inputs": {}, "wait": "yes"}, "wait", 422),
        (f"{base}/execute", {"inputs": {}, "env": {"K": "v", "L": 2}}, "env.L", 422),
        (f"{base}/deploy", {}, "target", 422),
        (f"{base}/deploy", {"target": "kubernetes"}, "target", 422),
        (f"{base}/deploy", {"target": "process", "port": 70000}, "port", 422),
        (f"{base}/deploy", {"target": "process", "name": " "}, "name", 422),
        (f"{base}/deploy", {"target": "process", "name": "n" * 101}, "name", 422),
        (f"{base}/deploy", {"target": "process", "replicas": 2}, "replicas", 422),
    ]
    for path, body, field, status in cases:
        reply = api("POST", path, body)
        assert (reply.code, reply.json.get("field")) == (status, field), (path, body, reply.body[:300])
    missing = api("POST", f"{base}/execute", {"inputs": {}})
    assert missing.code == 422 and missing.json["error"] == "InputError" and "email" in json.dumps(missing.json)


def test_unknown_sessions_are_404(api: Any) -> None:
    for action, body in (("turn", {"content": "hi"}), ("approve", {}), ("execute", {}),
                         ("deploy", {"target": "process"})):
        reply = api("POST", f"chat/sessions/nope/{action}", body)
        assert reply.code == 404, action
        assert reply.json == {"error": "NotFoundError", "message": "no chat session with id 'nope'", "status": 404}
    reply = api("POST", "chat/sessions/nope/turn", {"content": "hi"}, params={"stream": "false"})
    assert reply.code == 404


def test_anonymous_and_browser_writes_without_xsrf_are_refused(api: Any) -> None:
    session_id = new_session(api)
    cookies = api.browser_cookies()
    for action, body in (("turn", {"content": "hi"}), ("approve", {}), ("execute", {}),
                         ("deploy", {"target": "process"})):
        path = f"chat/sessions/{session_id}/{action}"
        assert api.anonymous("POST", path, body).code == 403, action
        assert api.browser("POST", path, body, cookies=cookies, xsrf=None).code == 403, action
    ok = api.browser("POST", f"chat/sessions/{session_id}/turn", {"content": "no thanks"}, cookies=cookies,
                     xsrf="abc123")
    assert ok.code == 200 and b"event: end" in ok.body


def test_a_json_turn_has_the_same_parts(api: Any) -> None:
    session_id = new_session(api)
    reply = api("POST", f"chat/sessions/{session_id}/turn", {"content": "Summarize a web page"},
                params={"stream": "false"})
    assert reply.code == 200, reply.body
    answer = reply.json
    assert answer["stage"] == "proposed" and answer["session_status"] == "active"
    assert answer["proposal"]["valid"] and answer["suggestions"]["cost_estimate"]["usd_per_run"] > 0
    assert answer["text"] == answer["message"]["content"] and answer["error"] is None
    assert answer["user_message"]["content"] == "Summarize a web page"


# ---- secrets -------------------------------------------------------------------------------
def test_a_secret_typed_into_the_env_area_is_used_and_appears_nowhere(
    api: Any, runtime: Any, llm_server: ScriptedLLMServer, server_log: list[str]
) -> None:
    env = {"CAGENTS_LLM_BASE_URL": llm_server.url, "CAGENTS_LLM_API_KEY": CANARY, "OPENAI_API_KEY": CANARY}
    session_id = new_session(api)
    script_draft(llm_server, "describe", ARTICLE)
    seen = [say(api, session_id, "Research a topic and write an article", env).raw]
    llm_server.reply(status=401, error=f"Incorrect API key provided: {CANARY}")  # an error quoting the key
    failed = say(api, session_id, "what does node write do?", env)
    assert failed.of("error")["error"] == "LLMError" and "[hidden]" in failed.of("error")["message"]
    seen += [failed.raw, say(api, session_id, "yes", env).raw]
    approved = api("POST", f"chat/sessions/{session_id}/approve", {"env": env})
    assert approved.json["final"]["env"][0]["set"] is True  # said set, never shown
    llm_server.responder = run_answers
    executed = api("POST", f"chat/sessions/{session_id}/execute",
                   {"inputs": {"topic": "tea"}, "env": env, "wait": True})
    assert executed.json["status"] == "completed", executed.body
    seen += [approved.body.decode(), executed.body.decode(), api("GET", f"chat/sessions/{session_id}").body.decode()]

    assert all(h.get("authorization") == f"Bearer {CANARY}" for h in llm_server.request_headers)  # really used
    assert len(llm_server.request_headers) >= 5
    for text in seen:
        assert CANARY not in text
    assert CANARY not in dump_database(db_file(runtime))
    assert server_log and not [line for line in server_log if CANARY in line]


def test_deploy_starts_a_service_registered_with_the_workbench(
    api: Any, runtime: Any, server_log: list[str]
) -> None:
    from cagents.deploy import local
    from cagents.deploy.target import get_target

    session_id = new_session(api)
    say(api, session_id, "Translate an email to French")
    assert api("POST", f"chat/sessions/{session_id}/approve", {}).code == 200
    reply = api("POST", f"chat/sessions/{session_id}/deploy",
                {"target": "process", "name": "translator", "env": {"OPENAI_API_KEY": CANARY}})
    assert reply.code == 201, reply.body
    deployed = reply.json
    record = local.load(deployed["deployment_id"])
    try:
        assert deployed["target"] == "process" and deployed["name"] == "translator"
        assert deployed["url"] == f"http://127.0.0.1:{record.port}" and deployed["docs_url"].endswith("/docs")
        import httpx

        assert httpx.get(deployed["url"] + "/health", timeout=10).json()["status"] == "ok"
        listed = api("GET", f"deployments/{deployed['deployment_id']}")
        assert listed.code == 200 and listed.json["workflow_name"] == deployed["workflow"]
        message = deployed["message"]
        assert message["metadata"]["kind"] == "deployment" and deployed["url"] in message["content"]
        assert api("GET", f"chat/sessions/{session_id}").json["assistant"]["stage"] == "done"
    finally:
        get_target("process").stop(record)
    assert CANARY not in reply.body.decode()
    assert CANARY not in dump_database(db_file(runtime))
    for path in local.deployments_dir().iterdir():  # the record, the workflow copy and the log
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path.name
    assert not [line for line in server_log if CANARY in line]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_traced_execute_keeps_the_secret_out_of_the_traces(
    api: Any, runtime: Any, llm_server: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CAGENTS_TRACING", "on")
    session_id = new_session(api)
    say(api, session_id, "Translate an email to French")  # offline draft: no key on the server
    assert api("POST", f"chat/sessions/{session_id}/approve", {}).code == 200
    llm_server.responder = run_answers
    env = {"CAGENTS_LLM_BASE_URL": llm_server.url, "CAGENTS_LLM_API_KEY": CANARY, "OPENAI_API_KEY": CANARY}
    executed = api("POST", f"chat/sessions/{session_id}/execute",
                   {"inputs": {"email": "Hello"}, "env": env, "wait": True})
    assert executed.json["status"] == "completed" and not executed.json["simulated"], executed.body
    assert all(h.get("authorization") == f"Bearer {CANARY}" for h in llm_server.request_headers)
    from cagents.observe import flush_traces

    flush_traces(60)
    record = api("GET", f"executions/{executed.json['execution_id']}").json
    assert record.get("trace_id"), record  # it was traced
    for folder in (tmp_path, Path(runtime.home)):  # the MLflow store and its artifacts, the app database
        for path in folder.rglob("*"):
            if path.is_file():
                assert CANARY.encode() not in path.read_bytes(), path
