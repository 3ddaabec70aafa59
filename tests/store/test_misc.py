"""The small repositories on SQLite and PostgreSQL: webhook events, registrations, memory."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import text

from cagents.errors import NotFoundError, StoreError
from cagents.store import Database


# ---- webhook events ---------------------------------------------------------------------
def test_webhook_key_is_recorded_once(db: Database) -> None:
    assert db.webhooks.record("key-1", workflow_name="research", execution_id="e1") is True
    assert db.webhooks.record("key-1", workflow_name="research", execution_id="e2") is False
    assert db.webhooks.record("key-2", workflow_name="research") is True
    first = db.webhooks.get("key-1")
    assert first["execution_id"] == "e1" and first["workflow_name"] == "research"
    assert first["received_at"].endswith("+00:00")
    with pytest.raises(NotFoundError, match="no webhook event with id 'nope'"):
        db.webhooks.get("nope")


def test_webhook_key_must_be_sensible(db: Database) -> None:
    with pytest.raises(StoreError, match="idempotency_key must be a non-empty string"):
        db.webhooks.record("", workflow_name="w")


# ---- workflow registrations -------------------------------------------------------------
def test_registration_upsert_get_list_delete(db: Database) -> None:
    db.registrations.upsert("research", "flow: {name: research}", default_inputs={"depth": 2})
    db.registrations.upsert("alpha", "flow: {name: alpha}", webhook_enabled=False)
    first = db.registrations.get("research")
    assert first["config_text"] == "flow: {name: research}" and first["webhook_enabled"] is True
    assert first["default_inputs"] == {"depth": 2} and first["corrupt_fields"] == []
    db.registrations.upsert("research", "flow: {name: research, version: '2'}")
    again = db.registrations.get("research")
    assert again["config_text"].endswith("version: '2'}") and again["default_inputs"] is None
    assert again["registered_at"] == first["registered_at"]
    assert again["updated_at"] >= first["updated_at"]
    assert [r["workflow_name"] for r in db.registrations.list()] == ["alpha", "research"]
    assert db.registrations.get("alpha")["webhook_enabled"] is False
    db.registrations.delete("alpha")
    assert [r["workflow_name"] for r in db.registrations.list()] == ["research"]


def test_unknown_registration_is_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError, match="no workflow registration with id 'x'"):
        db.registrations.get("x")
    with pytest.raises(NotFoundError):
        db.registrations.delete("x")


def test_corrupt_default_inputs(db: Database) -> None:
    db.registrations.upsert("w", "flow: {}", default_inputs={"a": 1})
    with db.write() as conn:
        conn.execute(text("UPDATE workflow_registrations SET default_inputs = 'nope'"))
    [registration] = db.registrations.list()
    assert registration["default_inputs"] is None and registration["corrupt_fields"] == ["default_inputs"]


# ---- memory -----------------------------------------------------------------------------
def test_memory_recent_is_oldest_first_among_the_newest(db: Database) -> None:
    for i in range(30):
        db.memory.add("agent", "researcher", {"note": i}, execution_id=f"e{i}")
    db.memory.add("agent", "other", "elsewhere")
    db.memory.add("workflow", "researcher", [1, 2])
    assert db.memory.recent("agent", "researcher", limit=3) == [{"note": 27}, {"note": 28}, {"note": 29}]
    assert len(db.memory.recent("agent", "researcher")) == 20
    assert db.memory.recent("agent", "other") == ["elsewhere"]
    assert db.memory.recent("workflow", "researcher") == [[1, 2]]
    assert db.memory.recent("node", "none") == []


def test_memory_values_of_any_json_type(db: Database) -> None:
    values: list[Any] = [None, 0, 1.5, "text", True, [], {"k": [None]}]
    for value in values:
        db.memory.add("node", "n", value)
    assert db.memory.recent("node", "n") == values


def test_corrupt_memory_value_is_skipped_and_logged(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    db.memory.add("agent", "a", "one")
    db.memory.add("agent", "a", "two")
    with db.write() as conn:
        conn.execute(text("UPDATE memory_records SET value = 'not json' WHERE value = '\"one\"'"))
    with caplog.at_level(logging.WARNING, logger="cagents.store"):
        assert db.memory.recent("agent", "a") == ["two"]
    assert "not JSON" in caplog.text


def test_memory_bad_arguments(db: Database) -> None:
    with pytest.raises(StoreError, match="memory scope is 21 characters long"):
        db.memory.add("x" * 21, "k", 1)
    with pytest.raises(StoreError, match="not JSON"):
        db.memory.add("agent", "k", {1, 2})
    with pytest.raises(StoreError, match="limit"):
        db.memory.recent("agent", "k", limit=0)
