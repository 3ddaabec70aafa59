"""ChatRepository on SQLite and PostgreSQL: sessions and messages."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import text

from cagents.errors import NotFoundError, StoreError
from cagents.store import Database


def test_create_and_get_session(db: Database) -> None:
    created = db.chats.create_session(user_identifier="browser-1")
    assert len(created["session_id"]) == 32 and created["status"] == "active"
    assert created["generated_config"] is None and created["created_at"].endswith("+00:00")
    assert db.chats.get_session(created["session_id"]) == created
    json.dumps(created)


def test_given_session_id_and_duplicates(db: Database) -> None:
    db.chats.create_session(session_id="s1")
    with pytest.raises(StoreError, match="'s1' already exists"):
        db.chats.create_session(session_id="s1")
    with pytest.raises(StoreError, match="session_id is 65 characters long"):
        db.chats.create_session(session_id="x" * 65)


def test_unknown_session_is_not_found(db: Database) -> None:
    for call in (
        lambda: db.chats.get_session("nope"),
        lambda: db.chats.update_session("nope", status="completed"),
        lambda: db.chats.add_message("nope", role="user", content="hi"),
        lambda: db.chats.messages("nope"),
    ):
        with pytest.raises(NotFoundError, match="no chat session with id 'nope'"):
            call()


def test_messages_in_order_with_metadata(db: Database) -> None:
    db.chats.create_session(session_id="s1")
    assert db.chats.messages("s1") == []
    first = db.chats.add_message("s1", role="user", content="Build me a researcher")
    second = db.chats.add_message("s1", role="assistant", content="flow: ...",
                                  metadata={"model": "gpt-4o-mini", "tokens": 120})
    messages = db.chats.messages("s1")
    assert [m["id"] for m in messages] == [first["id"], second["id"]]
    assert messages[1] == second
    assert messages[1]["metadata"] == {"model": "gpt-4o-mini", "tokens": 120}
    assert messages[0]["metadata"] is None and messages[0]["corrupt_fields"] == []


def test_update_session_status_and_config(db: Database) -> None:
    db.chats.create_session(session_id="s1")
    updated = db.chats.update_session("s1", generated_config="schema_version: '1.0'")
    assert updated["generated_config"] == "schema_version: '1.0'" and updated["status"] == "active"
    done = db.chats.update_session("s1", status="completed")
    assert done["status"] == "completed" and done["generated_config"] == "schema_version: '1.0'"
    cleared = db.chats.update_session("s1", generated_config=None)
    assert cleared["generated_config"] is None
    with pytest.raises(StoreError, match="unknown chat session status 'done'; use one of: active"):
        db.chats.update_session("s1", status="done")


def test_list_sessions_most_recent_first(db: Database) -> None:
    for name in ("a", "b", "c"):
        db.chats.create_session(session_id=name)
        time.sleep(0.002)
    db.chats.add_message("a", role="user", content="back again")
    assert [s["session_id"] for s in db.chats.list_sessions()] == ["a", "c", "b"]
    assert [s["session_id"] for s in db.chats.list_sessions(limit=2)] == ["a", "c"]
    with pytest.raises(StoreError, match="limit"):
        db.chats.list_sessions(limit=0)


def test_corrupt_metadata_does_not_hide_the_message(db: Database) -> None:
    db.chats.create_session(session_id="s1")
    db.chats.add_message("s1", role="assistant", content="x", metadata={"a": 1})
    with db.write() as conn:
        conn.execute(text("UPDATE chat_messages SET message_metadata = 'oops'"))
    [message] = db.chats.messages("s1")
    assert message["content"] == "x" and message["metadata"] is None
    assert message["corrupt_fields"] == ["metadata"]
