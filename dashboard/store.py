"""The store: observations in a real database through SQLAlchemy 2.

SQLite by default (``instance/dashboard.db``), any SQLAlchemy URL through ``DATABASE_URL``
(PostgreSQL in production and in CI). The schema keeps counts with their denominators, the
breakdown, the area, the period and the provenance of every value. A suppressed published
value is a row with ``value`` NULL and ``status`` set to its symbol (``c``, ``k``, ``x`` ...),
never a zero.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from . import migrate
# The tables live in dashboard.models (one Base, every model); re-exported for the store's callers.
from .models import (  # noqa: F401
    Area,
    Base,
    DataVersion,
    ImportedTarget,
    Meta,
    Observation,
    PendingUpload,
    QualityFlag,
    Source,
    StatNeighbour,
    VersionFile,
)

# Typed missing values: DfE's symbols (``dashboard.analysis.rates.SUPPRESSION_SYMBOLS``, one table for the
# whole product) and "missing", ours for a cell left blank.

# Source kinds, in the order the series takes them when two give the same cell.
SOURCE_KINDS = ("published", "import", "local_return", "illustrative")


# -- engine ------------------------------------------------------------------------------

def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


_engines: dict[str, Engine] = {}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            import pathlib

            pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    return engine


def get_engine(url: str) -> Engine:
    """One engine per URL per process (gunicorn workers each make their own after fork)."""
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def init_db(engine: Engine) -> None:
    """Bring the database to the newest schema by running its migrations (``dashboard.migrate``).

    An empty database gets every table; one made by the release before migrations is adopted as
    it is; nothing anyone entered is ever dropped. One transaction: a failure changes nothing.
    """
    migrate.upgrade(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A transaction: committed when the block ends, rolled back on any error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        with session.begin():
            yield session


def get_meta(engine: Engine, key: str) -> str | None:
    with Session(engine) as s:
        row = s.get(Meta, key)
        return row.value if row else None


def current_version(engine: Engine) -> DataVersion | None:
    with Session(engine) as s:
        return s.scalars(select(DataVersion).order_by(DataVersion.id.desc()).limit(1)).first()


def layer_versions(conn_or_session) -> tuple[int | None, int | None]:
    """(latest build version id, latest import-or-restore version id): the two layers shown now."""
    build = conn_or_session.execute(select(func.max(DataVersion.id)).where(DataVersion.kind == "build")).scalar()
    imp = conn_or_session.execute(
        select(func.max(DataVersion.id)).where(DataVersion.kind.in_(("import", "restore")))).scalar()
    return build, imp
