"""Workflows reachable by webhooks (`workflow_registrations`), with the config each one runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select

from cagents.errors import NotFoundError
from cagents.store.models import WorkflowRegistration, utcnow
from cagents.store.records import decode_json, encode_json, iso
from cagents.store.repositories._base import Repository, table_of, upsert
from cagents.store.repositories._checks import check_text

__all__ = ["WorkflowRegistrationRepository"]

_R = table_of(WorkflowRegistration)


def _registration(row: Mapping[Any, Any]) -> dict[str, Any]:
    corrupt: list[str] = []
    return {
        "workflow_name": row["workflow_name"],
        "config_text": row["config_text"],
        "registered_at": iso(row["registered_at"]),
        "updated_at": iso(row["updated_at"]),
        "webhook_enabled": bool(row["webhook_enabled"]),
        "default_inputs": decode_json(row["default_inputs"], "default_inputs", corrupt),
        "corrupt_fields": corrupt,
    }


class WorkflowRegistrationRepository(Repository):
    """The `workflow_registrations` table."""

    def upsert(
        self,
        workflow_name: str,
        config_text: str,
        *,
        webhook_enabled: bool = True,
        default_inputs: dict[str, Any] | None = None,
    ) -> None:
        """Register a workflow, or replace its config (keeping the first `registered_at`)."""
        check_text("workflow_name", workflow_name, 200)
        check_text("config_text", config_text, 10_000_000)
        now = utcnow()
        changing = {
            "config_text": config_text,
            "updated_at": now,
            "webhook_enabled": bool(webhook_enabled),
            "default_inputs": encode_json(default_inputs, f"default_inputs of workflow '{workflow_name}'"),
        }
        with self._db.write() as conn:
            upsert(
                conn,
                _R,
                {"workflow_name": workflow_name, "registered_at": now, **changing},
                keys=("workflow_name",),
                set_=changing,
            )

    def get(self, workflow_name: str) -> dict[str, Any]:
        with self._db.read() as conn:
            row = conn.execute(select(_R).where(_R.c.workflow_name == workflow_name)).mappings().first()
        if row is None:
            raise NotFoundError("workflow registration", workflow_name)
        return _registration(row)

    def list(self) -> list[dict[str, Any]]:
        """Every registration, by workflow name."""
        with self._db.read() as conn:
            rows = conn.execute(select(_R).order_by(_R.c.workflow_name)).mappings().all()
        return [_registration(row) for row in rows]

    def delete(self, workflow_name: str) -> None:
        with self._db.write() as conn:
            result = conn.execute(delete(_R).where(_R.c.workflow_name == workflow_name))
            if result.rowcount == 0:
                raise NotFoundError("workflow registration", workflow_name)
