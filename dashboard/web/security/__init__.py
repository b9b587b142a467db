"""Access control for the web app: one gate in front of every route, sessions tracked on the
server, inspector links, CSRF, security headers, and the admin pages.

The gate runs before every request. Public: sign-in, the link exchange, static assets, the health
check and the accessibility statement. Everything else needs a valid server-side session; Dash's
callback endpoint additionally checks the callback against ``dashboard.auth.policy.CALLBACK_ROLES``
and the request's inputs against the callback's registered inputs. dash-auth is not used.

Each part is a Flask blueprint, wired in by :func:`install_security`:

- ``gate``: the before-request check (malformed requests, Origin, public endpoints, roles, CSRF,
  callbacks), and ``errors``: the app's error answers;
- ``headers``: CSP, no-store and the other headers on every response;
- ``signin``: /login, /logout, /account/password, with throttling and the trusted-device cookie;
- ``links``: the /share exchange and the session's status and keep-alive;
- ``admin``: inspector links and the audit log.

Pages outside Dash are Jinja templates in ``dashboard/web/templates``.
"""
from __future__ import annotations

import datetime as dt

from flask import Flask, request
from flask_login import LoginManager

from ...auth import service as auth
from ...auth.policy import default_scope
from ...config import Settings
from . import admin, gate, headers, links, signin
from .core import (CSRF_COOKIE, CSRF_HEADER, SAFE_METHODS, SecretKeyMissing, SecurityState, client_ip, csrf_token,
                   log, page, principal, render_page, require_role, secret_key, who)
from .gate import callback_role_map, malformed_request, parse_callback_body, same_origin
from .headers import STATIC_ENDPOINTS, STATIC_PATH_PREFIXES, StaticFreeSessions
from .proxy import TrustedProxyFix

__all__ = [
    "CSRF_COOKIE", "CSRF_HEADER", "SAFE_METHODS", "STATIC_ENDPOINTS", "STATIC_PATH_PREFIXES", "SecretKeyMissing",
    "SecurityState",
    "TrustedProxyFix", "callback_role_map", "client_ip", "csrf_token", "default_scope", "install_security",
    "malformed_request", "page", "parse_callback_body", "principal", "render_page", "require_role", "same_origin",
    "secret_key", "who",
]


def install_security(app, mgr, settings: Settings) -> None:
    """Wire the gate, sessions, links, headers and admin pages into a Dash app (before it serves).

    Call it last: the gate reads every callback the app has registered.
    """
    server: Flask = app.server
    engine = mgr.engine
    from sqlalchemy.exc import SQLAlchemyError

    from ...store import init_db

    ready = {"db": False}

    def ensure_db() -> bool:
        """Create the tables once; with the database down the app still starts, and /healthz says why."""
        if not ready["db"]:
            try:
                init_db(engine)
                ready["db"] = True
            except SQLAlchemyError as exc:
                log.error("database not available: %s", type(exc).__name__)
        return ready["db"]

    ensure_db()
    policy = auth.SessionPolicy(idle=dt.timedelta(minutes=settings.idle_minutes),
                                absolute=dt.timedelta(hours=settings.session_hours))
    server.config.update(
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_NAME="sg_session",
        PERMANENT_SESSION_LIFETIME=policy.absolute,
        REMEMBER_COOKIE_DURATION=dt.timedelta(seconds=0),
        SESSION_PROTECTION="basic",
    )
    server.config["SESSION_POLICY"] = policy
    server.session_interface = StaticFreeSessions()
    if settings.trusted_proxies:
        server.wsgi_app = TrustedProxyFix(server.wsgi_app, settings.trusted_proxies)
    lm = LoginManager()
    lm.init_app(server)

    @lm.user_loader
    def _load(token: str):
        return auth.load_principal(engine, token, policy, touch=request.path not in ("/session/status",))

    sec = SecurityState(engine=engine, settings=settings, policy=policy, ensure_db=ensure_db)
    server.register_blueprint(gate.create_blueprint(app, mgr, sec))  # reads app.callback_map: callbacks first
    server.register_blueprint(gate.create_error_blueprint())
    server.register_blueprint(signin.create_blueprint(sec, server.config["SECRET_KEY"]))
    server.register_blueprint(links.create_blueprint(sec))
    server.register_blueprint(admin.create_blueprint(sec))
    server.register_blueprint(headers.create_blueprint(app, sec))  # last: its CSP hashes the app's inline scripts
