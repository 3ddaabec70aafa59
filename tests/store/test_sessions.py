"""SessionStateRepository on SQLite and PostgreSQL: claims, heartbeats, stale owners."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import DateTime, bindparam, text

from cagents.errors import NotFoundError
from cagents.store import Database
from cagents.store.models import utcnow


def run(db: Database, *ids: str) -> None:
    for id in ids:
        db.executions.create(id=id, workflow_name="w", config_snapshot=None, config_hash=None, inputs=None)


def age_owner(db: Database, owner: str, seconds: float) -> None:
    with db.write() as conn:
        conn.execute(
            # Typed parameter: SQLAlchemy formats the time itself, whatever global sqlite3
            # datetime adapter another library (nbformat) may have registered.
            text("UPDATE session_state SET heartbeat_at = :t WHERE owner_id = :o").bindparams(
                bindparam("t", type_=DateTime)),
            {"t": utcnow() - timedelta(seconds=seconds), "o": owner},
        )


def test_claim_and_owned_by(db: Database) -> None:
    run(db, "e1", "e2", "e3")
    db.sessions.claim("e1", owner_id="p1", pid=100, hostname="h")
    db.sessions.claim("e2", owner_id="p1", pid=100, hostname="h")
    db.sessions.claim("e3", owner_id="p2", pid=200, hostname="h")
    assert db.sessions.owned_by("p1") == ["e1", "e2"]
    assert db.sessions.owned_by("p2") == ["e3"]
    assert db.sessions.owned_by("nobody") == []


def test_claim_takes_over_from_a_previous_owner(db: Database) -> None:
    run(db, "e1")
    db.sessions.claim("e1", owner_id="old", pid=1, hostname="h")
    db.sessions.claim("e1", owner_id="new", pid=2, hostname="h2")
    assert db.sessions.owned_by("old") == [] and db.sessions.owned_by("new") == ["e1"]


def test_claim_of_unknown_execution(db: Database) -> None:
    with pytest.raises(NotFoundError, match="no execution with id 'ghost'"):
        db.sessions.claim("ghost", owner_id="p", pid=1, hostname="h")


def test_heartbeat_and_stale(db: Database) -> None:
    run(db, "e1", "e2", "e3")
    db.sessions.claim("e1", owner_id="alive", pid=1, hostname="h")
    db.sessions.claim("e2", owner_id="dead", pid=2, hostname="h")
    db.sessions.claim("e3", owner_id="dead", pid=2, hostname="h")
    age_owner(db, "dead", 300)
    age_owner(db, "alive", 300)
    assert db.sessions.heartbeat("alive") == 1
    assert db.sessions.heartbeat("nobody") == 0
    assert db.sessions.stale(older_than_seconds=60) == ["e2", "e3"]
    assert db.sessions.stale(older_than_seconds=600) == []


def test_release_is_idempotent(db: Database) -> None:
    run(db, "e1")
    db.sessions.claim("e1", owner_id="p", pid=1, hostname="h")
    db.sessions.release("e1")
    db.sessions.release("e1")
    db.sessions.release("never-claimed")
    assert db.sessions.owned_by("p") == []
