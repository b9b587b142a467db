"""The migrations make exactly the right schema: 0001 is the last release's, head is the models'."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, String

from dashboard import migrate
from dashboard.models import Base

from .conftest import create_release_schema, schema_of


def _diff(engine, metadata: MetaData) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, metadata)


def test_one_line_of_revisions():
    script = migrate._script(str(migrate.MIGRATIONS_DIR))
    assert script.get_heads() == [migrate.head()]
    assert script.get_base() == migrate.RELEASE_REVISION


def test_revision_0001_is_the_release_schema(mig_databases, dialect):
    """Tables, columns, keys, indexes, unique constraints and audit triggers of 0001 are those the
    release's own DDL makes, on this dialect."""
    release = mig_databases.empty(dialect)
    create_release_schema(release.engine)
    migrated = mig_databases.empty(dialect)
    assert migrate.upgrade(migrated.engine, target=migrate.RELEASE_REVISION) == (None, migrate.RELEASE_REVISION)
    assert migrate.current(migrated.engine) == migrate.RELEASE_REVISION
    want, got = schema_of(release.engine), schema_of(migrated.engine)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], name
    assert len(want["triggers"]) == (2 if dialect == "sqlite" else 1)


def test_head_has_the_models_schema(mig_databases, dialect):
    """A model changed without a migration fails here: the database that the migrations make from
    nothing and the models' metadata differ in nothing autogenerate can see."""
    db = mig_databases.empty(dialect)
    migrate.upgrade(db.engine)
    assert _diff(db.engine, Base.metadata) == []


def test_a_model_change_without_a_migration_is_seen(mig_databases, dialect):
    """The comparison above can fail: a column added to a model, or a model added, shows as a difference."""
    db = mig_databases.empty(dialect)
    migrate.upgrade(db.engine)
    changed = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["app_user"].append_column(Column("nickname", String(40)))
    diff = _diff(db.engine, changed)
    assert [d[0] for d in diff] == ["add_column"] and diff[0][3].name == "nickname", diff
    changed.remove(changed.tables["pending_upload"])
    removed = [d[1].name for d in _diff(db.engine, changed) if isinstance(d, tuple) and d[0] == "remove_table"]
    assert removed == ["pending_upload"]
