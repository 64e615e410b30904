"""The store's engine: one URL, SQLite (a file in the data folder, WAL, ``synchronous=FULL``
on every connection) or PostgreSQL (``postgresql+psycopg://…``), migrated to head on open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cityfocus.errors import CityfocusError
from cityfocus.serve.datadir import DATABASE, prepare_data_dir
from cityfocus.serve.store.group_commit import GroupCommit

DEFAULT_DATA_DIR = "cityfocus-data"


def resolve_url(data_dir: str | Path | None, db: str | None) -> tuple[URL, Path | None]:
    """The database URL to open and the data folder it lives in (None for ``--db``).

    Raises:
        CityfocusError: both or a malformed/unsupported ``--db`` URL, or a data folder that
            is not the service's (see ``datadir``).
    """
    if db is not None and data_dir is not None:
        raise CityfocusError("give --data-dir DIR or --db URL, not both")
    if db is None:
        folder = prepare_data_dir(DEFAULT_DATA_DIR if data_dir is None else data_dir)
        return URL.create("sqlite+pysqlite", database=str(folder / DATABASE)), folder
    try:
        url = make_url(db)
    except ArgumentError:
        raise CityfocusError(f"--db {db!r}: not a database URL (give e.g. "
                             "postgresql+psycopg://user@127.0.0.1:5432/dbname)") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise CityfocusError(f"--db: {url.get_backend_name()!r} databases are not supported; "
                             "use postgresql+psycopg://… (or --data-dir for SQLite)")
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url, None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: URL) -> Engine:
    """An engine for ``url``; on SQLite every new connection gets the store's pragmas."""
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def shown_url(url: URL) -> str:
    """The URL for messages, password hidden."""
    return url.render_as_string(hide_password=True)


class Store:
    """An open, migrated store: the engine and its session factory.

    Attributes:
        url: the database URL; ``data_dir``: the data folder (None for ``--db``);
            ``database``: the URL as shown (password hidden), naming the database;
            ``writes``: small writes committed in groups (``GroupCommit``).
    """

    def __init__(self, url: URL, data_dir: Path | None = None) -> None:
        self.url = url
        self.database = shown_url(url)
        self.data_dir = data_dir
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.writes = GroupCommit(self.sessions)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def check_connection(self) -> None:
        """Raise CityfocusError with one line when the database cannot be reached."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except (DBAPIError, NoSuchModuleError) as err:
            reason = str(getattr(err, "orig", err) or err).strip().splitlines()
            raise CityfocusError(f"database {shown_url(self.url)} is unreachable: "
                                 f"{reason[0] if reason else type(err).__name__}") from None

    def ready(self) -> tuple[bool, str]:
        """(True, "ok") when the database answers and its schema is at the newest revision."""
        from cityfocus.serve.store.migrate import current_revision, head_revision

        try:
            with self.engine.connect() as conn:
                current = current_revision(conn)
        except SQLAlchemyError as err:
            return False, f"database unreachable: {type(err).__name__}"
        head = head_revision()
        if current != head:
            return False, f"schema at revision {current}, the code needs {head}"
        return True, "ok"

    def close(self) -> None:
        self.engine.dispose()


def open_store(data_dir: str | Path | None = None, db: str | None = None, *,
               migrate: bool = True) -> Store:
    """Open (and by default migrate to head) the store at ``--data-dir`` or ``--db``.

    Raises:
        CityfocusError: a bad location or URL, an unreachable database (one line each).
    """
    url, folder = resolve_url(data_dir, db)
    store = Store(url, folder)
    try:
        store.check_connection()
        if migrate:
            from cityfocus.serve.store.migrate import upgrade

            upgrade(store.engine)
    except BaseException:
        store.close()
        raise
    return store
