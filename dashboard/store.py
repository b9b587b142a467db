"""The store: observations in a real database through SQLAlchemy 2.

SQLite by default (``instance/dashboard.db``), any SQLAlchemy URL through ``DATABASE_URL``
(PostgreSQL in production and in CI). The schema keeps counts with their denominators, the
breakdown, the area, the period and the provenance of every value. A suppressed published
value is a row with ``value`` NULL and ``status`` set to its symbol (``c``, ``k``, ``x`` ...),
never a zero.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

# Typed missing values. The symbols are DfE's; "missing" is ours for a cell left blank.
SUPPRESSION_SYMBOLS = {
    "c": "Confidential: a small number (1 to 5) suppressed, or secondary suppression",
    "k": "Rounds to zero but is not zero",
    "u": "Low reliability",
    "x": "Not available",
    "z": "Not applicable",
    ":": "Not available",
    "low": "Low: a small number suppressed",
}

# Source kinds, in the order the series takes them when two give the same cell.
SOURCE_KINDS = ("published", "import", "local_return", "illustrative")


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Key/value facts about the store, e.g. the fingerprint of the data it was built from."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Area(Base):
    __tablename__ = "area"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)  # GSS code, e.g. E06000034
    old_code: Mapped[str | None] = mapped_column(String(8), index=True)  # DfE code, e.g. 883
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(16))  # national | regional | la
    region_code: Mapped[str | None] = mapped_column(String(16))


class StatNeighbour(Base):
    """One of an authority's statistical neighbours under a named model ("2021" or "2025")."""

    __tablename__ = "stat_neighbour"
    model: Mapped[str] = mapped_column(String(8), primary_key=True)
    la_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    neighbour_code: Mapped[str] = mapped_column(String(16))
    closeness: Mapped[str | None] = mapped_column(String(32))


class Source(Base):
    __tablename__ = "source"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # e.g. "dfe/d5_cpps_at31march_by_duration_2013_to_2025.csv"
    kind: Mapped[str] = mapped_column(String(16))  # published | import | local_return | illustrative
    title: Mapped[str] = mapped_column(Text)
    publisher: Mapped[str] = mapped_column(String(200))
    vintage: Mapped[str] = mapped_column(String(100))  # which release / edition
    licence: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))


class DataVersion(Base):
    """A version of the data. Two layers make up what the screens show: the latest ``build``
    (published statistics and the files in data/) and the latest ``import`` or ``restore`` (the
    analysts' returns, each version a complete copy of that layer). The highest id is the data
    version every page and export names."""

    __tablename__ = "data_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    kind: Mapped[str] = mapped_column(String(16))  # build | import | restore
    label: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str | None] = mapped_column(String(64))  # build: input files; import: the file's SHA-256
    created_by: Mapped[str] = mapped_column(String(120), default="system")
    rows: Mapped[int] = mapped_column(Integer, default=0)  # observations in this version's layer
    rows_in_file: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(255))
    restored_from: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[str | None] = mapped_column(Text)  # JSON: the validation report and the change summary


class VersionFile(Base):
    """The original file of an import, kept byte for byte."""

    __tablename__ = "version_file"
    version_id: Mapped[int] = mapped_column(ForeignKey("data_version.id"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ImportedTarget(Base):
    """Targets loaded with a return; for a metric that has them, they replace the registry's."""

    __tablename__ = "imported_target"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("data_version.id"), index=True)
    metric_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    start: Mapped[dt.date | None] = mapped_column(Date)
    end: Mapped[dt.date | None] = mapped_column(Date)
    agency: Mapped[str | None] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(Text)
    tolerance: Mapped[float | None] = mapped_column(Float)
    tolerance_kind: Mapped[str | None] = mapped_column(String(16))
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)


class PendingUpload(Base):
    """An uploaded file waiting for the analyst to confirm it, after its summary was shown."""

    __tablename__ = "pending_upload"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the token given to the browser
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Observation(Base):
    __tablename__ = "observation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_id: Mapped[str] = mapped_column(String(64))
    area_code: Mapped[str] = mapped_column(String(16))
    period_end: Mapped[dt.date] = mapped_column(Date)
    period_label: Mapped[str] = mapped_column(String(40))
    agency: Mapped[str] = mapped_column(String(80), default="")  # "" = the whole area
    breakdown: Mapped[str] = mapped_column(String(40), default="")  # dimension; "" = total
    breakdown_value: Mapped[str] = mapped_column(String(40), default="")
    value: Mapped[float | None] = mapped_column(Float)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    published_value: Mapped[float | None] = mapped_column(Float)  # as printed by the source
    status: Mapped[str] = mapped_column(String(8), default="")  # "" or a suppression symbol
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("data_version.id"))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint(
            "version_id", "source_id", "metric_id", "area_code", "period_end", "agency", "breakdown", "breakdown_value",
            name="uq_observation_cell",
        ),
        Index("ix_observation_metric_area", "metric_id", "area_code"),
    )


class QualityFlag(Base):
    """A warning about the data that the dashboard shows rather than hides."""

    __tablename__ = "quality_flag"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_id: Mapped[str] = mapped_column(String(64))
    area_code: Mapped[str] = mapped_column(String(16))
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    message: Mapped[str] = mapped_column(Text)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("source.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("data_version.id"))


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


# Bump when a table changes shape. A database made under another schema is rebuilt when it holds
# nothing but what `build` makes again from data/; otherwise it is left alone with a clear error.
SCHEMA_VERSION = "3"


class SchemaMismatch(RuntimeError):
    pass


def init_db(engine: Engine) -> None:
    from sqlalchemy import inspect

    from .auth import models  # noqa: F401  - registers the access-control tables on Base

    insp = inspect(engine)
    if insp.has_table("meta"):
        with engine.connect() as c:
            found = c.execute(select(Meta.value).where(Meta.key == "schema")).scalar()
        if found != SCHEMA_VERSION:
            tables = set(insp.get_table_names())
            with engine.connect() as c:
                precious = ("app_user" in tables and c.execute(select(func.count()).select_from(
                    models.User.__table__)).scalar()) or ("data_version" in tables and c.execute(
                        select(func.count()).select_from(DataVersion.__table__).where(
                            DataVersion.__table__.c.kind != "build")).scalar())
            if precious:
                raise SchemaMismatch(
                    f"the database was made by another version of the dashboard (schema {found}, this is "
                    f"{SCHEMA_VERSION}) and holds users or imports: migrate it, or move it aside and rebuild")
            Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as s, s.begin():
        s.merge(Meta(key="schema", value=SCHEMA_VERSION))


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
