"""Revision 0003: existing executions become searchable through the index; downgrade removes it.

Also what happens without the index: an SQLite lacking FTS5 (simulated by a head database
without the table) and a PostgreSQL role that may not create `pg_trgm` both migrate and
keep searching by scan.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, make_url, text

from cagents.store import Database, ExecutionFilters, open_database
from cagents.store.migrate import HEAD_REVISION, current_revision, downgrade, upgrade
from cagents.store.models import TEXT_SEARCH_INDEX, TEXT_SEARCH_TABLE, Execution

T0 = datetime(2026, 4, 1, 8, 0)


def _rows(start: int, count: int, error: str) -> list[dict[str, Any]]:
    return [
        {"id": f"old-{i:03d}", "workflow_name": ("mailer", "Report_Builder")[i % 2],
         "status": ("completed", "failed")[i % 2], "config_snapshot": None, "config_hash": None,
         "started_at": T0 + timedelta(hours=5 * i), "total_cost_usd": 0.25,
         "error_message": f"{error} #{i};" if i % 2 else None, "simulated": False, "cancel_requested": False}
        for i in range(start, start + count)
    ]


def _fill_at_0002(url: str) -> None:
    with open_database(url, migrate=False) as db:
        upgrade(db, "0002")
        with db.write() as conn:
            conn.execute(insert(Execution), _rows(0, 40, "SMTP relay refused"))
        db.executions.rebuild_stats()


def _index_objects(db: Database) -> list[str]:
    with db.read() as conn:
        if db.is_sqlite:
            sql = "SELECT name FROM sqlite_master WHERE name LIKE :n ORDER BY name"
            return list(conn.execute(text(sql), {"n": f"{TEXT_SEARCH_TABLE}%"}).scalars())
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'executions' AND indexname = :n"
        return list(conn.execute(text(sql), {"n": TEXT_SEARCH_INDEX}).scalars())


def _search(db: Database, value: str, **more: Any) -> tuple[list[str], int]:
    filters = ExecutionFilters(text=value, **more)
    return [r.id for r in db.executions.list(filters, limit=100).items], db.executions.summary(filters).total


def test_rows_of_0002_are_searchable_after_the_upgrade(empty_url: str) -> None:
    _fill_at_0002(empty_url)
    with open_database(empty_url) as db:
        assert current_revision(db) == HEAD_REVISION
        assert _index_objects(db)
        assert _search(db, "relay refused #17;") == (["old-017"], 1)
        assert _search(db, "smtp RELAY") == ([f"old-{i:03d}" for i in range(39, 0, -2)], 20)
        assert _search(db, "report_b")[1] == 20 and _search(db, "OLD-02")[1] == 10
        assert _search(db, "ld-0", status="failed", since=T0 + timedelta(days=2))[1] == 15
        if db.is_sqlite:
            with db.read() as conn:
                indexed = conn.execute(text(f"SELECT count(*) FROM {TEXT_SEARCH_TABLE} "
                                            f"WHERE {TEXT_SEARCH_TABLE} MATCH '\"old-\"'")).scalar()
            assert indexed == 40
        # New writes after the upgrade go through the triggers.
        db.executions.update("old-003", error_message="now a different story")
        assert _search(db, "relay refused #3;") == ([], 0)
        assert _search(db, "different story") == (["old-003"], 1)


def test_downgrade_removes_the_index_and_a_new_upgrade_rebuilds_it(empty_url: str) -> None:
    _fill_at_0002(empty_url)
    with open_database(empty_url) as db:
        assert _index_objects(db)
        downgrade(db, "0002")
        assert current_revision(db) == "0002"
        assert _index_objects(db) == []
        # Without the index the search still answers, by scan.
        assert _search(db, "relay refused #17;") == (["old-017"], 1)
        # Rows written at 0002 (no triggers) are picked up by the next upgrade.
        db.executions.update("old-017", error_message="changed while at 0002")
        with db.write() as conn:
            conn.execute(insert(Execution), _rows(40, 2, "written at 0002"))
        db.executions.rebuild_stats()
    with open_database(empty_url) as db:
        assert current_revision(db) == HEAD_REVISION and _index_objects(db)
        assert _search(db, "relay refused #17;") == ([], 0)
        assert _search(db, "changed while") == (["old-017"], 1)
        assert _search(db, "written at 0002") == (["old-041"], 1)
        downgrade(db, "0001")
        assert _index_objects(db) == []


def test_a_head_database_without_the_fts_table_searches_by_scan(tmp_path: Any) -> None:
    # What an SQLite without FTS5 or trigram (older than 3.34) is left with after 0003.
    url = f"sqlite:///{tmp_path / 'nofts.db'}"
    _fill_at_0002(url)
    with open_database(url, migrate=False) as db, db.write() as conn:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0003')"))
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = '0002'"))
    with open_database(url) as db:
        assert current_revision(db) == HEAD_REVISION and _index_objects(db) == []
        assert _search(db, "relay refused #17;") == (["old-017"], 1)
        assert _search(db, "REPORT_B", until=T0 + timedelta(days=1))[1] == 2
        db.executions.create(id="fresh", workflow_name="w", config_snapshot=None, config_hash=None, inputs=None)
        assert _search(db, "fres") == (["fresh"], 1)


@pytest.fixture
def limited_url(pg_cluster: Any) -> str:
    """A new database and a role that owns its tables but may not create extensions in it."""
    import psycopg

    role = f"limited_{uuid.uuid4().hex[:8]}"
    url = str(pg_cluster.new_database())
    name = make_url(url).database
    with psycopg.connect(host=str(pg_cluster.sockets), port=5432, user="postgres", dbname=name,
                         autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
    return url.replace("postgres@", f"{role}@")


def test_postgresql_without_pg_trgm_privilege_migrates_and_scans(
    limited_url: str, pg_cluster: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    with caplog.at_level(logging.WARNING, logger="cagents.store"):
        db = open_database(limited_url)
    try:
        assert current_revision(db) == HEAD_REVISION and _index_objects(db) == []
        warnings = [r.getMessage() for r in caplog.records if "pg_trgm" in r.getMessage()]
        assert len(warnings) == 1
        assert "permission denied" in warnings[0] and "scans every row instead" in warnings[0]
        db.executions.create(id="e1", workflow_name="mailer", config_snapshot=None, config_hash=None,
                             inputs=None, started_at=T0)
        db.executions.update("e1", error_message="SMTP relay refused")
        assert _search(db, "RELAY ref") == (["e1"], 1)
        # As the warning says: once a superuser created the extension, a re-upgrade builds the index.
        name = make_url(limited_url).database
        with psycopg.connect(host=str(pg_cluster.sockets), port=5432, user="postgres", dbname=name,
                             autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_trgm")
        downgrade(db, "0002")
        upgrade(db)
        assert _index_objects(db) == [TEXT_SEARCH_INDEX]
        assert _search(db, "RELAY ref") == (["e1"], 1)
    finally:
        db.close()
