"""The app database: executions and their checkpoints, deployments, chats, internal tables.

`import cagents.store` is cheap: SQLAlchemy is imported when a name below that needs it is
first used (`open_database`, `Database`, the repositories). Records and paths load without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cagents.store.db import Database, open_database
    from cagents.store.home import default_database_url, workbench_home
    from cagents.store.records import (
        DeploymentRecord,
        ExecutionFilters,
        ExecutionRecord,
        Page,
        StateRecord,
        Summary,
    )
    from cagents.store.repositories import (
        ChatRepository,
        DeploymentRepository,
        ExecutionRepository,
        MemoryRepository,
        SessionStateRepository,
        StateRepository,
        WebhookEventRepository,
        WorkflowRegistrationRepository,
    )

__all__ = [
    "ChatRepository",
    "Database",
    "DeploymentRecord",
    "DeploymentRepository",
    "ExecutionFilters",
    "ExecutionRecord",
    "ExecutionRepository",
    "MemoryRepository",
    "Page",
    "SessionStateRepository",
    "StateRecord",
    "StateRepository",
    "Summary",
    "WebhookEventRepository",
    "WorkflowRegistrationRepository",
    "default_database_url",
    "open_database",
    "workbench_home",
]

_LAZY = {
    "Database": "cagents.store.db",
    "open_database": "cagents.store.db",
    "default_database_url": "cagents.store.home",
    "workbench_home": "cagents.store.home",
    "DeploymentRecord": "cagents.store.records",
    "ExecutionFilters": "cagents.store.records",
    "ExecutionRecord": "cagents.store.records",
    "Page": "cagents.store.records",
    "StateRecord": "cagents.store.records",
    "Summary": "cagents.store.records",
    "ChatRepository": "cagents.store.repositories",
    "DeploymentRepository": "cagents.store.repositories",
    "ExecutionRepository": "cagents.store.repositories",
    "MemoryRepository": "cagents.store.repositories",
    "SessionStateRepository": "cagents.store.repositories",
    "StateRepository": "cagents.store.repositories",
    "WebhookEventRepository": "cagents.store.repositories",
    "WorkflowRegistrationRepository": "cagents.store.repositories",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cagents.store' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
