"""Alembic environment: runs on the connection ``dashboard.migrate`` hands over, inside its transaction.

The caller has already begun a transaction (and taken a lock) on that connection, so every
revision of an upgrade, and the stamp of a database made by the release before migrations, is
one transaction: a failure rolls all of it back and leaves the database as it was.
"""
from __future__ import annotations

from alembic import context

from dashboard.models import Base

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations through dashboard.migrate (python -m dashboard db upgrade), "
                       "which passes a connection in a transaction")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    transactional_ddl=True,
    transaction_per_migration=False,
    compare_type=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
