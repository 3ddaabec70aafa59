"""Opening the database: location, URLs, SQLite settings, transactions and error messages."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cagents.errors import StoreError
from cagents.store import Database, default_database_url, open_database, workbench_home
from cagents.store.db import mask_url
from cagents.store.models import ChatSession


def test_import_is_cheap() -> None:
    code = (
        "import sys, cagents.store, cagents.store.records, cagents.store.home\n"
        "from cagents.store import ExecutionFilters, workbench_home\n"
        "print('sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_home_and_default_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "deep" / "home"
    monkeypatch.setenv("CAGENTS_HOME", str(home))
    monkeypatch.delenv("CAGENTS_DB_URL", raising=False)
    assert workbench_home() == home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert default_database_url() == f"sqlite:///{home / 'configurable_agents.db'}"
    monkeypatch.setenv("CAGENTS_DB_URL", "postgresql+psycopg://u:p@db/x")
    assert default_database_url() == "postgresql+psycopg://u:p@db/x"


def test_home_defaults_to_dot_cagents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAGENTS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert workbench_home() == tmp_path / ".cagents"


def test_unwritable_home_is_a_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("CAGENTS_HOME", str(blocker / "home"))
    with pytest.raises(StoreError, match="cannot create the workbench home .*set CAGENTS_HOME"):
        workbench_home()


def test_open_default_creates_the_file_in_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAGENTS_HOME", str(tmp_path / "h"))
    monkeypatch.delenv("CAGENTS_DB_URL", raising=False)
    with open_database() as db:
        assert db.is_sqlite and db.url == f"sqlite:///{tmp_path / 'h' / 'configurable_agents.db'}"
        assert db.executions.summary().total == 0
    assert (tmp_path / "h" / "configurable_agents.db").is_file()


def test_env_url_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "dir" / "other.db"
    monkeypatch.setenv("CAGENTS_DB_URL", f"sqlite:///{target}")
    with open_database() as db:
        db.executions.create(id="e", workflow_name="w", config_snapshot=None, config_hash=None, inputs=None)
    assert target.is_file()


def test_sqlite_connections_are_tuned(tmp_path: Path) -> None:
    with open_database(f"sqlite:///{tmp_path / 'a.db'}") as db, db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


def test_write_transactions_take_the_write_lock_at_begin(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a writer holds the lock before its first statement; a reader does not."""
    path = tmp_path / "a.db"
    with open_database(f"sqlite:///{path}") as db:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with db.read():
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            with db.write(), pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()


def test_a_writer_waits_for_another_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with open_database(f"sqlite:///{path}") as db:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        done = threading.Event()

        def write() -> None:
            db.executions.create(id="e", workflow_name="w", config_snapshot=None, config_hash=None, inputs=None)
            done.set()

        worker = threading.Thread(target=write)
        worker.start()
        assert not done.wait(0.3)  # blocked on the lock, not failed
        other.execute("COMMIT")
        other.close()
        worker.join(10)
        assert done.is_set() and db.executions.get("e").workflow_name == "w"


def test_memory_database_is_shared_by_threads() -> None:
    with open_database("sqlite://") as db:
        db.executions.create(id="e", workflow_name="w", config_snapshot=None, config_hash=None, inputs=None)
        db.executions.add_state("e", node_id="n", step=1, state_data={"a": 1}, duration_seconds=None,
                                tokens=None, cost_usd=None, resume_data=None)
        seen: list[str] = []
        worker = threading.Thread(target=lambda: seen.append(db.executions.get("e").id))
        worker.start()
        worker.join()
        assert seen == ["e"]
        assert db.executions.states("e")[0].state_data == {"a": 1}


def test_session_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    with db.session() as session:
        session.add(ChatSession(session_id="s1", status="active"))
    assert db.chats.get_session("s1")["status"] == "active"
    with pytest.raises(RuntimeError), db.session() as session:
        session.add(ChatSession(session_id="s2", status="active"))
        session.flush()
        raise RuntimeError("boom")
    assert [s["session_id"] for s in db.chats.list_sessions()] == ["s1"]


def test_driver_errors_become_store_errors(db: Database) -> None:
    with (
        pytest.raises(StoreError, match="database .*no_such_table|database .*does not exist"),
        db.read() as conn,
    ):
        conn.execute(text("SELECT * FROM no_such_table"))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "invalid database URL 'not a url'"),
        ("nosuchdb://x/y", "unknown database kind"),
        ("mysql+nosuchdriver://u:secret@h/db", "unknown database kind"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as info:
        open_database(url)
    assert "secret" not in str(info.value)


def test_unreachable_server_names_the_url_without_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://bob:hunter2@/db?host={tmp_path}&port=1"
    with pytest.raises(StoreError) as info:
        open_database(url)
    message = str(info.value)
    assert "bob:***@" in message and "hunter2" not in message
    assert "check the URL, that the server runs and the credentials" in message


def test_unwritable_sqlite_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the folder"):
        open_database(f"sqlite:///{blocker / 'sub' / 'a.db'}")


def test_not_a_database_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="junk.db"):
        open_database(f"sqlite:///{path}")


def test_mask_url() -> None:
    assert mask_url("postgresql://u:pw@h:5/d") == "postgresql://u:***@h:5/d"
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"
    assert mask_url("weird://u:pw@") == "weird://u:***@"


def test_database_url_hides_the_password(pg_cluster: Any) -> None:
    url = pg_cluster.new_database().replace("postgres@", "postgres:pw@")
    with open_database(url) as db:
        assert ":***@" in db.url and "pw" not in repr(db)
        assert db.dialect == "postgresql" and not db.is_sqlite


def test_open_without_migrate_leaves_the_schema_alone(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with open_database(f"sqlite:///{path}", migrate=False) as db, db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == 0


def test_file_mode_of_home_is_private_even_with_open_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = os.umask(0)
    try:
        monkeypatch.setenv("CAGENTS_HOME", str(tmp_path / "h2"))
        assert stat.S_IMODE(workbench_home().stat().st_mode) == 0o700
    finally:
        os.umask(old)


def test_close_closes_every_connection_including_checkpoint_writers(tmp_path: Path) -> None:
    """SQLite removes the WAL file only when the last connection to the file closes."""
    path = tmp_path / "a.db"
    db = open_database(f"sqlite:///{path}")
    db.executions.create(id="e", workflow_name="w", config_snapshot=None, config_hash=None, inputs=None)

    def write(n: int) -> None:
        db.executions.add_state("e", node_id=f"n{n}", step=n, state_data={"n": n}, duration_seconds=None,
                                tokens=None, cost_usd=None, resume_data=None)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    write(3)
    assert Path(f"{path}-wal").exists()
    db.close()
    assert not Path(f"{path}-wal").exists()
    # A closed database opens new connections when used again, and closes them again.
    write(4)
    assert [s.node_id for s in db.executions.states("e")][-1] == "n4"
    db.close()
    assert not Path(f"{path}-wal").exists()
