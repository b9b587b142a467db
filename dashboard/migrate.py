"""Schema migrations: bring a database to the newest schema without losing what people entered.

Every table is created and changed by an Alembic revision in ``dashboard/migrations/versions``
(configured here, in code: there is no alembic.ini). ``upgrade(engine)``, which ``init_db`` calls,
handles three kinds of database:

* empty (no dashboard tables): every revision runs, from 0001;
* made by the release before migrations (a ``meta`` row ``schema`` = ``'3'`` and no
  ``alembic_version`` table): it is stamped as revision 0001, the schema that release made, and
  the later revisions run;
* already migrated: the revisions it has not had yet run (none, usually).

Anything else (dashboard tables with another schema marker, or a revision this code does not
know, e.g. from a newer version of the dashboard) is refused with ``SchemaMismatch``; nothing is
ever dropped. The whole upgrade, stamp included, is one transaction with the database locked
against a second upgrader (SQLite ``BEGIN IMMEDIATE``, PostgreSQL an advisory lock), so a
failure leaves the database exactly as it was.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from .models import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The revision that is exactly the schema of the last release without migrations, and that
# release's marker in the meta table.
RELEASE_REVISION = "0001"
RELEASE_SCHEMA_MARKER = "3"
# Any fixed number: serialises upgraders on one PostgreSQL database (pg_advisory_xact_lock).
_PG_LOCK_KEY = 884_120_001


class SchemaMismatch(RuntimeError):
    """The database's schema is not one this version of the dashboard can upgrade."""


def make_config(script_location: str | Path | None = None, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location or MIGRATIONS_DIR))
    cfg.set_main_option("version_path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.lru_cache(maxsize=8)
def _script(location: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(make_config(location))


def head(script_location: str | Path | None = None) -> str:
    """The newest revision this code knows."""
    return _script(str(script_location or MIGRATIONS_DIR)).get_current_head()


def current(engine_or_connection) -> str | None:
    """The revision the database is at (None: not under migrations, i.e. empty or the old release)."""
    if isinstance(engine_or_connection, Engine):
        with engine_or_connection.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    return MigrationContext.configure(engine_or_connection).get_current_revision()


@contextmanager
def _locked_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction that also holds the schema lock; committed on success."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection if sqlite else None
        saved = raw.isolation_level if sqlite else None
        try:
            if sqlite:
                # pysqlite does not begin a transaction before DDL on its own; with the driver's
                # implicit transactions off, BEGIN IMMEDIATE makes CREATE/ALTER part of this
                # transaction (rolled back on failure) and takes the write lock up front.
                raw.isolation_level = None
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.begin()
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            if sqlite:
                raw.isolation_level = saved


def _release_marker(conn: Connection, tables: set[str]) -> str | None:
    if "meta" not in tables:
        return None
    return conn.execute(text("SELECT value FROM meta WHERE key = 'schema'")).scalar()


def upgrade(engine: Engine, *, target: str = "head",
            script_location: str | Path | None = None) -> tuple[str | None, str | None]:
    """Upgrade the database to ``target`` (the newest revision); returns (revision before, after)."""
    location = str(script_location or MIGRATIONS_DIR)
    newest = head(location) if target == "head" else target
    before = current(engine)
    if before == newest:
        return before, newest
    with _locked_transaction(engine) as conn:
        cfg = make_config(location, conn)
        tables = set(inspect(conn).get_table_names())
        ours = tables & set(Base.metadata.tables)
        before = current(conn)  # again, now under the lock: another process may have upgraded
        if before is not None:
            known = {s.revision for s in _script(location).walk_revisions()}
            if before not in known:
                raise SchemaMismatch(
                    f"the database is at schema revision {before!r}, which this version of the dashboard does not "
                    f"know (its newest is {newest!r}): it was probably upgraded by a newer version. Run that "
                    "version, or restore the backup taken before it upgraded; nothing was changed")
        elif ours:
            marker = _release_marker(conn, tables)
            if marker != RELEASE_SCHEMA_MARKER:
                raise SchemaMismatch(
                    f"the database holds dashboard tables but no migration history, and its schema marker is "
                    f"{marker!r}, not {RELEASE_SCHEMA_MARKER!r} (the release these migrations start from). Upgrade "
                    "it with that release first, or move it aside and run `python -m dashboard build`; nothing "
                    "was changed")
            command.stamp(cfg, RELEASE_REVISION)
        if before != newest:
            command.upgrade(cfg, newest)
        after = current(conn)
    return before, after
