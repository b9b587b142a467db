"""Databases, table dumps, return files and page helpers for the imports tier.

An import changes the data version of the database it runs against, so this tier never imports
into the session database (``built_db``), which other tiers compare against. ``data/`` is built
once per session with ``dashboard.build.build`` into a pristine SQLite file (checkpointed, so the
one file holds everything) and, when DASHBOARD_TEST_DATABASE_URL is set, once into a pristine
PostgreSQL database on that server. Every test that writes gets its own copy: a file copy for
SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL. The PostgreSQL databases are dropped at
the end of the session.

Expected values come from the files themselves (read with ``csv`` or ``openpyxl``), from
``expected.yaml`` of the returns corpus (written by hand) or from the generator below, never
from the import code.
"""
from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import os
import re
import shutil
import sqlite3
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import Engine, make_url

from dashboard import store
from dashboard.auth import models as _auth_models
from dashboard.config import DEFAULT_DATA_DIR, ROOT, Settings, load_settings
from dashboard.registry import Registry, load_registry
from tests.conftest import TEST_DATABASE_ENV
from tests.helpers import form_csrf, sign_in, sign_in_named  # noqa: F401  - re-exported for the tier's tests

TEMPLATES = DEFAULT_DATA_DIR / "templates"
TEMPLATE_CSV = TEMPLATES / "return_template.csv"
TEMPLATE_XLSX = TEMPLATES / "return_template.xlsx"
CORPUS = ROOT / "tests" / "returns_corpus"
CORPUS_CASES: list[dict] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))["cases"]
THURROCK = "E06000034"
PG_SKIP = (f"{TEST_DATABASE_ENV} is not set: the PostgreSQL part of the imports tier runs only against a "
           "PostgreSQL server (e.g. postgresql://postgres@127.0.0.1:5432/test)")
REDIS_SKIP = "REDIS_URL is not set: the shared-cache tests need a Redis server (e.g. redis://127.0.0.1:6379/0)"


# --------------------------------------------------------------------------- databases


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_settings(url: str, instance_dir: Path, *, data_dir: Path = DEFAULT_DATA_DIR,
                  redis_url: str | None = None) -> Settings:
    """Settings for one test database; nothing is taken from the process environment."""
    env = {"DATABASE_URL": url, "DASHBOARD_INSTANCE_DIR": str(instance_dir), "DASHBOARD_DATA_DIR": str(data_dir)}
    if redis_url:
        env["REDIS_URL"] = redis_url
    return load_settings(env)


def forget_engine(url: str) -> None:
    """Close the process's engine for ``url`` and drop its cached snapshots."""
    from dashboard import data as data_module

    engine = store._engines.pop(url, None)
    if engine is not None:
        engine.dispose()
    for key in [k for k in data_module._cache if k[0] == url]:
        data_module._cache.pop(key, None)


def _pg_conninfo(url: str, database: str | None = None) -> str:
    u = make_url(url).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


def pg_url(admin_url: str, database: str) -> str:
    """The SQLAlchemy URL of another database on the same server as ``admin_url``."""
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


def pg_execute(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_pg_conninfo(admin_url), autocommit=True) as conn:
        conn.execute(sql)


@dataclass
class ImportDB:
    """One test database: its kind ("sqlite" or "postgresql"), settings and (SQLite) file."""

    kind: str
    settings: Settings
    path: Path | None = None

    @property
    def url(self) -> str:
        return self.settings.database_url

    @property
    def engine(self) -> Engine:
        return store.get_engine(self.url)

    def manager(self):
        from dashboard.data import DataManager

        return DataManager(self.settings)

    def close(self) -> None:
        forget_engine(self.url)


class Databases:
    """Builds the pristine databases on first use and hands out copies of them."""

    def __init__(self, root: Path):
        self.root = root
        self.pg_admin = os.environ.get(TEST_DATABASE_ENV) or None
        self._sqlite_pristine: Path | None = None
        self._pg_base: str | None = None
        self._pg_names: list[str] = []
        self._made: list[ImportDB] = []
        self._n = 0
        # DROP DATABASE waits for a checkpoint: done one at a time, in the background, while later tests run
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-test-db")
        self._drops: list[Future] = []

    def directory(self, label: str) -> Path:
        self._n += 1
        d = self.root / f"{self._n:03d}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', label)[:40]}"
        d.mkdir(parents=True)
        return d

    def pristine_sqlite(self) -> Path:
        """The session's SQLite database built from data/, as one checkpointed file (no -wal)."""
        if self._sqlite_pristine is None:
            from dashboard.build import build

            d = self.directory("pristine-sqlite")
            path = d / "pristine.db"
            settings = make_settings(sqlite_url(path), d)
            build(settings)
            forget_engine(settings.database_url)
            con = sqlite3.connect(path)
            assert con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # not busy
            con.close()
            wal = path.with_name(path.name + "-wal")
            assert not wal.exists() or wal.stat().st_size == 0
            self._sqlite_pristine = path
        return self._sqlite_pristine

    def sqlite(self, label: str = "db") -> ImportDB:
        src = self.pristine_sqlite()
        d = self.directory(label)
        path = d / "dashboard.db"
        shutil.copyfile(src, path)
        db = ImportDB("sqlite", make_settings(sqlite_url(path), d), path)
        self._made.append(db)
        return db

    def postgresql(self, label: str = "db") -> ImportDB:
        if not self.pg_admin:
            pytest.skip(PG_SKIP)
        if self._pg_base is None:
            from dashboard.build import build

            name = f"test_imports_{uuid.uuid4().hex[:10]}_base"
            pg_execute(self.pg_admin, f'CREATE DATABASE "{name}"')
            self._pg_names.append(name)
            url = pg_url(self.pg_admin, name)
            build(make_settings(url, self.directory("pristine-pg")))
            forget_engine(url)  # a template database must have no connections
            self._pg_base = name
        name = f"test_imports_{uuid.uuid4().hex[:10]}"
        pg_execute(self.pg_admin, f'CREATE DATABASE "{name}" TEMPLATE "{self._pg_base}"')
        self._pg_names.append(name)
        db = ImportDB("postgresql", make_settings(pg_url(self.pg_admin, name), self.directory(label)))
        self._made.append(db)
        return db

    def make(self, kind: str, label: str = "db") -> ImportDB:
        return self.sqlite(label) if kind == "sqlite" else self.postgresql(label)

    def release(self, db: ImportDB) -> None:
        """A test is done with ``db``: close its engine, forget its snapshots, drop it (PostgreSQL)."""
        db.close()
        if db in self._made:
            self._made.remove(db)
        if db.kind == "sqlite" and db.path is not None:
            for suffix in ("", "-wal", "-shm"):
                db.path.with_name(db.path.name + suffix).unlink(missing_ok=True)
        if db.kind == "postgresql":
            name = make_url(db.url).database
            if name in self._pg_names:
                self._pg_names.remove(name)
                self._drops.append(self._dropper.submit(
                    pg_execute, self.pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for db in list(self._made):
            self.release(db)
        if self.pg_admin:
            for name in reversed(self._pg_names):
                self._drops.append(self._dropper.submit(
                    pg_execute, self.pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._pg_names = []
        self._dropper.shutdown(wait=True)
        for f in self._drops:
            f.result()


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("imports-tier"))
    yield dbs
    dbs.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request, databases: Databases) -> Iterator[ImportDB]:
    """A fresh copy of the built database, once on SQLite and once on PostgreSQL (skipped without a server)."""
    db = databases.make(request.param, request.node.name)
    yield db
    databases.release(db)


@pytest.fixture
def sqlite_db(request, databases: Databases) -> Iterator[ImportDB]:
    db = databases.sqlite(request.node.name)
    yield db
    databases.release(db)


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry(DEFAULT_DATA_DIR / "metrics.yaml")


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip(REDIS_SKIP)
    return url


# --------------------------------------------------------------------------- dumps


def dump(engine: Engine, exclude: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every row of every table in store.Base.metadata, ordered by primary key."""
    out: dict[str, list[tuple]] = {}
    with engine.connect() as c:
        for table in store.Base.metadata.sorted_tables:
            if table.name in exclude:
                continue
            out[table.name] = [tuple(r) for r in c.execute(select(table).order_by(*table.primary_key.columns))]
    return out


def dump_diff(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> str:
    """What changed between two dumps, in words ("" when they are the same)."""
    lines = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name, []), after.get(name, [])
        if a == b:
            continue
        first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        lines.append(f"{name}: {len(a)} rows -> {len(b)} rows; first difference at row {first}: "
                     f"{a[first] if first < len(a) else '-'!r} -> {b[first] if first < len(b) else '-'!r}")
    return "\n".join(lines)


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t.name: c.execute(select(func.count()).select_from(t)).scalar() for t in store.Base.metadata.sorted_tables}


LAYER_COLUMNS = ("metric_id", "area_code", "period_end", "period_label", "agency", "breakdown", "breakdown_value",
                 "value", "numerator", "denominator", "published_value", "status", "illustrative", "source_id", "note")


def layer(engine: Engine, version_id: int) -> list[tuple]:
    """The observation rows of one data version, without their ids, in a stable order."""
    cols = [getattr(store.Observation, c) for c in LAYER_COLUMNS]
    with engine.connect() as c:
        rows = [tuple(r) for r in c.execute(select(*cols).where(store.Observation.version_id == version_id))]
    return sorted(rows, key=repr)


def target_rows(engine: Engine, version_id: int) -> list[tuple]:
    t = store.ImportedTarget
    cols = [t.metric_id, t.value, t.start, t.end, t.agency, t.source, t.tolerance, t.tolerance_kind, t.illustrative]
    with engine.connect() as c:
        return sorted((tuple(r) for r in c.execute(select(*cols).where(t.version_id == version_id))), key=repr)


def version_rows(engine: Engine) -> list[store.DataVersion]:
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        return list(s.scalars(select(store.DataVersion).order_by(store.DataVersion.id)))


def max_version(engine: Engine) -> int:
    with engine.connect() as c:
        return c.execute(select(func.max(store.DataVersion.id))).scalar()


def audit_actions(engine: Engine, since_id: int = 0) -> list[tuple[str, str, str, str]]:
    """(action, actor, outcome, detail) of audit events after ``since_id``."""
    a = _auth_models.AuditEvent
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(select(a.action, a.actor, a.outcome, a.detail)
                                            .where(a.id > since_id).order_by(a.id))]


def last_audit_id(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.max(_auth_models.AuditEvent.id))).scalar() or 0)


# --------------------------------------------------------------------------- return files


def csv_records(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def csv_bytes(header: list[str], rows: list[list[str]] | list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(h, "") for h in header] if isinstance(r, dict) else r)
    return buf.getvalue().encode("utf-8")


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}


def period_end_of(text: str) -> dt.date:
    """The period end of the period forms the templates use (docs/data-format.md, "Periods")."""
    t = text.strip()
    if m := re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", t):
        return dt.date(int(m[3]), int(m[2]), int(m[1]))
    if m := re.fullmatch(r"([A-Za-z]{3}) (\d{4})", t):
        return month_end(int(m[2]), MONTHS[m[1].lower()])
    if m := re.fullmatch(r"(\d{4})-(\d{2})", t):
        return dt.date(int(m[1]) + 1, 3, 31)
    if m := re.fullmatch(r"(\d{4})-(\d{2}) Q([1-4])", t):
        first = int(m[1])
        return {1: dt.date(first, 6, 30), 2: dt.date(first, 9, 30), 3: dt.date(first, 12, 31),
                4: dt.date(first + 1, 3, 31)}[int(m[3])]
    raise ValueError(f"not a period form the tests know: {text!r}")


def half_up(x: Decimal, places: int) -> float:
    return float(x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def expected_value(rec: dict[str, str], registry: Registry) -> float:
    """The value a template row stands for: as written (a % sign dropped), or its numerator over its
    denominator in the metric's unit, rounded half up to the metric's decimals."""
    text = (rec.get("value") or "").strip().rstrip("%").strip()
    if text:
        return float(text.replace(",", ""))
    m = registry.metric(rec["metric_id"])
    num, den = Decimal(rec["numerator"].replace(",", "")), Decimal(rec["denominator"].replace(",", ""))
    scale = {"percent": 100, "rate_per_10000": 10000}.get(m.unit.value, 1)
    return half_up(num * scale / den, m.decimals)


def cell_of(rec: dict[str, str]) -> tuple:
    """(metric_id, area, period_end, agency, breakdown, breakdown_value) of a template-style row for Thurrock."""
    return (rec["metric_id"], THURROCK, period_end_of(rec["period"]), rec.get("agency") or "",
            rec.get("breakdown") or "", rec.get("breakdown_value") or "")


AGENCIES = ("NELFT", "Essex Police", "Thurrock Council", "Probation", "Schools")
LEVELS = ("L1", "L2", "L3", "PREVENT1", "PREVENT2")
TRAINING_HEADER = ["metric_id", "period", "value", "breakdown", "breakdown_value", "agency", "area", "note"]


def training_return(years: range, *, shift: int = 0, note: str = "") -> tuple[bytes, dict[tuple, float]]:
    """A valid return of training_compliance for Thurrock by agency, level and month over ``years``,
    with the values it gives by (period_end, agency, level). ``shift`` changes every value."""
    rows, expected = [], {}
    i = 0
    for year in years:
        for month in range(1, 13):
            for agency in AGENCIES:
                for level in LEVELS:
                    text = f"{(5000 + (i * 37 + shift) % 5000) / 100:.2f}"
                    rows.append(["training_compliance", f"{calendar.month_abbr[month]} {year}", text,
                                 "training_level", level, agency, "883", note])
                    expected[(month_end(year, month), agency, level)] = float(text)
                    i += 1
    return csv_bytes(TRAINING_HEADER, rows), expected


def corpus_refused_cases() -> list[dict]:
    """The corpus cases expected.yaml marks refused when read with no options (import_return takes none)."""
    return [c for c in CORPUS_CASES if not c["accepted"] and not c.get("options")]


def corpus_case(filename: str) -> dict:
    (case,) = [c for c in CORPUS_CASES if c["file"] == filename and not c.get("options")]
    return case


# --------------------------------------------------------------------------- web pages


def upload(client, data: bytes, filename: str):
    return client.post("/upload", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def pending_token(html: str) -> str:
    m = re.search(r'name="pending" value="([^"]+)"', html)
    assert m, html[:2000]
    return m.group(1)


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Page(HTMLParser):
    """Text of elements by id, and the cells of tables by id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self._open: list[tuple[str, int, list[str]]] = []  # (id, depth, parts)
        self._depth = 0
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in _VOID:
            self._depth += 1
        if a.get("id") and tag not in _VOID:
            self._open.append((a["id"], self._depth, []))
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        if tag in _VOID:
            return
        while self._open and self._open[-1][1] >= self._depth:
            eid, _, parts = self._open.pop()
            self.texts[eid] = "".join(parts).strip()
        self._depth -= 1

    def handle_data(self, data):
        for _, _, parts in self._open:
            parts.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse_page(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    p.close()
    return p


def table_body(html: str, table_id: str) -> list[list[str]]:
    """The rows after the heading row of the table with ``table_id`` (cells as text)."""
    rows = parse_page(html).tables.get(table_id)
    assert rows is not None, f"no table #{table_id} in the page"
    return rows[1:]


def text_by_id(html: str, element_id: str) -> str | None:
    return parse_page(html).texts.get(element_id)


# --------------------------------------------------------------------------- command line


def point_cli_at(monkeypatch, db: ImportDB) -> ImportDB:
    """Make the command line, run in this process with dashboard.cli.main, use ``db``."""
    import dashboard.data

    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("DASHBOARD_INSTANCE_DIR", str(db.settings.instance_dir))
    for name in ("DASHBOARD_DATA_DIR", "DASHBOARD_LA", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(dashboard.data, "_manager", None)
    return db
