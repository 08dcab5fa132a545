"""Engines, sessions and migrations.

SQLite (the embedded default) runs in WAL mode with a busy timeout so that the web app, a worker's
processes and beat can share one file; PostgreSQL is used as given by URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from syndication.errors import DatabaseBehind, DatabaseError

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling defers BEGIN; issue it ourselves so that
        # `BEGIN IMMEDIATE` (see storage.repo.write_lock) works.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn: Any, _r: Any) -> None:
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.pop("immediate", False) else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


INGEST_LOCK_KEY = 0x5EED_0001


@contextmanager
def transaction(
    factory: sessionmaker[Session], *, write: bool = True, serial: bool = False
) -> Iterator[Session]:
    """One transaction. ``write``: on SQLite take the write lock up front (BEGIN IMMEDIATE) so that a
    read-then-write transaction waits for another writer instead of failing. ``serial``: one such
    transaction at a time across every process (PostgreSQL advisory lock; SQLite's write lock is
    already exclusive) — used by ingest, whose dedupe reads must see every earlier ingest."""
    engine = factory.kw["bind"]
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite and write:
            conn.connection.info["immediate"] = True
        with Session(bind=conn, expire_on_commit=False) as session, session.begin():
            if serial and not sqlite:
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": INGEST_LOCK_KEY})
            yield session


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as e:
        raise DatabaseError(f"cannot reach the database {engine.url!r}: {e.orig}") from e


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(_alembic_config(engine), revision)


def ensure_current(engine: Engine) -> None:
    """Refuse a database that is behind the code (or ahead of it)."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise DatabaseBehind(f"the database {where} is empty: run `syndication db upgrade` first")
    script = ScriptDirectory(str(MIGRATIONS))
    try:
        known = script.get_revision(current) is not None
    except CommandError:
        known = False
    if not known:
        raise DatabaseBehind(
            f"the database {where} is at revision {current}, which this version does not know "
            "(is it newer than the code?)"
        )
    raise DatabaseBehind(
        f"the database {where} is at revision {current}, behind {head}: run `syndication db upgrade`"
    )


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
