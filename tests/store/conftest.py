"""Fixtures of the store tests: a database per test on SQLite and on a throwaway PostgreSQL.

The PostgreSQL cluster is started once per session in a temporary folder, listening on a
unix socket only (no TCP), as the `postgres` OS user when the tests run as root. Without
the PostgreSQL binaries the postgresql-parametrized tests fail with a message saying to
install them, unless CAGENTS_TEST_NO_POSTGRES=1 asks to skip them.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cagents.store import Database, open_database

BACKENDS = ("sqlite", "postgresql")
_PG_PORT = 5432  # only names the socket file: the socket folder is private to the session


def _find(binary: str) -> str | None:
    found = shutil.which(binary)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{binary}"), reverse=True)
    return candidates[0] if candidates else None


class PostgresCluster:
    """A private PostgreSQL cluster; `new_database()` hands out empty databases."""

    def __init__(self, root: Path, bindir: Path, user: str | None) -> None:
        self.root = root
        self.data = root / "data"
        self.sockets = root / "sock"
        self.bindir = bindir
        self.user = user
        self._counter = itertools.count()

    def _run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        return subprocess.run(
            [str(a) for a in args], user=self.user, env=env, cwd=self.root,
            capture_output=True, text=True, check=True, timeout=60,
        )

    def start(self) -> None:
        self.sockets.mkdir()
        if self.user:
            shutil.chown(self.root, self.user, self.user)
            shutil.chown(self.sockets, self.user, self.user)
        self._run(self.bindir / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--no-locale", "--no-sync")
        options = (
            f"-k {self.sockets} -p {_PG_PORT} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )
        self._run(self.bindir / "pg_ctl", "-D", self.data, "-o", options,
                  "-l", self.root / "server.log", "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run(self.bindir / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.sockets}&port={_PG_PORT}"

    def new_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"t{next(self._counter)}"
        with psycopg.connect(host=str(self.sockets), port=_PG_PORT, user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """The session's PostgreSQL cluster (fails, or skips under CAGENTS_TEST_NO_POSTGRES=1)."""
    initdb, pg_ctl = _find("initdb"), _find("pg_ctl")
    if not initdb or not pg_ctl:
        message = (
            "PostgreSQL binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin: "
            "install postgresql (apt-get install postgresql), or set CAGENTS_TEST_NO_POSTGRES=1 "
            "to skip the PostgreSQL half of the store tests"
        )
        if os.environ.get("CAGENTS_TEST_NO_POSTGRES") == "1":
            pytest.skip(message)
        pytest.fail(message)
    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="cagents-pg-", dir="/tmp"))
    cluster = PostgresCluster(root, Path(initdb).parent, user)
    try:
        try:
            cluster.start()
        except subprocess.CalledProcessError as exc:
            log = root / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"could not start PostgreSQL: {exc.stderr or exc}\n{detail}")
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_shared(pg_cluster: PostgresCluster) -> str:
    """One database migrated to head, emptied before each test that uses it."""
    url = pg_cluster.new_database()
    open_database(url).close()
    return url


def _empty_tables(url: str) -> None:
    from sqlalchemy import create_engine, text

    from cagents.store.models import Base

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(Base.metadata.tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of an empty database of the test's backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    return cluster.new_database()


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of a database at head (or empty, SQLite) of the test's backend, holding no rows.

    Tests that change the schema itself use `empty_url` instead.
    """
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_shared")
    _empty_tables(url)
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """An open database at head, on SQLite and on PostgreSQL."""
    database = open_database(db_url)
    try:
        yield database
    finally:
        database.close()
