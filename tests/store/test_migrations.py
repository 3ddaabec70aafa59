"""Migrations: every revision upgrades to head with rows intact; newer databases are refused."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, text

from cagents.errors import StoreError
from cagents.store import ExecutionFilters, open_database
from cagents.store.migrate import (
    HEAD_REVISION,
    KNOWN_REVISIONS,
    alembic_config,
    current_revision,
    downgrade,
    upgrade,
)
from cagents.store.models import (
    Base,
    ChatMessage,
    ChatSession,
    Deployment,
    Execution,
    ExecutionState,
    is_text_search_object,
)

T0 = datetime(2026, 2, 1, 9, 30)


def table_names(url: str) -> set[str]:
    with open_database(url, migrate=False) as db, db.read() as conn:
        return set(inspect(conn).get_table_names())


def test_known_revisions_match_the_scripts() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    chain = [rev.revision for rev in scripts.walk_revisions("base", "heads")]
    assert tuple(reversed(chain)) == KNOWN_REVISIONS
    assert scripts.get_heads() == [HEAD_REVISION]


def test_empty_database_upgrades_to_head(empty_url: str) -> None:
    with open_database(empty_url) as db:
        assert current_revision(db) == HEAD_REVISION
    ours = {name for name in table_names(empty_url) if not is_text_search_object(name)}
    assert ours == set(Base.metadata.tables) | {"alembic_version"}


def test_migrated_schema_matches_the_models(empty_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with open_database(empty_url) as db, db.read() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True,
            "include_name": lambda name, type_, parents: not is_text_search_object(name),
        })
        assert compare_metadata(context, Base.metadata) == []


def _fill_revision_0001(url: str) -> None:
    """Rows written the way a 0001 database held them (no totals table yet)."""
    with open_database(url, migrate=False) as db:
        upgrade(db, "0001")
        assert current_revision(db) == "0001"
        with db.write() as conn:
            for i in range(30):
                conn.execute(insert(Execution), {
                    "id": f"e{i:02d}", "workflow_name": "alpha" if i % 3 else "beta",
                    "status": ("completed", "failed", "running")[i % 3],
                    "config_snapshot": "flow: {}", "config_hash": "h", "inputs": json.dumps({"i": i}),
                    "started_at": T0 + timedelta(hours=7 * i), "total_cost_usd": 0.5 if i % 3 == 0 else None,
                    "deployment_id": "dep" if i % 5 == 0 else None,
                    "simulated": False, "cancel_requested": False,
                })
            conn.execute(insert(ExecutionState), {
                "execution_id": "e03", "node_id": "n1", "state_data": json.dumps({"x": 1}),
                "created_at": T0, "step": 1,
            })
            conn.execute(insert(ChatSession), {
                "session_id": "c1", "created_at": T0, "updated_at": T0, "status": "active",
            })
            conn.execute(insert(ChatMessage), {
                "session_id": "c1", "role": "user", "content": "hi", "created_at": T0,
            })
            conn.execute(insert(Deployment), {
                "deployment_id": "dep", "deployment_name": "d", "workflow_name": "alpha", "host": "h",
                "port": 80, "last_heartbeat": T0, "ttl_seconds": 60, "registered_at": T0,
            })
    assert "executions_stats" not in table_names(url)


def test_upgrade_from_0001_keeps_every_row_and_counts_them(empty_url: str) -> None:
    _fill_revision_0001(empty_url)
    with open_database(empty_url) as db:
        assert current_revision(db) == HEAD_REVISION
        assert len(db.executions.list(limit=100).items) == 30
        assert db.executions.get("e07").inputs == {"i": 7}
        assert db.executions.states("e03")[0].state_data == {"x": 1}
        assert db.chats.messages("c1")[0]["content"] == "hi"
        assert db.deployments.get("dep").port == 80
        summary = db.executions.summary()
        assert (summary.total, summary.completed, summary.failed, summary.running) == (30, 10, 10, 10)
        assert summary.total_cost_usd == pytest.approx(5.0)
        assert db.executions.workflows() == ["alpha", "beta"]
        # The backfilled totals agree with exact counts over partial days.
        window = ExecutionFilters(since=T0 + timedelta(hours=13), until=T0 + timedelta(days=5, hours=2))
        exact = [r for r in db.executions.list(limit=100).items
                 if window.since <= r.started_at < window.until]  # type: ignore[operator]
        assert db.executions.summary(window).total == len(exact)
        assert db.executions.summary(ExecutionFilters(deployment_id="dep")).total == 6


def test_open_of_a_current_database_is_one_query_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    open_database(url).close()
    code = f"""
import sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
seen = []
event.listen(Engine, "before_cursor_execute", lambda c, cur, stmt, *a: seen.append(stmt))
from cagents.store import open_database
open_database({url!r}).close()
print([s for s in seen if s not in ("BEGIN", "COMMIT", "ROLLBACK")])
print("alembic" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    statements, alembic_loaded = out.stdout.strip().splitlines()
    assert statements == "['SELECT version_num FROM alembic_version']"
    assert alembic_loaded == "False"


def test_newer_database_is_refused_and_left_untouched(empty_url: str, backend: str) -> None:
    url = empty_url
    with open_database(url) as db:
        db.executions.create(id="e", workflow_name="w", config_snapshot=None, config_hash=None, inputs=None)
        with db.write() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    path = Path(url.removeprefix("sqlite:///")) if backend == "sqlite" else None
    before = (path.read_bytes(), path.stat().st_mtime_ns) if path else None
    with pytest.raises(StoreError) as info:
        open_database(url)
    message = str(info.value)
    assert "was written by a newer cagents (revision 0099_future" in message
    assert "upgrade cagents or use another CAGENTS_DB_URL" in message
    if path is not None:
        assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    with open_database(url, migrate=False) as db, db.read() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0099_future"
        assert conn.execute(text("SELECT count(*) FROM executions")).scalar() == 1
        with pytest.raises(StoreError, match="newer cagents"):
            upgrade(db)


def test_downgrade_then_upgrade_again(empty_url: str) -> None:
    url = empty_url
    with open_database(url) as db:
        db.executions.create(id="e", workflow_name="w", config_snapshot=None, config_hash=None,
                             inputs=None, started_at=T0)
        downgrade(db, "0001")
        assert current_revision(db) == "0001"
    assert "executions_stats" not in table_names(url)
    with open_database(url) as db:
        assert db.executions.summary().total == 1
        downgrade(db, "base")
        assert current_revision(db) is None
    assert table_names(url) == {"alembic_version"}
    with open_database(url) as db:
        assert current_revision(db) == HEAD_REVISION


def test_tables_without_a_version_are_refused_without_changes(empty_url: str) -> None:
    with open_database(empty_url, migrate=False) as db, db.write() as conn:
        conn.execute(text("CREATE TABLE executions (id VARCHAR(64) PRIMARY KEY)"))
    with pytest.raises(StoreError, match=r"already has tables named like cagents' \(executions\) but no "
                       "schema revision.*use another CAGENTS_DB_URL"):
        open_database(empty_url)
    assert table_names(empty_url) == {"executions"}


def test_migration_0002_builds_day_totals_by_date(empty_url: str) -> None:
    _fill_revision_0001(empty_url)
    with open_database(empty_url) as db, db.read() as conn:
        days = conn.execute(text("SELECT DISTINCT day FROM executions_stats ORDER BY day")).scalars().all()
        total = conn.execute(text("SELECT sum(executions) FROM executions_stats")).scalar()
    parsed = [d if isinstance(d, date) else date.fromisoformat(d) for d in days]
    assert parsed[0] == T0.date() and parsed[-1] == (T0 + timedelta(hours=7 * 29)).date()
    assert total == 30
