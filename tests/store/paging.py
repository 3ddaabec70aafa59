"""Reading every page of an executions list, for the store tests."""

from __future__ import annotations

from cagents.store import Database, ExecutionFilters


def all_pages(db: Database, filters: ExecutionFilters | None = None, limit: int = 3) -> list[str]:
    """Every id the list shows for `filters`, page by page (keyset cursors)."""
    filters = filters or ExecutionFilters()
    ids: list[str] = []
    cursor = None
    while True:
        page = db.executions.list(filters, limit=limit, cursor=cursor)
        ids += [r.id for r in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor
