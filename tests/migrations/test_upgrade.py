"""Upgrading a database of the last release before migrations keeps every row, and the app serves it.

The database is made with that release's own DDL (``release3_<dialect>.sql``) and filled with the
kinds of rows people enter: users, an inspector link, a session, audit rows, a build, an import
with its original file, a restore, imported targets, quality flags and an upload waiting to be
confirmed. Each test upgrades it the way a deployment does (``init_db``, ``python -m dashboard
build``) and compares every table, as the driver returns it, with what was there before.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import shutil

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from dashboard import migrate, store
from tests.helpers import sign_in_named

from .conftest import (
    ADMIN_NAME,
    ADMIN_PASSWORD,
    LINK_TOKEN,
    METRIC,
    RETURN_FILE,
    raw_dump,
    release_rows,
    schema_of,
)

# Tables a build replaces (published data); everything else is what people entered.
BUILD_OWNED = ("area", "stat_neighbour", "source", "observation", "quality_flag")
# Tables migration 0003 adds (the panel's meetings): new, and empty after an upgrade.
MEETING_TABLES = ("action_history", "actions", "comments", "meetings")


def expected_after_upgrade(before: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """``before``, with the changes migrations 0002 and 0003 make: the schema marker says "alembic",
    and the meeting tables are there, empty."""
    after = dict(before)
    assert ("schema", "3") in before["meta"]
    after["meta"] = sorted(("schema", "alembic") if r == ("schema", "3") else r for r in before["meta"])
    for name in MEETING_TABLES:
        after.setdefault(name, [])
    return after


def test_release_database_is_what_the_release_made(mig_databases, dialect):
    """The fixture really is the old schema: no migration history, the release's marker, every row."""
    db = mig_databases.release(dialect)
    tables = set(inspect(db.engine).get_table_names())
    assert "alembic_version" not in tables
    assert migrate.current(db.engine) is None
    dump = raw_dump(db.engine)
    assert {name: len(rows) for name, rows in dump.items()} == {name: len(rows) for name, rows in release_rows().items()}
    assert ("schema", "3") in dump["meta"]


def test_upgrade_keeps_every_row(mig_databases, dialect):
    db = mig_databases.release(dialect)
    before = raw_dump(db.engine)
    store.init_db(db.engine)
    assert migrate.current(db.engine) == migrate.head()
    after = raw_dump(db.engine)
    assert after == expected_after_upgrade(before)
    # the original upload, byte for byte
    version_file = after["version_file"][0]
    assert RETURN_FILE in version_file
    # a second init_db changes nothing
    store.init_db(db.engine)
    assert raw_dump(db.engine) == after


def test_a_0002_database_upgrades_to_0003_and_keeps_every_row(mig_databases, dialect):
    """A database at 0002 (the release's rows, upgraded before the meeting tables existed), with
    people, a link, a session, audit rows, a build, an import and a restore, gets the meeting tables
    from 0003 and keeps every row of every table it had; the new tables work, and keep history."""
    from dashboard import meetings

    db = mig_databases.release(dialect)
    migrate.upgrade(db.engine, target="0002")
    assert migrate.current(db.engine) == "0002"
    assert not set(MEETING_TABLES) & set(inspect(db.engine).get_table_names())
    before = raw_dump(db.engine)
    assert before["app_user"] and before["share_link"] and before["auth_session"] and before["version_file"]

    store.init_db(db.engine)
    assert migrate.current(db.engine) == migrate.head() == "0003"
    after = raw_dump(db.engine)
    assert {k: v for k, v in after.items() if k not in MEETING_TABLES} == before
    assert all(after[name] == [] for name in MEETING_TABLES)

    m = meetings.create_meeting(db.engine, date=dt.date(2026, 4, 1), title="Panel", actor=ADMIN_NAME, role="admin")
    c = meetings.add_comment(db.engine, metric_id=METRIC, period_end=dt.date(2026, 3, 31), la_code="E06000034",
                             data_says="Plans fell.", why="", doing="", actor=ADMIN_NAME, role="admin")
    for stmt in (f"UPDATE comments SET why = 'changed' WHERE id = {c.id}", f"DELETE FROM comments WHERE id = {c.id}"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(stmt))
    again = raw_dump(db.engine)
    assert {k: v for k, v in again.items() if k not in MEETING_TABLES + ("audit_event",)} == \
        {k: v for k, v in before.items() if k != "audit_event"}
    assert again["audit_event"][:len(before["audit_event"])] == before["audit_event"]
    assert [r[0] for r in again["meetings"]] == [m.id]


def test_upgraded_audit_log_still_refuses_update_and_delete(mig_databases, dialect):
    db = mig_databases.release(dialect)
    store.init_db(db.engine)
    for stmt in ("UPDATE audit_event SET outcome = 'denied' WHERE id = 2", "DELETE FROM audit_event WHERE id = 1",
                 "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(stmt))
    with db.engine.begin() as conn:  # appending still works
        conn.execute(text("INSERT INTO audit_event (at, actor, role, action, target, outcome, ip, detail) "
                          "VALUES ('2026-04-01 00:00:00.000000', 'cli', 'admin', 'test', '', 'ok', '', '')"))
    assert len(raw_dump(db.engine, ["audit_event"])["audit_event"]) == len(release_rows()["audit_event"]) + 1


def test_upgraded_database_has_the_same_schema_as_a_new_one(mig_databases, dialect):
    """Stamping the release's database as 0001 is honest: after the upgrade it cannot be told from a
    database made from nothing by the migrations."""
    old = mig_databases.release(dialect)
    new = mig_databases.empty(dialect)
    store.init_db(old.engine)
    store.init_db(new.engine)
    assert schema_of(old.engine) == schema_of(new.engine)


def test_app_serves_the_upgraded_database(mig_databases, dialect):
    """create_app upgrades the release's database; its admin signs in with the old password, the
    inspector link still opens, and the data shown is the release's (build and restored import)."""
    from dashboard.web.app import create_app

    db = mig_databases.release(dialect)
    app = create_app(db.settings)
    assert migrate.current(db.engine) == migrate.head()

    client = app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    sign_in_named(client, ADMIN_NAME, ADMIN_PASSWORD)

    health = client.get("/healthz")
    assert health.status_code == 200, health.get_data(as_text=True)
    assert health.get_json()["data_version"] == 3  # the restore is the newest version

    resp = client.get(f"/download/metric/{METRIC}.csv")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    values = {r["period_end"]: float(r["value"]) for r in rows if r["value"] not in ("", "nan", "None")}
    assert values == {"2024-03-31": 144.0, "2025-03-31": 121.0, "2026-03-31": 130.0}, rows
    assert {r["data_version"] for r in rows} == {"3"}

    inspector = app.server.test_client()
    inspector.environ_base["REMOTE_ADDR"] = "10.9.8.6"
    assert inspector.get(f"/share/{LINK_TOKEN}").status_code == 303

    # the sign-ins were written to the same, migrated audit log, after the release's rows
    audit = raw_dump(db.engine, ["audit_event"])["audit_event"]
    before = len(release_rows()["audit_event"])
    assert [r[0] for r in audit[:before]] == [r["id"] for r in release_rows()["audit_event"]]
    assert any(r[4] == "signin.success" and r[2] == ADMIN_NAME for r in audit[before:]), audit[before:]


def test_build_upgrades_in_place_and_replaces_only_the_build_layer(mig_databases, dialect, monkeypatch):
    """``make run`` runs ``python -m dashboard build --if-stale``: on the release's database it
    upgrades the schema, keeps everything people entered and rebuilds only the published layer."""
    from dashboard.cli import main

    db = mig_databases.release(dialect)
    before = expected_after_upgrade(raw_dump(db.engine))
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("DASHBOARD_INSTANCE_DIR", str(db.settings.instance_dir))
    monkeypatch.delenv("DASHBOARD_DATA_DIR", raising=False)
    assert main(["build", "--if-stale"]) == 0
    assert migrate.current(db.engine) == migrate.head()
    after = raw_dump(db.engine)

    for name in set(before) - set(BUILD_OWNED) - {"data_version", "meta"}:
        assert after[name] == before[name], name
    # the data versions are a log: the three kept as they were, one new build after them
    assert after["data_version"][:3] == before["data_version"]
    assert [r[2] for r in after["data_version"][3:]] == ["build"]
    # the import and the restore keep their observations and their source; the old build's are gone
    import_rows = [r for r in before["observation"] if r[-2] in (2, 3)]
    assert [r for r in after["observation"] if r[-2] in (2, 3)] == import_rows
    assert not [r for r in after["observation"] if r[-2] == 1]
    assert [r for r in after["source"] if r[1].startswith("import/")] == \
        [r for r in before["source"] if r[1].startswith("import/")]
    assert dict(after["meta"])["schema"] == "alembic"
    assert dict(after["meta"])["fingerprint"] != dict(before["meta"])["fingerprint"]


# --------------------------------------------------------------------------- failures


FAILING_REVISION = '''"""A deliberately failing migration, for the tests.

Revision ID: 9999
Revises: {down}
"""
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("doomed", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("app_user", sa.Column("nickname", sa.String(40), nullable=True))
    op.execute("UPDATE app_user SET role = 'viewer'")
    op.execute("DELETE FROM pending_upload")
    op.execute("UPDATE meta SET value = 'half-way' WHERE key = 'fingerprint'")
    raise RuntimeError("this migration fails half-way")


def downgrade():
    raise NotImplementedError
'''


@pytest.fixture
def failing_migrations(tmp_path):
    """A copy of the package's migrations with a last revision that changes things and then fails."""
    location = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, location, ignore=shutil.ignore_patterns("__pycache__"))
    (location / "versions" / "9999_fails.py").write_text(FAILING_REVISION.format(down=migrate.head()))
    return location


def test_failed_upgrade_of_a_release_database_changes_nothing(mig_databases, dialect, failing_migrations):
    """The stamp, 0002 and the failing revision are one transaction: all of it rolls back,
    the DDL included (no alembic_version, no new table or column)."""
    db = mig_databases.release(dialect)
    before = raw_dump(db.engine)
    tables_before = set(inspect(db.engine).get_table_names())
    with pytest.raises(RuntimeError, match="fails half-way"):
        migrate.upgrade(db.engine, script_location=failing_migrations)
    insp = inspect(db.engine)
    assert set(insp.get_table_names()) == tables_before
    assert "nickname" not in {c["name"] for c in insp.get_columns("app_user")}
    assert raw_dump(db.engine) == before
    assert migrate.current(db.engine) is None
    # the real migrations still upgrade it afterwards
    store.init_db(db.engine)
    assert raw_dump(db.engine) == expected_after_upgrade(before)


def test_failed_upgrade_of_a_migrated_database_changes_nothing(mig_databases, dialect, failing_migrations):
    db = mig_databases.release(dialect)
    store.init_db(db.engine)
    before = raw_dump(db.engine)
    tables_before = set(inspect(db.engine).get_table_names())
    with pytest.raises(RuntimeError, match="fails half-way"):
        migrate.upgrade(db.engine, script_location=failing_migrations)
    assert set(inspect(db.engine).get_table_names()) == tables_before
    assert raw_dump(db.engine) == before
    assert migrate.current(db.engine) == migrate.head()


def test_database_of_an_unknown_revision_is_refused_untouched(mig_databases, dialect):
    db = mig_databases.release(dialect)
    store.init_db(db.engine)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
    before = raw_dump(db.engine)
    with pytest.raises(migrate.SchemaMismatch, match="f00dcafe"):
        store.init_db(db.engine)
    assert raw_dump(db.engine) == before


def test_database_of_an_older_schema_is_refused_untouched(mig_databases, dialect):
    """Dashboard tables without migration history and with another marker are never dropped."""
    rows = release_rows()
    rows["meta"] = [dict(key="schema", value="2")]
    db = mig_databases.release(dialect, rows)
    before = raw_dump(db.engine)
    with pytest.raises(migrate.SchemaMismatch, match="'2'"):
        store.init_db(db.engine)
    assert raw_dump(db.engine) == before
    assert "alembic_version" not in inspect(db.engine).get_table_names()


def test_workers_starting_together_upgrade_once(mig_databases, dialect):
    """gunicorn workers each call init_db at start: on one database, at the same moment, one of them
    upgrades and the others find it done (the schema lock), none fails."""
    from concurrent.futures import ThreadPoolExecutor

    db = mig_databases.release(dialect)
    before = raw_dump(db.engine)
    engines = [store.make_engine(db.url) for _ in range(3)]  # one engine each, as separate processes have
    try:
        with ThreadPoolExecutor(max_workers=len(engines)) as pool:
            results = list(pool.map(lambda e: migrate.upgrade(e), engines))
    finally:
        for e in engines:
            e.dispose()
    assert sorted(r[0] for r in results if r[0] is None) == [None], results  # exactly one started from none
    assert all(r[1] == migrate.head() for r in results), results
    assert raw_dump(db.engine) == expected_after_upgrade(before)
