"""Deployments: registered services, their heartbeats, and health from the heartbeat TTL."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from cagents.errors import NotFoundError
from cagents.store.models import Deployment, utcnow
from cagents.store.records import DeploymentRecord, decode_json, encode_json
from cagents.store.repositories._base import Repository, table_of, upsert
from cagents.store.repositories._checks import check_int, check_text

__all__ = ["DeploymentRepository"]

_D = table_of(Deployment)


def _record(row: Mapping[Any, Any], now: datetime) -> DeploymentRecord:
    corrupt: list[str] = []
    age = (now - row["last_heartbeat"]).total_seconds()
    return DeploymentRecord(
        deployment_id=row["deployment_id"],
        deployment_name=row["deployment_name"],
        workflow_name=row["workflow_name"],
        host=row["host"],
        port=row["port"],
        last_heartbeat=row["last_heartbeat"],
        ttl_seconds=row["ttl_seconds"],
        capabilities=decode_json(row["capabilities"], "capabilities", corrupt),
        deployment_metadata=decode_json(row["deployment_metadata"], "deployment_metadata", corrupt),
        registered_at=row["registered_at"],
        is_alive=age <= row["ttl_seconds"],
        heartbeat_age_seconds=max(age, 0.0),
        corrupt_fields=tuple(corrupt),
    )


class DeploymentRepository(Repository):
    """The `deployments` table."""

    def register(
        self,
        *,
        deployment_id: str,
        deployment_name: str,
        workflow_name: str,
        host: str,
        port: int,
        ttl_seconds: int = 60,
        capabilities: dict[str, Any] | None = None,
        deployment_metadata: dict[str, Any] | None = None,
    ) -> DeploymentRecord:
        """Add or replace a deployment (same id: a restarted service); refreshes its heartbeat.

        A re-registration keeps the first `registered_at`.
        """
        check_text("deployment_id", deployment_id, 128)
        check_text("deployment_name", deployment_name, 200)
        check_text("workflow_name", workflow_name, 200)
        check_text("host", host, 255)
        check_int("port", port, 1, 65535)
        check_int("ttl_seconds", ttl_seconds, 1)
        now = utcnow()
        changing = {
            "deployment_name": deployment_name,
            "workflow_name": workflow_name,
            "host": host,
            "port": port,
            "last_heartbeat": now,
            "ttl_seconds": ttl_seconds,
            "capabilities": encode_json(capabilities, f"capabilities of deployment '{deployment_id}'"),
            "deployment_metadata": encode_json(
                deployment_metadata, f"deployment_metadata of deployment '{deployment_id}'"
            ),
        }
        with self._db.write() as conn:
            upsert(
                conn,
                _D,
                {"deployment_id": deployment_id, "registered_at": now, **changing},
                keys=("deployment_id",),
                set_=changing,
            )
            row = conn.execute(select(_D).where(_D.c.deployment_id == deployment_id)).mappings().one()
        return _record(row, utcnow())

    def heartbeat(self, deployment_id: str) -> DeploymentRecord:
        """Note that the deployment is alive now; unknown ids must register again."""
        with self._db.write() as conn:
            result = conn.execute(
                update(_D).where(_D.c.deployment_id == deployment_id).values(last_heartbeat=utcnow())
            )
            if result.rowcount == 0:
                raise NotFoundError("deployment", deployment_id)
            row = conn.execute(select(_D).where(_D.c.deployment_id == deployment_id)).mappings().one()
        return _record(row, utcnow())

    def get(self, deployment_id: str) -> DeploymentRecord:
        with self._db.read() as conn:
            row = conn.execute(select(_D).where(_D.c.deployment_id == deployment_id)).mappings().first()
        if row is None:
            raise NotFoundError("deployment", deployment_id)
        return _record(row, utcnow())

    def list(self, *, alive: bool | None = None) -> builtins.list[DeploymentRecord]:
        """Newest registration first; `alive` keeps only the live (True) or dead (False) ones."""
        query = select(_D).order_by(_D.c.registered_at.desc(), _D.c.deployment_id)
        with self._db.read() as conn:
            rows = conn.execute(query).mappings().all()
        now = utcnow()
        records = [_record(row, now) for row in rows]
        if alive is None:
            return records
        return [record for record in records if record.is_alive == alive]

    def deregister(self, deployment_id: str) -> None:
        with self._db.write() as conn:
            result = conn.execute(delete(_D).where(_D.c.deployment_id == deployment_id))
            if result.rowcount == 0:
                raise NotFoundError("deployment", deployment_id)

    def cleanup_expired(self) -> builtins.list[str]:
        """Remove the deployments whose heartbeat is older than their TTL; returns their ids."""
        with self._db.write() as conn:
            rows = conn.execute(select(_D.c.deployment_id, _D.c.last_heartbeat, _D.c.ttl_seconds)).all()
            now = utcnow()
            expired = [
                row.deployment_id
                for row in rows
                if (now - row.last_heartbeat).total_seconds() > row.ttl_seconds
            ]
            if expired:
                conn.execute(delete(_D).where(_D.c.deployment_id.in_(expired)))
        return sorted(expired)
