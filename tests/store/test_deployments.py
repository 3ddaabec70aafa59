"""DeploymentRepository on SQLite and PostgreSQL: register, heartbeat, health, cleanup."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import DateTime, bindparam, text

from cagents.errors import NotFoundError, StoreError
from cagents.store import Database
from cagents.store.models import utcnow


def register(db: Database, id: str = "dep-1", **kw: Any) -> Any:
    args: dict[str, Any] = {
        "deployment_id": id, "deployment_name": f"{id}-name", "workflow_name": "research",
        "host": "127.0.0.1", "port": 8080, "capabilities": {"tools": ["web_search"]},
        "deployment_metadata": {"image": "x:1"},
    }
    args.update(kw)
    return db.deployments.register(**args)


def age(db: Database, id: str, seconds: float) -> None:
    """Move a heartbeat into the past, as if the service had gone quiet."""
    with db.write() as conn:
        conn.execute(
            # Typed parameter: SQLAlchemy formats the time itself, whatever global sqlite3
            # datetime adapter another library (nbformat) may have registered.
            text("UPDATE deployments SET last_heartbeat = :t WHERE deployment_id = :id").bindparams(
                bindparam("t", type_=DateTime)),
            {"t": utcnow() - timedelta(seconds=seconds), "id": id},
        )


def test_register_and_get(db: Database) -> None:
    record = register(db, ttl_seconds=30)
    assert record.is_alive and record.ttl_seconds == 30 and record.port == 8080
    assert record.capabilities == {"tools": ["web_search"]} and record.deployment_metadata == {"image": "x:1"}
    assert 0 <= record.heartbeat_age_seconds < 5
    got = db.deployments.get("dep-1")
    assert (got.deployment_name, got.workflow_name, got.host) == ("dep-1-name", "research", "127.0.0.1")
    assert got.registered_at == record.registered_at and got.corrupt_fields == ()
    data = got.to_dict()
    assert data["is_alive"] is True and data["registered_at"].endswith("+00:00")


def test_register_again_replaces_but_keeps_first_registration(db: Database) -> None:
    first = register(db)
    age(db, "dep-1", 500)
    assert not db.deployments.get("dep-1").is_alive
    second = register(db, port=9090, host="10.0.0.2", capabilities=None)
    assert second.port == 9090 and second.host == "10.0.0.2" and second.capabilities is None
    assert second.is_alive and second.registered_at == first.registered_at
    assert len(db.deployments.list()) == 1


def test_heartbeat_revives(db: Database) -> None:
    register(db)
    age(db, "dep-1", 120)
    dead = db.deployments.get("dep-1")
    assert not dead.is_alive and dead.heartbeat_age_seconds >= 119
    alive = db.deployments.heartbeat("dep-1")
    assert alive.is_alive and alive.heartbeat_age_seconds < 5


def test_unknown_deployment_is_not_found(db: Database) -> None:
    for call in (
        lambda: db.deployments.get("ghost"),
        lambda: db.deployments.heartbeat("ghost"),
        lambda: db.deployments.deregister("ghost"),
    ):
        with pytest.raises(NotFoundError, match="no deployment with id 'ghost'"):
            call()


def test_list_filters_by_health(db: Database) -> None:
    register(db, "a")
    register(db, "b")
    register(db, "c", ttl_seconds=1000)
    age(db, "b", 61)
    age(db, "c", 900)
    assert sorted(d.deployment_id for d in db.deployments.list()) == ["a", "b", "c"]
    assert sorted(d.deployment_id for d in db.deployments.list(alive=True)) == ["a", "c"]
    assert [d.deployment_id for d in db.deployments.list(alive=False)] == ["b"]


def test_deregister_and_cleanup_expired(db: Database) -> None:
    for name in ("a", "b", "c"):
        register(db, name)
    age(db, "a", 3600)
    age(db, "c", 61)
    assert db.deployments.cleanup_expired() == ["a", "c"]
    assert db.deployments.cleanup_expired() == []
    db.deployments.deregister("b")
    assert db.deployments.list() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port": 0}, "port must be between 1 and 65535"),
        ({"port": "80"}, "port must be an integer"),
        ({"ttl_seconds": 0}, "ttl_seconds must be at least 1"),
        ({"host": ""}, "host must be a non-empty string"),
        ({"deployment_id": "x" * 129}, "deployment_id is 129 characters long"),
        ({"capabilities": {"f": {1, 2}}}, "capabilities of deployment .* not JSON"),
    ],
)
def test_bad_registration(db: Database, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(StoreError, match=message):
        register(db, **kwargs)
    assert db.deployments.list() == []


def test_corrupt_capabilities_do_not_hide_the_deployment(db: Database) -> None:
    register(db)
    with db.write() as conn:
        conn.execute(text("UPDATE deployments SET capabilities = '{{' "))
    [record] = db.deployments.list()
    assert record.capabilities is None and record.corrupt_fields == ("capabilities",)
    assert record.deployment_metadata == {"image": "x:1"}
