"""`chat/sessions...`: chat sessions and messages are stored and read back."""

from __future__ import annotations

from typing import Any

from cagents.app import Workbench

YAML = 'schema_version: "1.0"\nflow: {name: drafted}\n'


def test_a_chat_is_created_written_listed_and_persisted(api: Any, runtime: Any) -> None:
    created = api("POST", "chat/sessions", {"user_identifier": "ada"})
    assert created.code == 201, created.body
    session = created.json
    session_id = session["session_id"]
    assert session["status"] == "active" and session["user_identifier"] == "ada"
    assert session["generated_config"] is None
    (welcome,) = session["messages"]  # a new chat starts with the assistant's welcome
    assert welcome["role"] == "assistant" and welcome["metadata"]["kind"] == "welcome"
    assert session["assistant"]["stage"] == "awaiting_description"

    first = api("POST", f"chat/sessions/{session_id}/messages",
                {"role": "user", "content": "Summarise a web page", "metadata": {"source": "panel"}})
    assert first.code == 201, first.body
    assert first.json["role"] == "user" and first.json["metadata"] == {"source": "panel"}
    second = api("POST", f"chat/sessions/{session_id}/messages", {"role": "assistant", "content": "Here it is"})
    assert second.code == 201
    assert second.json["metadata"] is None

    messages = api("GET", f"chat/sessions/{session_id}/messages").json["messages"]
    assert messages[0]["id"] == welcome["id"]
    messages = messages[1:]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "Summarise a web page"), ("assistant", "Here it is")]

    detail = api("GET", f"chat/sessions/{session_id}").json
    assert detail["session_id"] == session_id
    assert [m["id"] for m in detail["messages"]] == [welcome["id"]] + [m["id"] for m in messages]

    patched = api("PATCH", f"chat/sessions/{session_id}", {"status": "completed", "generated_config": YAML})
    assert patched.code == 200, patched.body
    assert patched.json["status"] == "completed" and patched.json["generated_config"] == YAML

    other = api("POST", "chat/sessions", {}).json
    listed = api("GET", "chat/sessions").json["sessions"]
    assert [s["session_id"] for s in listed] == [other["session_id"], session_id]  # newest first
    assert [s["session_id"] for s in api("GET", "chat/sessions", params={"limit": 1}).json["sessions"]] == [
        other["session_id"]]

    cleared = api("PATCH", f"chat/sessions/{session_id}", {"generated_config": None})
    assert cleared.json["generated_config"] is None and cleared.json["status"] == "completed"

    # Another process opening the same home reads the same chat.
    with Workbench.open(runtime.home) as again:
        stored = again.db.chats.get_session(session_id)
        assert stored["status"] == "completed" and stored["user_identifier"] == "ada"
        assert [m["content"] for m in again.db.chats.messages(session_id)][1:] == ["Summarise a web page",
                                                                                    "Here it is"]
        assert again.db.chats.messages(session_id)[1]["metadata"] == {"source": "panel"}


def test_bad_bodies_name_the_field(api: Any) -> None:
    session_id = api("POST", "chat/sessions", {}).json["session_id"]
    messages = f"chat/sessions/{session_id}/messages"
    cases = [
        ("POST", "chat/sessions", {"user_identifier": 7}, "user_identifier", 422),
        ("POST", "chat/sessions", {"user_identifier": " "}, "user_identifier", 422),
        ("POST", "chat/sessions", {"user_identifier": "u" * 201}, "user_identifier", 422),
        ("POST", "chat/sessions", {"user": "ada"}, "user", 422),
        ("PATCH", f"chat/sessions/{session_id}", {"status": "done"}, "status", 422),
        ("PATCH", f"chat/sessions/{session_id}", {}, "status", 422),
        ("PATCH", f"chat/sessions/{session_id}", {"generated_config": 1}, "generated_config", 422),
        ("POST", messages, {"role": "robot", "content": "hi"}, "role", 422),
        ("POST", messages, {"content": "hi"}, "role", 422),
        ("POST", messages, {"role": "user"}, "content", 422),
        ("POST", messages, {"role": "user", "content": ["hi"]}, "content", 422),
        ("POST", messages, {"role": "user", "content": "hi", "metadata": "x"}, "metadata", 422),
        ("POST", messages, {"role": "user", "content": "x" * 100_001}, "content", 413),
    ]
    for method, path, body, field, status in cases:
        reply = api(method, path, body)
        assert reply.code == status, (method, path, field, reply.body[:300])
        assert reply.json["field"] == field, reply.json
    too_long = api("POST", messages, {"role": "user", "content": "x" * 100_001}).json["message"]
    assert "100,001 characters" in too_long and "100,000" in too_long
    assert api("GET", "chat/sessions", params={"limit": 0}).json["field"] == "limit"
    stored = api("GET", messages).json["messages"]
    assert [m["metadata"]["kind"] for m in stored] == ["welcome"]  # nothing refused was stored


def test_unknown_sessions_are_404(api: Any) -> None:
    for method, path, body in (
        ("GET", "chat/sessions/nope", None),
        ("PATCH", "chat/sessions/nope", {"status": "abandoned"}),
        ("GET", "chat/sessions/nope/messages", None),
        ("POST", "chat/sessions/nope/messages", {"role": "user", "content": "hi"}),
    ):
        reply = api(method, path, body)
        assert reply.code == 404, (method, path)
        assert reply.json == {"error": "NotFoundError", "message": "no chat session with id 'nope'", "status": 404}


def test_anonymous_and_browser_writes_without_xsrf_are_refused(api: Any) -> None:
    session_id = api("POST", "chat/sessions", {}).json["session_id"]
    for method, path in (("GET", "chat/sessions"), ("POST", "chat/sessions"), ("GET", f"chat/sessions/{session_id}"),
                         ("PATCH", f"chat/sessions/{session_id}"), ("GET", f"chat/sessions/{session_id}/messages"),
                         ("POST", f"chat/sessions/{session_id}/messages")):
        assert api.anonymous(method, path, {} if method != "GET" else None).code == 403, (method, path)
    cookies = api.browser_cookies()
    message = {"role": "user", "content": "hi"}
    path = f"chat/sessions/{session_id}/messages"
    assert api.browser("POST", path, message, cookies=cookies, xsrf=None).code == 403
    assert api.browser("PATCH", f"chat/sessions/{session_id}", {"status": "abandoned"}, cookies=cookies,
                       xsrf=None).code == 403
    assert api.browser("POST", path, message, cookies=cookies, xsrf="abc123").code == 201
    assert api.browser("GET", path, cookies=cookies, xsrf=None).code == 200
    assert [m["content"] for m in api("GET", path).json["messages"]][1:] == ["hi"]
