"""The meta row ``schema`` says "alembic": alembic_version now holds the schema's revision.

The release before migrations checks that row for ``'3'`` and, finding anything else in a
database that holds users or imports, refuses to start instead of using tables it does not
understand; so running that older release against an upgraded database fails safe. The row
stays, because imports lock it (dashboard.imports._lock_imports).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.Text))
    op.execute(meta.update().where(meta.c.key == "schema").values(value="alembic"))


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported: restore the backup taken before upgrading")
