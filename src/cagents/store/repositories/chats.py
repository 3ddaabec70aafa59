"""Chat sessions and their messages, as the chat panel shows and resumes them.

Returns JSON-able dicts (ISO times with a UTC offset); message metadata is decoded, and a
corrupt value reads as None with its name in `corrupt_fields`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update

from cagents.errors import NotFoundError, StoreError
from cagents.store.models import ChatMessage, ChatSession, utcnow
from cagents.store.records import decode_json, encode_json, iso
from cagents.store.repositories._base import Repository, inserted_id, table_of
from cagents.store.repositories._checks import check_choice, check_int, check_text

__all__ = ["CHAT_STATUSES", "ChatRepository"]

CHAT_STATUSES = ("active", "completed", "abandoned")
_CS = table_of(ChatSession)
_CM = table_of(ChatMessage)
_UNSET: Any = object()


def _session(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "session_id": row["session_id"],
        "user_identifier": row["user_identifier"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "generated_config": row["generated_config"],
        "status": row["status"],
    }


def _message(row: Mapping[Any, Any]) -> dict[str, Any]:
    corrupt: list[str] = []
    metadata = decode_json(row["message_metadata"], "metadata", corrupt)
    return {
        "id": row["id"],
        "session_id": row["session_id"],
        "role": row["role"],
        "content": row["content"],
        "created_at": iso(row["created_at"]),
        "metadata": metadata,
        "corrupt_fields": corrupt,
    }


class ChatRepository(Repository):
    """The `chat_sessions` and `chat_messages` tables."""

    def create_session(
        self, *, session_id: str | None = None, user_identifier: str | None = None
    ) -> dict[str, Any]:
        """A new active session (a random id unless given)."""
        session_id = session_id or uuid.uuid4().hex
        check_text("session_id", session_id, 64)
        check_text("user_identifier", user_identifier, 200, optional=True)
        now = utcnow()
        values = {
            "session_id": session_id,
            "user_identifier": user_identifier,
            "created_at": now,
            "updated_at": now,
            "generated_config": None,
            "status": "active",
        }
        with self._db.write() as conn:
            exists = conn.execute(select(_CS.c.session_id).where(_CS.c.session_id == session_id)).first()
            if exists is not None:
                raise StoreError(f"a chat session with id '{session_id}' already exists")
            conn.execute(insert(_CS), values)
        return _session(values)

    def get_session(self, session_id: str) -> dict[str, Any]:
        with self._db.read() as conn:
            row = conn.execute(select(_CS).where(_CS.c.session_id == session_id)).mappings().first()
        if row is None:
            raise NotFoundError("chat session", session_id)
        return _session(row)

    def list_sessions(self, *, limit: int = 50) -> list[dict[str, Any]]:
        """Most recently active first."""
        check_int("limit", limit, 1, 1000)
        query = select(_CS).order_by(_CS.c.updated_at.desc(), _CS.c.session_id).limit(limit)
        with self._db.read() as conn:
            return [_session(row) for row in conn.execute(query).mappings()]

    def update_session(
        self,
        session_id: str,
        *,
        status: str | None = None,
        generated_config: str | None = _UNSET,
    ) -> dict[str, Any]:
        """Change the status and/or the generated YAML (None clears it); returns the session."""
        values: dict[str, Any] = {"updated_at": utcnow()}
        if status is not None:
            check_choice("chat session status", status, CHAT_STATUSES)
            values["status"] = status
        if generated_config is not _UNSET:
            values["generated_config"] = generated_config
        with self._db.write() as conn:
            result = conn.execute(update(_CS).where(_CS.c.session_id == session_id).values(**values))
            if result.rowcount == 0:
                raise NotFoundError("chat session", session_id)
            row = conn.execute(select(_CS).where(_CS.c.session_id == session_id)).mappings().one()
        return _session(row)

    def add_message(
        self,
        session_id: str,
        *,
        role: str,
        content: str,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Append a message (the session's `updated_at` moves with it)."""
        check_text("role", role, 20)
        now = utcnow()
        values = {
            "session_id": session_id,
            "role": role,
            "content": content if isinstance(content, str) else str(content),
            "created_at": now,
            "message_metadata": encode_json(metadata, f"metadata of a message of chat '{session_id}'"),
        }
        with self._db.write() as conn:
            touched = conn.execute(
                update(_CS).where(_CS.c.session_id == session_id).values(updated_at=now)
            )
            if touched.rowcount == 0:
                raise NotFoundError("chat session", session_id)
            result = conn.execute(insert(_CM), values)
            message_id = inserted_id(result)
        return _message({"id": message_id, **values})

    def messages(self, session_id: str) -> list[dict[str, Any]]:
        """Every message of a session, oldest first."""
        query = select(_CM).where(_CM.c.session_id == session_id).order_by(_CM.c.id)
        with self._db.read() as conn:
            rows = conn.execute(query).mappings().all()
            if not rows and conn.execute(
                select(_CS.c.session_id).where(_CS.c.session_id == session_id)
            ).first() is None:
                raise NotFoundError("chat session", session_id)
        return [_message(row) for row in rows]
