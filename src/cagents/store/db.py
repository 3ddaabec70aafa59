"""The app database: one engine per URL, SQLite tuned for several processes, errors translated.

SQLite gets WAL, a 10 s busy timeout, foreign keys and `synchronous=NORMAL`, and every write
transaction starts with `BEGIN IMMEDIATE`, so concurrent writers queue on the busy timeout
instead of failing with "database is locked" when a read lock would have to be upgraded.
Any other SQLAlchemy URL (PostgreSQL for teams) works unchanged.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from cagents.errors import CagentsError, StoreError
from cagents.store.home import DB_URL_ENV, default_database_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from typing_extensions import Self

    from cagents.store.repositories.chats import ChatRepository
    from cagents.store.repositories.deployments import DeploymentRepository
    from cagents.store.repositories.executions import ExecutionRepository
    from cagents.store.repositories.memory import MemoryRepository
    from cagents.store.repositories.registrations import WorkflowRegistrationRepository
    from cagents.store.repositories.sessions import SessionStateRepository
    from cagents.store.repositories.states import StateRepository
    from cagents.store.repositories.webhooks import WebhookEventRepository

__all__ = ["BUSY_TIMEOUT_SECONDS", "Database", "mask_url", "open_database"]

BUSY_TIMEOUT_SECONDS = 10.0
_WRITE = "cagents_write"
_R = TypeVar("_R")


def mask_url(url: str | URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", str(url))


class Database:
    """An open app database: the engine, transactions, and one attribute per repository."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Password masked: `url` ends up in reprs and messages; `engine.url` keeps the secret.
        self.url: str = mask_url(engine.url)
        self.dialect: str = engine.dialect.name
        self.is_sqlite: bool = self.dialect == "sqlite"
        # A file, not one shared in-memory connection: extra connections see the same data.
        self.is_sqlite_file: bool = self.is_sqlite and not isinstance(
            engine.pool, (StaticPool, SingletonThreadPool)
        )
        self._repositories: dict[str, Any] = {}
        self._lock = threading.Lock()
        # SQLite has one writer at a time. Threads of this process queue for it here, in turn;
        # left to SQLite's busy handler they poll with sleeps of up to 100 ms, and an unlucky
        # one lost the race again and again (seconds of tail latency under load). Other
        # processes still queue on the busy timeout.
        self._sqlite_writer: threading.RLock | None = threading.RLock() if self.is_sqlite else None

    # ---- transactions ---------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in a write transaction (`BEGIN IMMEDIATE` on SQLite); commits on success."""
        with self._translated(), self._sqlite_writer or nullcontext(), self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction (on SQLite one snapshot for all its queries)."""
        with self._translated(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session in a write transaction: commit on success, rollback on error."""
        from sqlalchemy.orm import Session

        with self.write() as conn, Session(bind=conn, expire_on_commit=False) as session:
            yield session
            session.flush()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except CagentsError:
            raise
        except SQLAlchemyError as exc:
            raise self.error(exc) from exc

    def error(self, exc: BaseException, doing: str = "") -> StoreError:
        """A StoreError naming this database (password masked) and what the driver said."""
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        hint = ""
        if "locked" in detail or "busy" in detail:
            hint = "; another process held the database longer than the busy timeout, retry"
        what = f" while {doing}" if doing else ""
        return StoreError(f"database {self.url}{what}: {detail}{hint}")

    # ---- repositories (created on first use, once even under threads) ---------------
    def _repository(self, name: str, factory: Callable[[Database], _R]) -> _R:
        repo = self._repositories.get(name)
        if repo is None:
            with self._lock:
                repo = self._repositories.get(name)
                if repo is None:
                    repo = self._repositories[name] = factory(self)
        return cast(_R, repo)

    @property
    def executions(self) -> ExecutionRepository:
        from cagents.store.repositories.executions import ExecutionRepository

        return self._repository("executions", ExecutionRepository)

    @property
    def states(self) -> StateRepository:
        from cagents.store.repositories.states import StateRepository

        return self._repository("states", StateRepository)

    @property
    def deployments(self) -> DeploymentRepository:
        from cagents.store.repositories.deployments import DeploymentRepository

        return self._repository("deployments", DeploymentRepository)

    @property
    def chats(self) -> ChatRepository:
        from cagents.store.repositories.chats import ChatRepository

        return self._repository("chats", ChatRepository)

    @property
    def sessions(self) -> SessionStateRepository:
        from cagents.store.repositories.sessions import SessionStateRepository

        return self._repository("sessions", SessionStateRepository)

    @property
    def webhooks(self) -> WebhookEventRepository:
        from cagents.store.repositories.webhooks import WebhookEventRepository

        return self._repository("webhooks", WebhookEventRepository)

    @property
    def registrations(self) -> WorkflowRegistrationRepository:
        from cagents.store.repositories.registrations import WorkflowRegistrationRepository

        return self._repository("registrations", WorkflowRegistrationRepository)

    @property
    def memory(self) -> MemoryRepository:
        from cagents.store.repositories.memory import MemoryRepository

        return self._repository("memory", MemoryRepository)

    # ---- lifetime -------------------------------------------------------------------
    def close(self) -> None:
        """Close every connection (pooled and per-thread)."""
        states = self._repositories.get("states")
        if states is not None:
            states.close()
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Database {self.url}>"


def _sqlite_memory(url: URL) -> bool:
    database = url.database
    return not database or database == ":memory:" or url.query.get("mode") == "memory"


def _set_wal(cursor: Any) -> None:
    # Switching to WAL needs a moment of exclusive access; a racing first open retries.
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # sqlite3.OperationalError: the driver's own class
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _tune_sqlite(engine: Engine, *, file_backed: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We emit BEGIN ourselves (below), so the driver must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
            if file_backed:
                _set_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def create_store_engine(url: str) -> Engine:
    """An engine for `url`, SQLite tuned; a bad URL or a missing driver is a StoreError."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(
            f"invalid database URL {mask_url(url)!r}: {exc}; "
            f"set {DB_URL_ENV} to a SQLAlchemy URL such as sqlite:///path/to/file.db"
        ) from exc
    kwargs: dict[str, Any] = {}
    is_sqlite = parsed.get_backend_name() == "sqlite"
    memory = is_sqlite and _sqlite_memory(parsed)
    if is_sqlite:
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_SECONDS}
        if memory:
            # One shared connection, or each thread would see its own empty memory database.
            kwargs["poolclass"] = StaticPool
            kwargs["connect_args"]["check_same_thread"] = False
        elif not str(parsed.database).startswith("file:"):
            folder = Path(str(parsed.database)).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder {folder} of the database {parsed.database}: "
                    f"{exc.strerror or exc}; choose a writable location with {DB_URL_ENV}"
                ) from exc
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError as exc:
        raise StoreError(
            f"database URL {mask_url(url)!r} names an unknown database kind: {exc}"
        ) from exc
    except ImportError as exc:
        extra = " (pip install 'cagents[postgres]')" if "postgres" in parsed.drivername else ""
        raise StoreError(
            f"the driver for {mask_url(url)!r} is not installed: {exc}; install it{extra}"
        ) from exc
    except (ArgumentError, TypeError, ValueError) as exc:
        raise StoreError(f"invalid database URL {mask_url(url)!r}: {exc}") from exc
    if is_sqlite:
        _tune_sqlite(engine, file_backed=not memory)
    return engine


def open_database(url: str | None = None, *, migrate: bool = True) -> Database:
    """Open the app database (default: `default_database_url()`), migrated to this version.

    `migrate=False` leaves the schema alone (tools that manage revisions themselves).
    """
    engine = create_store_engine(url or default_database_url())
    db = Database(engine)
    try:
        if migrate:
            from cagents.store.migrate import ensure_current

            ensure_current(db)
        else:
            with db.read() as conn:
                conn.exec_driver_sql("SELECT 1")
    except BaseException:
        db.close()
        raise
    return db
