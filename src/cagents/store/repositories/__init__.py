"""One repository per table group; each method runs in its own transaction.

Reached through `Database` attributes (`db.executions`, `db.deployments`, ...); the
modules import SQLAlchemy, so import them only once a database is open.
"""

from __future__ import annotations

from cagents.store.repositories.chats import ChatRepository
from cagents.store.repositories.deployments import DeploymentRepository
from cagents.store.repositories.executions import ExecutionRepository
from cagents.store.repositories.memory import MemoryRepository
from cagents.store.repositories.registrations import WorkflowRegistrationRepository
from cagents.store.repositories.sessions import SessionStateRepository
from cagents.store.repositories.states import StateRepository
from cagents.store.repositories.webhooks import WebhookEventRepository

__all__ = [
    "ChatRepository",
    "DeploymentRepository",
    "ExecutionRepository",
    "MemoryRepository",
    "SessionStateRepository",
    "StateRepository",
    "WebhookEventRepository",
    "WorkflowRegistrationRepository",
]
