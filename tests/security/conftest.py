"""Fixtures for the HTTP-level access-control tier.

One built database and one app for the whole tier (a test that needs other settings, or the
suppression module, which needs small numbers in the data, makes its own app). Every client gets
its own made-up IP address, so that audit rows can be told apart, and so that failed sign-ins in
one test never count towards the per-IP throttle of another (the database may outlive a run on
the PostgreSQL tier, so nothing here depends on a fixed name or address being fresh).

Clients are driven as a browser drives the app: the renderer's callback bodies are built from
the ``/_dash-dependencies`` graph that the server publishes, never from the app's internals
(tests/helpers.py, shared with the web and browser tiers).
"""
from __future__ import annotations

import datetime as dt
import secrets
import uuid

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dashboard import store
from dashboard.auth import service as auth
from dashboard.auth.models import AuditEvent, AuthSession, ShareLink
from dashboard.config import Settings
from tests.helpers import (  # noqa: F401  - re-exported for the tier's tests
    ROLE_PASSWORD, body_for, by_id, create_inspector_link, csrf_of, find_callback, form_csrf, open_inspector_link,
    output_specs, page_of, post_callback, router, router_body, send_csrf_header, sign_in, sign_in_as, sign_in_named,
    text_of, walk,
)

ALL_ROLES = ("anonymous", "inspector", "viewer", "analyst", "admin")
SIGNED_IN_ROLES = ALL_ROLES[1:]


# --------------------------------------------------------------------------- app and database


@pytest.fixture(scope="session")
def sec_settings(built_db: Settings) -> Settings:
    return built_db


@pytest.fixture(scope="session")
def engine(sec_settings: Settings):
    eng = store.get_engine(sec_settings.database_url)
    store.init_db(eng)
    return eng


@pytest.fixture(scope="session")
def app(sec_settings: Settings):
    from dashboard.web.app import create_app

    return create_app(sec_settings)


@pytest.fixture(scope="session")
def deps(app, engine) -> list[dict]:
    """The callback graph as the server publishes it (read as an admin)."""
    c = client_as(app, engine, "admin")
    resp = c.get("/_dash-dependencies")
    assert resp.status_code == 200
    return resp.get_json()


# --------------------------------------------------------------------------- clients


def utc_now() -> dt.datetime:
    """Now in UTC without a time zone, as the session and link columns hold it."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def unique(prefix: str) -> str:
    """A name no earlier run can have used (the PostgreSQL database may outlive a run)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_client(app, ip: str | None = None):
    """A test client that looks like a browser on its own (made-up, private) IP address."""
    c = app.server.test_client()
    c.environ_base["REMOTE_ADDR"] = ip or f"10.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}." \
                                          f"{secrets.randbelow(250) + 1}"
    return c


def client_as(app, engine, role: str):
    """A fresh client signed in as ``role`` (anonymous: not signed in). Inspectors are scoped to 883."""
    c = new_client(app)
    if role != "anonymous":
        sign_in(c, engine, role)
    return c


class RoleClients:
    """One signed-in client per role, made on first use and reused (sign-in costs a scrypt hash)."""

    def __init__(self, app, engine):
        self.app, self.engine, self._made = app, engine, {}

    def __getitem__(self, role: str):
        if role not in self._made:
            self._made[role] = client_as(self.app, self.engine, role)
        return self._made[role]


@pytest.fixture(scope="module")
def clients(app, engine) -> RoleClients:
    """Signed-in clients shared by a module's tests; a test that ends a session makes its own client."""
    return RoleClients(app, engine)


def staff_user(engine, role: str) -> str:
    """A new staff user of ``role`` with ROLE_PASSWORD, for tests that disable or throttle someone."""
    name = unique(f"sec-{role}")
    auth.create_user(engine, name, role, ROLE_PASSWORD)
    return name


def make_link(engine, scope: dict | None = None, *, label: str | None = None,
              lifetime: dt.timedelta = dt.timedelta(days=1)) -> tuple[ShareLink, str]:
    """A new inspector link (via ``service.create_link``) and its token; the row is read back by the token's hash."""
    _link, token = create_inspector_link(engine, scope, label=label or unique("sec inspector"), lifetime=lifetime)
    with Session(engine) as s:
        return s.scalars(select(ShareLink).where(ShareLink.token_hash == auth.token_hash(token))).one(), token


def open_link(app, engine, scope: dict | None = None, *, label: str | None = None):
    """A new inspector link; returns (link, token, client that opened it)."""
    link, token = make_link(engine, scope, label=label)
    return link, token, open_inspector_link(new_client(app), token)


def copy_cookies(src, dst) -> None:
    """Copy the session and CSRF cookies from one client to another (a stolen or replayed cookie jar)."""
    for name in ("sg_session", "_csrf_token"):
        cookie = src.get_cookie(name)
        if cookie is not None:
            dst.set_cookie(name, cookie.value)


def session_token(app, client) -> str:
    """The server-side session token inside a client's signed session cookie."""
    raw = client.get_cookie("sg_session").value
    data = app.server.session_interface.get_signing_serializer(app.server).loads(raw)
    return data["_user_id"]


def session_row(engine, app, client) -> AuthSession:
    with Session(engine) as s:
        return s.get(AuthSession, auth.token_hash(session_token(app, client)))


def update_row(engine, model, key, **values) -> None:
    """Change columns of one row (by primary key) straight in the database."""
    with Session(engine) as s, s.begin():
        s.execute(update(model).where(model.__table__.primary_key.columns.values()[0] == key).values(**values))


def audit_events(engine, *, ip: str | None = None, action: str | None = None, since_id: int = 0) -> list[AuditEvent]:
    with Session(engine) as s:
        q = select(AuditEvent).where(AuditEvent.id > since_id).order_by(AuditEvent.id)
        if ip is not None:
            q = q.where(AuditEvent.ip == ip)
        if action is not None:
            q = q.where(AuditEvent.action == action)
        return list(s.scalars(q))


def last_audit_id(engine) -> int:
    with Session(engine) as s:
        return int(s.execute(select(func.max(AuditEvent.id))).scalar() or 0)


def link_row(engine, link_id: int) -> ShareLink:
    with Session(engine) as s:
        return s.get(ShareLink, link_id)


# --------------------------------------------------------------------------- responses


def no_traceback(resp) -> None:
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text, text[:500]
