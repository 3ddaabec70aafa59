"""`GET executions/{id}/events`: Server-Sent Events read by a real HTTP client.

Runs that must be caught mid-way wait at a gate inside the scripted LLM server (node n2
blocks until the test opens it), so "the stream followed a live run" is a fact, not a race.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from app.dbview import APPROVAL, CHAIN4, dump_database, echo, rows, state_rows, wait_for
from cagents.app import Workbench, run_workflow
from cagents.jupyter.handlers.events import EventsHandler
from support.llm_server import Reply, ScriptedLLMServer

CANARY = "sk-canary-5e1b7d3a90c4"
NODES = ["n1", "n2", "n3", "n4"]


@dataclass
class Sse:
    type: str
    data: Any
    id: str | None


@dataclass
class Stream:
    code: int
    headers: Any
    raw: str
    events: list[Sse] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    def types(self) -> list[str]:
        return [event.type for event in self.events]

    def of(self, kind: str) -> list[Any]:
        return [event.data for event in self.events if event.type == kind]


def read_events(
    api: Any, path: str, *, headers: dict[str, str] | None = None,
    on_chunk: Callable[[bytes], None] | None = None, token: bool = True,
) -> Stream:
    """GET an event stream to its end, as a browser's EventSource reads it."""
    chunks: list[bytes] = []

    def collect(chunk: bytes) -> None:
        chunks.append(chunk)
        if on_chunk is not None:
            on_chunk(chunk)

    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"token {api.token}"
    request = HTTPRequest(api.url(path), headers=sent, streaming_callback=collect, request_timeout=0)
    response = api.run(AsyncHTTPClient().fetch(request, raise_error=False))
    raw = b"".join(chunks).decode()
    stream = Stream(response.code, response.headers, raw)
    for block in raw.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":"):
                stream.comments.append(line[1:].strip())
            elif line:
                name, _, value = line.partition(": ")
                fields[name] = value
        if "event" in fields:
            stream.events.append(Sse(fields["event"], json.loads(fields["data"]), fields.get("id")))
    return stream


def gated(gate: threading.Event) -> Callable[[dict[str, Any]], Reply]:
    """The echo answers, with node n2 held until `gate` opens (the server serves in its own thread)."""
    answer = echo()

    def respond(body: dict[str, Any]) -> Reply:
        if body["messages"][-1]["content"].startswith("n2 "):
            gate.wait(100)
        return answer(body)

    return respond


def llm(server: ScriptedLLMServer) -> dict[str, str]:
    return {"CAGENTS_LLM_BASE_URL": server.url, "CAGENTS_LLM_API_KEY": CANARY}


def start(api: Any, yaml: str, inputs: dict[str, Any], env: dict[str, str] | None = None) -> str:
    reply = api("POST", "runs", {"yaml": yaml, "inputs": inputs, "env": env or {}})
    assert reply.code == 202, reply.body
    return str(reply.json["execution_id"])


def node_events(stream: Stream) -> list[tuple[str, str]]:
    return [(e.type, e.data["node_id"]) for e in stream.events if e.type in ("node_started", "node_finished")]


def test_a_live_run_streams_every_event_in_order(api: Any, runtime: Any, llm_server: ScriptedLLMServer) -> None:
    gate = threading.Event()
    llm_server.responder = gated(gate)
    execution_id = start(api, CHAIN4, {"seed": "s"}, llm(llm_server))
    run = api.run(runtime.live()).get(execution_id)
    seen_while_running: list[bool] = []

    def first_chunk(chunk: bytes) -> None:
        if not seen_while_running:
            seen_while_running.append(not run.done)
            gate.set()

    stream = read_events(api, f"executions/{execution_id}/events", on_chunk=first_chunk)
    assert stream.code == 200
    assert stream.headers["Content-Type"] == "text/event-stream"
    assert stream.headers["Cache-Control"] == "no-cache"
    assert stream.headers["X-Accel-Buffering"] == "no"
    assert seen_while_running == [True]  # the client was connected before the run ended
    assert stream.types()[:2] == ["execution_accepted", "execution_started"]
    assert node_events(stream) == [(kind, node) for node in NODES for kind in ("node_started", "node_finished")]
    assert stream.types()[-2:] == ["execution_finished", "end"]
    assert stream.of("execution_finished")[0]["status"] == "completed"
    assert stream.of("end") == [{"execution_id": execution_id, "status": "completed"}]
    assert [e.id for e in stream.events[:-1]] == [str(i) for i in range(len(stream.events) - 1)]
    assert stream.of("node_finished")[-1]["outputs"] == {"d": "s+n1+n2+n3+n4"}


def test_last_event_id_resumes_after_that_event(api: Any) -> None:
    execution_id = start(api, CHAIN4, {"seed": "s"})
    whole = read_events(api, f"executions/{execution_id}/events")
    again = read_events(api, f"executions/{execution_id}/events", headers={"Last-Event-ID": "3"})
    assert [e.id for e in again.events[:-1]] == [e.id for e in whole.events[4:-1]]
    assert again.events == whole.events[4:]
    by_query = read_events(api, f"executions/{execution_id}/events?last_event_id=3")
    assert by_query.events == again.events


def test_a_human_node_run_streams_until_it_waits(api: Any) -> None:
    execution_id = start(api, APPROVAL, {"news": "n"})
    stream = read_events(api, f"executions/{execution_id}/events")
    (waiting,) = stream.of("execution_waiting")
    assert waiting["node_id"] == "review"
    assert set(waiting["fields"]) == {"approved", "notes"}
    assert stream.types()[-3:] == ["execution_waiting", "execution_finished", "end"]
    assert stream.of("end")[0]["status"] == "waiting"


def test_a_finished_execution_of_another_process_gives_its_checkpoints_and_snapshot(
    api: Any, runtime: Any
) -> None:
    with Workbench.open(runtime.home) as other:  # the CLI's view of the same home
        result = run_workflow(other, CHAIN4, {"seed": "s"})
        paused = run_workflow(other, APPROVAL, {"news": "n"})
    assert result.status == "completed" and paused.status == "waiting"

    stream = read_events(api, f"executions/{result.execution_id}/events")
    assert stream.code == 200
    assert stream.types() == ["state"] * 4 + ["execution", "end"]
    states = stream.of("state")
    assert [s["node_id"] for s in states] == NODES
    assert [s["step"] for s in states] == [1, 2, 3, 4]
    assert all("state_data" not in s and "state" not in s for s in states)
    ids = [row["id"] for row in state_rows(Path(runtime.home) / "configurable_agents.db", result.execution_id)]
    assert [e.id for e in stream.events if e.type == "state"] == [f"state-{i}" for i in ids]
    (snapshot,) = stream.of("execution")
    assert snapshot["status"] == "completed"
    assert snapshot["nodes_finished"] == 4 and snapshot["last_node"] == "n4"
    assert snapshot["total_tokens"] == result.total_tokens
    assert snapshot["total_cost_usd"] == result.total_cost_usd
    assert stream.of("end")[0]["status"] == "completed"

    resumed = read_events(api, f"executions/{result.execution_id}/events", headers={"Last-Event-ID": f"state-{ids[1]}"})
    assert [s["node_id"] for s in resumed.of("state")] == ["n3", "n4"]
    assert resumed.of("execution") == [snapshot]

    waiting = read_events(api, f"executions/{paused.execution_id}/events")
    (snapshot,) = waiting.of("execution")
    assert snapshot["status"] == "waiting"
    assert snapshot["waiting_for"]["node_id"] == "review"
    assert waiting.types()[-1] == "end"


def test_a_run_of_another_process_is_followed_while_it_runs(
    api: Any, runtime: Any, llm_server: ScriptedLLMServer
) -> None:
    gate = threading.Event()
    llm_server.responder = gated(gate)
    db_file = Path(runtime.home) / "configurable_agents.db"
    results: list[Any] = []
    with Workbench.open(runtime.home) as other:
        worker = threading.Thread(
            target=lambda: results.append(run_workflow(other, CHAIN4, {"seed": "s"}, env=llm(llm_server))))
        worker.start()
        try:
            execution_id = wait_for(lambda: rows(db_file, "SELECT execution_id FROM execution_states"),
                                    "the first checkpoint")[0]["execution_id"]
            stream = read_events(api, f"executions/{execution_id}/events", on_chunk=lambda chunk: gate.set())
        finally:
            gate.set()
            worker.join()
    assert results[0].status == "completed"
    snapshots = stream.of("execution")
    assert snapshots[0]["status"] == "running" and snapshots[0]["nodes_finished"] == 1
    assert snapshots[-1]["status"] == "completed" and snapshots[-1]["nodes_finished"] == 4
    assert [s["node_id"] for s in stream.of("state")] == NODES
    assert stream.types()[-1] == "end"


def test_idle_streams_get_keep_alive_comments(
    api: Any, llm_server: ScriptedLLMServer, monkeypatch: Any
) -> None:
    monkeypatch.setattr(EventsHandler, "keepalive_seconds", 0.05)
    gate = threading.Event()
    llm_server.responder = gated(gate)
    execution_id = start(api, CHAIN4, {"seed": "s"}, llm(llm_server))

    def open_on_keepalive(chunk: bytes) -> None:
        if b": keep-alive" in chunk:
            gate.set()

    stream = read_events(api, f"executions/{execution_id}/events", on_chunk=open_on_keepalive)
    assert "keep-alive" in stream.comments
    assert stream.of("end")[0]["status"] == "completed"


async def leave_after_the_first_event(api: Any, path: str) -> bytes:
    """Read a stream until its first event, then hang up (a closed browser tab)."""
    url = urlsplit(api.url(path))
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(f"GET {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                 f"Authorization: token {api.token}\r\n\r\n".encode())
    await writer.drain()
    received = b""
    while b"event: " not in received:
        received += await reader.read(4096)
    writer.close()
    await writer.wait_closed()
    return received


def test_a_client_that_leaves_ends_its_stream_but_not_the_run(
    api: Any, runtime: Any, llm_server: ScriptedLLMServer, caplog: Any
) -> None:
    gate = threading.Event()
    llm_server.responder = gated(gate)
    execution_id = start(api, CHAIN4, {"seed": "s"}, llm(llm_server))
    path = f"executions/{execution_id}/events"
    try:
        received = api.run(leave_after_the_first_event(api, path))
        assert received.startswith(b"HTTP/1.1 200") and b"event: execution_accepted" in received

        def stream_logged() -> bool:  # the server logs a request when its handler is done
            return any(path in r.getMessage() and "GET" in r.getMessage() for r in caplog.records)

        while not stream_logged():
            api.run(asyncio.sleep(0.02))
        run = api.run(runtime.live()).get(execution_id)
        assert not run.done  # the stream ended while the run still waits at n2
    finally:
        gate.set()
    result = api.run(run.wait())
    assert result.status == "completed"
    assert read_events(api, path).of("end")[0]["status"] == "completed"
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_unknown_ids_and_anonymous_clients(api: Any) -> None:
    missing = read_events(api, "executions/nope/events")
    assert missing.code == 404
    assert json.loads(missing.raw) == {"error": "NotFoundError", "message": "no execution with id 'nope'",
                                       "status": 404}
    execution_id = start(api, CHAIN4, {"seed": "s"})
    assert read_events(api, f"executions/{execution_id}/events", token=False).code == 403


def test_a_secret_in_env_is_used_and_appears_nowhere(
    api: Any, runtime: Any, llm_server: ScriptedLLMServer
) -> None:
    llm_server.responder = echo()
    started = api("POST", "runs", {"yaml": CHAIN4, "inputs": {"seed": "s"}, "env": llm(llm_server)})
    assert started.code == 202
    stream = read_events(api, f"executions/{started.json['execution_id']}/events")
    waited = api("POST", "runs", {"yaml": CHAIN4, "inputs": {"seed": "t"}, "env": llm(llm_server), "wait": True})
    assert waited.code == 200
    assert waited.json["outputs"]["d"] == "t+n1+n2+n3+n4"

    # The key was really used, for every call of both runs.
    assert len(llm_server.requests) == 8
    assert all(h.get("authorization") == f"Bearer {CANARY}" for h in llm_server.request_headers)
    assert stream.types()[-1] == "end"
    text = dump_database(Path(runtime.home) / "configurable_agents.db")
    assert "chain4" in text
    for shown in (started.body.decode(), waited.body.decode(), stream.raw, text):
        assert CANARY not in shown
