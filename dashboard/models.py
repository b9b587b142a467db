"""Every table of the dashboard, in one place: the declarative ``Base`` and all the models on it.

The data layer (areas, sources, data versions, observations, imports) and the access-control
layer (people, sessions, inspector links, the audit log) share one database and one metadata, so
that the migrations in ``dashboard/migrations`` describe all of it and a test can compare the
migrated schema with these classes. ``dashboard.store`` and ``dashboard.auth.models`` re-export
them; nothing here imports from the rest of the package.

Tables are created and changed only by migrations (``dashboard.migrate``), never by
``Base.metadata.create_all``: a change to a model needs a new revision in
``dashboard/migrations/versions`` (the migration tier fails until it has one).
"""
from __future__ import annotations

import datetime as dt

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
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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
    key: Mapped[str] = mapped_column(String(200), unique=True)  # e.g. "dfe/d5_cpps_at31march_by_duration_....csv"
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


# -- access control -------------------------------------------------------------------------

class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | analyst | viewer (inspector only from a link)
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)


class ShareLink(Base):
    """An inspector link. Only the SHA-256 of its token is stored; the URL is shown once."""

    __tablename__ = "share_link"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(Text, default="{}")  # JSON: {"las": [...], "metrics": [...]}
    issued_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    uses: Mapped[int] = mapped_column(Integer, default=0)


class AuthSession(Base):
    """A signed-in session, tracked on the server so that sign-out and revocation end it."""

    __tablename__ = "auth_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's token
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    link_id: Mapped[int | None] = mapped_column(ForeignKey("share_link.id"))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)  # absolute limit
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str | None] = mapped_column(String(64))


class AuditEvent(Base):
    """Append-only: the application never updates or deletes a row, and the database refuses to
    (triggers made by migration 0001 for SQLite and PostgreSQL)."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    actor: Mapped[str] = mapped_column(String(120))  # user name, "link:<id>", "anonymous", "cli"
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(60))  # e.g. signin.success, callback.denied, download
    target: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(16))  # ok | denied | failed
    ip: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")



# -- the panel's meetings: commentary and actions ------------------------------------------

class Meeting(Base):
    """A Performance Improvement Panel meeting: a date and a title."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC


class Comment(Base):
    """Commentary on one metric, period and authority (optionally one agency's figure).

    Append-only (the database refuses updates and deletes, migration 0003): a correction, and
    publishing a draft, are new rows that name the row they supersede, so every version is kept.
    """

    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_id: Mapped[str] = mapped_column(String(64))
    period_end: Mapped[dt.date] = mapped_column(Date)
    la_code: Mapped[str] = mapped_column(String(16))  # GSS code
    agency: Mapped[str | None] = mapped_column(String(80))
    data_says: Mapped[str] = mapped_column(Text, default="")  # what the data tells us
    why: Mapped[str] = mapped_column(Text, default="")
    doing: Mapped[str] = mapped_column(Text, default="")  # what is being done
    author: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    status: Mapped[str] = mapped_column(String(16))  # draft | published
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"))

    __table_args__ = (Index("ix_comments_metric_la", "metric_id", "la_code"),)


class Action(Base):
    """An action in the panel's challenge log, set at a meeting about a metric. Every change is a
    row of ``action_history`` (and an audit row)."""

    __tablename__ = "actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    agency: Mapped[str] = mapped_column(String(80))  # the owning agency
    due_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # open | done | dropped
    metric_id: Mapped[str] = mapped_column(String(64))
    la_code: Mapped[str] = mapped_column(String(16))  # GSS code
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC

    __table_args__ = (Index("ix_actions_metric_la", "metric_id", "la_code"),)


class ActionChange(Base):
    """Append-only history of an action: one row when it is set and one per change, with the
    values after the change (the database refuses updates and deletes, migration 0003)."""

    __tablename__ = "action_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    by: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    agency: Mapped[str] = mapped_column(String(80))
    due_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
