"""Databases of the last release before migrations, with its schema and data, for the migration tier.

The schema comes from ``release3_<dialect>.sql``: the CREATE statements that release (commit
f2d516d, meta.schema = '3') ran, captured from its models for SQLite and PostgreSQL and frozen
here. Nothing in this tier builds the old schema from today's models. The rows are written
through a table reflected from that old schema (so values are stored as the release stored
them), never through ``dashboard.models``.

Every database is new and belongs to one test: a SQLite file, and, when
DASHBOARD_TEST_DATABASE_URL is set, a PostgreSQL database made on that server and dropped
afterwards. Without it the PostgreSQL cases are skipped (the PostgreSQL tier of ``make test``
sets it).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Engine
from werkzeug.security import generate_password_hash

from dashboard import store
from dashboard.config import Settings
from tests.conftest import TEST_DATABASE_ENV
from tests.imports.conftest import forget_engine, make_settings, pg_execute, pg_url, sqlite_url

HERE = Path(__file__).resolve().parent
PG_SKIP = (f"{TEST_DATABASE_ENV} is not set: the PostgreSQL migration tests run only against a PostgreSQL "
           "server (e.g. postgresql://postgres@127.0.0.1:5432/test)")
DIALECTS = ("sqlite", "postgresql")

# What the release's people entered, so that the app can be shown to serve it after the upgrade.
ADMIN_NAME = "alice.admin"
ADMIN_PASSWORD = "release three passphrase, kept"
LINK_TOKEN = "release-3-inspector-link-token-0123456789abcdef"
SESSION_TOKEN = "release-3-session-token-fedcba9876543210"
METRIC = "cp_plans_31mar"
THURROCK = "E06000034"
IMPORT_SOURCE = "import/thurrock_return_2026.csv"
# An original upload kept byte for byte: a BOM, CRLF, a NUL and bytes that are not UTF-8.
RETURN_FILE = (b"\xef\xbb\xbfmetric_id,area,period_end,value\r\n"
               b"cp_plans_31mar,883,2026-03-31,130\r\n\x00\xff\xfe trailing bytes\r\n")
PENDING_FILE = b"PK\x03\x04 not really a workbook \x00\x01\x02\x80\x81"


def release_statements(dialect: str) -> list[str]:
    """The release's DDL for ``dialect``, one statement per item (comment lines dropped)."""
    text = (HERE / f"release3_{dialect}.sql").read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    return [s.strip() for s in text.split(";\n\n") if s.strip().rstrip(";").strip()]


def create_release_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        for stmt in release_statements(engine.dialect.name):
            conn.exec_driver_sql(stmt)


def _t(day: int, hour: int = 9, minute: int = 0, micro: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, 0, micro)


def release_rows() -> dict[str, list[dict]]:
    """One release's worth of rows: people, a link, a session, audit rows, a build, an import and
    a restore of it, targets, flags and an upload waiting for confirmation."""
    password_hash = generate_password_hash(ADMIN_PASSWORD, method="scrypt")
    obs_common = dict(period_label="", agency="", breakdown="", breakdown_value="", numerator=None,
                      denominator=None, published_value=None, illustrative=False, note=None)
    build_obs = [
        dict(id=1, metric_id=METRIC, area_code=THURROCK, period_end=dt.date(2024, 3, 31), value=144.0,
             status="", source_id=1, version_id=1, **obs_common | {"period_label": "31 Mar 2024",
                                                                 "published_value": 144.0}),
        dict(id=2, metric_id=METRIC, area_code=THURROCK, period_end=dt.date(2025, 3, 31), value=121.0,
             status="", source_id=1, version_id=1, **obs_common | {"period_label": "31 Mar 2025",
                                                                 "published_value": 121.0}),
        dict(id=3, metric_id=METRIC, area_code="E92000001", period_end=dt.date(2025, 3, 31), value=50010.0,
             status="", source_id=1, version_id=1, **obs_common | {"period_label": "31 Mar 2025"}),
        dict(id=4, metric_id="cp_by_category", area_code=THURROCK, period_end=dt.date(2025, 3, 31), value=None,
             status="c", source_id=1, version_id=1,
             **obs_common | {"period_label": "31 Mar 2025", "breakdown": "category_of_abuse",
                             "breakdown_value": "SAB"}),
    ]
    imported = dict(metric_id=METRIC, area_code=THURROCK, period_end=dt.date(2026, 3, 31), value=130.0, status="",
                    source_id=2, **obs_common | {"period_label": "31 Mar 2026", "note": "entered by the analyst: \u00e9\u2014\u2713"})
    rate = dict(metric_id="cp_rate_31mar", area_code=THURROCK, period_end=dt.date(2026, 3, 31),
                value=0.1 + 0.2, status="", source_id=2,
                **obs_common | {"period_label": "31 Mar 2026", "numerator": 130.0, "denominator": 43333.0})
    target = dict(metric_id=METRIC, value=125.5, start=dt.date(2025, 4, 1), end=dt.date(2026, 3, 31), agency=None,
                  source="Partnership plan 2025-26", tolerance=0.05, tolerance_kind="relative", illustrative=False)
    return {
        "meta": [dict(key="schema", value="3"),
                 dict(key="fingerprint", value=hashlib.sha256(b"release 3 inputs").hexdigest())],
        "area": [
            dict(code="E92000001", old_code=None, name="England", level="national", region_code=None),
            dict(code="E12000006", old_code=None, name="East of England", level="regional", region_code=None),
            dict(code=THURROCK, old_code="883", name="Thurrock", level="la", region_code="E12000006"),
            dict(code="E06000033", old_code="882", name="Southend-on-Sea", level="la", region_code="E12000006"),
        ],
        "stat_neighbour": [dict(model="2021", la_code=THURROCK, rank=1, neighbour_code="E06000033",
                                closeness="Very close")],
        "source": [
            dict(id=1, key="dfe/d5_cpps_at31march_by_duration_2013_to_2025.csv", kind="published",
                 title="Characteristics of children in need: child protection plans (D5)",
                 publisher="Department for Education", vintage="EES file covering 2013 to 2025",
                 licence="Open Government Licence v3.0", url="https://explore-education-statistics.service.gov.uk/",
                 sha256="ab" * 32),
            dict(id=2, key=IMPORT_SOURCE, kind="import", title="Thurrock return 2026", publisher="Thurrock",
                 vintage="uploaded 2026-03-02", licence="", url=None, sha256=hashlib.sha256(RETURN_FILE).hexdigest()),
        ],
        "data_version": [
            dict(id=1, created_at=_t(1, 8, 0, 123456), kind="build", label="Built from data/",
                 fingerprint=hashlib.sha256(b"release 3 inputs").hexdigest(), created_by="system", rows=4,
                 rows_in_file=None, filename=None, restored_from=None, report=None),
            dict(id=2, created_at=_t(2, 10, 30), kind="import", label="Import of thurrock_return_2026.csv",
                 fingerprint=hashlib.sha256(RETURN_FILE).hexdigest(), created_by="bob.analyst", rows=2,
                 rows_in_file=2, filename="thurrock_return_2026.csv", restored_from=None,
                 report='{"accepted": true, "problems": [], "changes": {"added": 2}}'),
            dict(id=3, created_at=_t(3, 16, 45, 999999), kind="restore", label="Restore of data version 2",
                 fingerprint=None, created_by=ADMIN_NAME, rows=2, rows_in_file=None, filename=None, restored_from=2,
                 report=None),
        ],
        "version_file": [dict(version_id=2, filename="thurrock_return_2026.csv",
                              sha256=hashlib.sha256(RETURN_FILE).hexdigest(), size=len(RETURN_FILE),
                              content=RETURN_FILE)],
        "imported_target": [dict(id=1, version_id=2, **target), dict(id=2, version_id=3, **target)],
        "pending_upload": [dict(id=hashlib.sha256(b"pending token").hexdigest(), created_by="bob.analyst",
                                created_at=_t(4, 11, 5), filename="next_return.xlsx", content=PENDING_FILE)],
        "observation": build_obs + [
            dict(id=5, version_id=2, **imported), dict(id=6, version_id=2, **rate),
            dict(id=7, version_id=3, **imported), dict(id=8, version_id=3, **rate),
        ],
        "quality_flag": [
            dict(id=1, metric_id="cp_by_category", area_code=THURROCK, period_end=dt.date(2025, 3, 31),
                 severity="warning", message="The category of abuse breakdown adds up to 297, not 294.",
                 source_id=1, version_id=1),
            dict(id=2, metric_id="", area_code="", period_end=None, severity="warning",
                 message="A local return note", source_id=None, version_id=1),
        ],
        "app_user": [
            dict(id=1, name=ADMIN_NAME, role="admin", password_hash=password_hash, disabled=False,
                 created_at=_t(1, 7), must_change_password=False),
            dict(id=2, name="bob.analyst", role="analyst", password_hash=generate_password_hash(
                "another one", method="scrypt"), disabled=False, created_at=_t(1, 7, 5), must_change_password=True),
            dict(id=3, name="carol.viewer", role="viewer", password_hash="scrypt:32768:8:1$x$y", disabled=True,
                 created_at=_t(1, 7, 10), must_change_password=False),
        ],
        "share_link": [dict(id=1, token_hash=hashlib.sha256(LINK_TOKEN.encode()).hexdigest(), label="Ofsted ILACS 2026",
                            scope='{"las": ["883"], "metrics": []}', issued_by=ADMIN_NAME, created_at=_t(5, 9),
                            expires_at=dt.datetime(2099, 12, 31, 23, 59, 59), revoked_at=None,
                            last_used_at=_t(6, 14, 2), uses=3)],
        "auth_session": [dict(id=hashlib.sha256(SESSION_TOKEN.encode()).hexdigest(), user_id=1, link_id=None,
                              role="admin", created_at=_t(7, 9), last_seen_at=_t(7, 9, 20),
                              expires_at=dt.datetime(2099, 1, 1), ended_at=None, ended_reason=None, ip="10.1.2.3")],
        "audit_event": [
            dict(id=1, at=_t(1, 7), actor="cli", role="admin", action="user.create", target=ADMIN_NAME,
                 outcome="ok", ip="", detail="first run"),
            dict(id=2, at=_t(2, 10, 30), actor="bob.analyst", role="analyst", action="import.accepted",
                 target="thurrock_return_2026.csv", outcome="ok", ip="10.0.0.7", detail="data version 2"),
            dict(id=3, at=_t(3, 16, 45), actor=ADMIN_NAME, role="admin", action="version.restore",
                 target="version 2", outcome="ok", ip="10.0.0.8", detail="new version 3"),
            dict(id=4, at=_t(6, 14, 2), actor="link:1", role="inspector", action="signin.link", target="link:1",
                 outcome="ok", ip="192.0.2.10", detail=""),
        ],
    }


def insert_release_rows(engine: Engine, rows: dict[str, list[dict]]) -> None:
    """Write ``rows`` through tables reflected from the database (the release's own schema)."""
    md = MetaData()
    md.reflect(engine)
    with engine.begin() as conn:
        for table in md.sorted_tables:  # parents before children
            if rows.get(table.name):
                conn.execute(table.insert(), rows[table.name])
        if engine.dialect.name == "postgresql":  # ids were given: move the sequences past them
            for table in md.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement and rows.get(table.name) \
                        and isinstance(rows[table.name][0]["id"], int):
                    conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                         f"(SELECT max(id) FROM {table.name}))")


def raw_dump(engine: Engine, tables: list[str] | None = None) -> dict[str, list[tuple]]:
    """Every row of ``tables`` (default: every table) as the driver returns it, ordered by primary key."""
    insp = inspect(engine)
    names = tables or sorted(n for n in insp.get_table_names() if n != "alembic_version")
    out = {}
    with engine.connect() as conn:
        for name in names:
            pk = insp.get_pk_constraint(name)["constrained_columns"]
            order = ", ".join(f'"{c}"' for c in pk)
            out[name] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                         for r in conn.exec_driver_sql(f'SELECT * FROM "{name}" ORDER BY {order}')]
    return out


@dataclass
class MigDB:
    kind: str
    settings: Settings
    path: Path | None = None
    _cleanup: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.settings.database_url

    @property
    def engine(self) -> Engine:
        return store.get_engine(self.url)


class MigDatabases:
    def __init__(self, root: Path):
        self.root = root
        self.pg_admin = os.environ.get(TEST_DATABASE_ENV) or None
        self._n = 0
        self._pg: list[str] = []
        self._made: list[MigDB] = []

    def empty(self, kind: str) -> MigDB:
        self._n += 1
        d = self.root / f"{self._n:03d}-{kind}"
        d.mkdir(parents=True)
        if kind == "sqlite":
            path = d / "dashboard.db"
            db = MigDB(kind, make_settings(sqlite_url(path), d), path)
        else:
            if not self.pg_admin:
                pytest.skip(PG_SKIP)
            name = f"test_migrations_{uuid.uuid4().hex[:12]}"
            pg_execute(self.pg_admin, f'CREATE DATABASE "{name}"')
            self._pg.append(name)
            db = MigDB(kind, make_settings(pg_url(self.pg_admin, name), d))
        self._made.append(db)
        return db

    def release(self, kind: str, rows: dict[str, list[dict]] | None = None) -> MigDB:
        """A database of the last release before migrations, holding ``rows`` (default: release_rows())."""
        db = self.empty(kind)
        create_release_schema(db.engine)
        insert_release_rows(db.engine, release_rows() if rows is None else rows)
        return db

    def close(self) -> None:
        for db in self._made:
            forget_engine(db.url)
        for name in self._pg:
            pg_execute(self.pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def mig_databases(tmp_path_factory) -> Iterator[MigDatabases]:
    dbs = MigDatabases(tmp_path_factory.mktemp("migrations-tier"))
    yield dbs
    dbs.close()


@pytest.fixture(params=DIALECTS)
def dialect(request) -> str:
    if request.param == "postgresql" and not os.environ.get(TEST_DATABASE_ENV):
        pytest.skip(PG_SKIP)
    return request.param


def schema_of(engine: Engine) -> dict:
    """Everything about the dashboard's schema that a migration could get wrong, as plain values:
    per table its columns (type, nullability, default), primary key, foreign keys, indexes and
    unique constraints; and the triggers (with, on PostgreSQL, the trigger function's body)."""
    insp = inspect(engine)
    out: dict = {}
    for name in sorted(n for n in insp.get_table_names() if n != "alembic_version"):
        out[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in insp.get_columns(name)],
            "pk": insp.get_pk_constraint(name)["constrained_columns"],
            "fks": sorted((tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                          for fk in insp.get_foreign_keys(name)),
            "indexes": sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                              for ix in insp.get_indexes(name)),
            "uniques": sorted((uq["name"] or "", tuple(uq["column_names"])) for uq in insp.get_unique_constraints(name)),
        }
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            triggers = conn.exec_driver_sql(
                "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name").all()
        else:
            triggers = conn.exec_driver_sql(
                "SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid), p.prosrc FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE NOT t.tgisinternal ORDER BY t.tgname").all()
    out["triggers"] = [tuple(t) for t in triggers]
    return out
