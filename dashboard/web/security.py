"""Access control for the web app: one gate in front of every route, sessions tracked on the
server, inspector links, CSRF, security headers, and the admin pages.

The gate runs before every request. Public: sign-in, the link exchange, static assets, the health
check and the accessibility statement. Everything else needs a valid server-side session; Dash's
callback endpoint additionally checks the callback against ``dashboard.auth.policy.CALLBACK_ROLES``
and the request's inputs against the callback's registered inputs. dash-auth is not used.
"""
from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
from functools import wraps
from html import escape
from pathlib import Path
from urllib.parse import quote, urlsplit

from flask import Flask, Response, abort, jsonify, redirect, request, session
from flask_login import LoginManager, current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.middleware.proxy_fix import ProxyFix

from ..auth import service as auth
from ..auth.policy import ADMINS, CALLBACK_ROLES, PUBLIC_ENDPOINTS, STAFF, roles_for
from ..config import Settings
from ..routes import match_page

log = logging.getLogger(__name__)

CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
DEVICE_COOKIE = "sg_device"
DEVICE_DAYS = 90
#: Endpoints whose responses are static files, the same for everyone: cacheable. Everything else is no-store.
STATIC_ENDPOINTS = frozenset({"_dash_assets.static", "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
                              "/_favicon.ico", "favicon"})
MAX_CALLBACK_BYTES = 1024 * 1024  # a callback body is a few kilobytes; anything this big is refused unread
MAX_URL_CHARS = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class SecretKeyMissing(RuntimeError):
    pass


def secret_key(settings: Settings) -> str:
    """SECRET_KEY from the environment; in production refuse to start without one, locally make one and keep it."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if settings.production:
        raise SecretKeyMissing("SECRET_KEY is not set: refusing to start in production mode (DASHBOARD_ENV=production)")
    path = Path(settings.instance_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        log.warning("SECRET_KEY is not set: generated one for local use in %s. Set SECRET_KEY in production.", path)
    return path.read_text().strip()


def client_ip() -> str:
    return request.remote_addr or ""


def principal() -> auth.Principal | None:
    """The signed-in principal, or None (also when the session store cannot be read)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        user = current_user
        return user if getattr(user, "is_authenticated", False) else None
    except SQLAlchemyError:
        return None


def who() -> tuple[str, str]:
    p = principal()
    return (p.actor, p.role) if p else ("anonymous", "anonymous")


def csrf_token() -> str:
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(32)
    return tok


def _csrf_ok(sent: str | None) -> bool:
    expected = session.get("csrf")
    return bool(sent and expected and hmac.compare_digest(str(sent), str(expected)))


def require_role(*roles: str) -> auth.Principal:
    """Inside a callback or route that changes something: check the role again, from the server session."""
    p = principal()
    if p is None or p.role not in roles:
        abort(403)
    return p


# -- pages outside Dash (plain HTML, no inline script) ------------------------------------

def page(title: str, body: str, status: int = 200) -> Response:
    html = f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - Safeguarding performance</title>
<link rel="stylesheet" href="/assets/00-bootstrap-5.3.9.min.css"><link rel="stylesheet" href="/assets/style.css">
</head><body><a class="skip-link" href="#main">Skip to main content</a>
<header class="site-header"><div class="container-xl"><a class="brand" href="/">Safeguarding performance</a></div></header>
<main id="main" class="container-xl" tabindex="-1"><h1 id="page-heading">{escape(title)}</h1>{body}</main>
<footer class="site-footer"><div class="container-xl"><a href="/accessibility">Accessibility statement</a></div></footer>
</body></html>"""
    return Response(html, status=status, mimetype="text/html")


def _login_form(message: str = "", next_url: str = "/", name: str = "") -> str:
    err = f'<div class="alert alert-danger" role="alert" id="signin-error">{escape(message)}</div>' if message else ""
    return f"""{err}
<form method="post" action="/login" class="signin" style="max-width:28rem">
<input type="hidden" name="csrf_token" value="{escape(csrf_token())}">
<input type="hidden" name="next" value="{escape(next_url)}">
<div class="mb-3"><label class="form-label" for="username">User name</label>
<input class="form-control" id="username" name="username" autocomplete="username" required value="{escape(name)}"></div>
<div class="mb-3"><label class="form-label" for="password">Password</label>
<input class="form-control" id="password" name="password" type="password" autocomplete="current-password" required></div>
<button class="btn btn-primary" type="submit">Sign in</button>
</form>
<p class="mt-3">Inspectors: open the link you were sent. Your session ends after 30 minutes without activity.</p>"""


def _safe_next(url: str | None) -> str:
    """A local path to go to after signing in; anything else (another site, control characters) is "/"."""
    url = url or "/"
    if _CONTROL.search(url) or "\\" in url:
        return "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return "/"
    return url


def malformed_request() -> Response | None:
    """A short 4xx for a request no browser of ours sends, checked before anything reads it."""
    if len(request.full_path) > MAX_URL_CHARS:
        return jsonify(error="the address is too long"), 414
    if _CONTROL.search(request.path) or any(_CONTROL.search(k) or _CONTROL.search(v)
                                            for k, v in request.args.items(multi=True)):
        return jsonify(error="the address has control characters in it"), 400
    return None


def same_origin() -> bool:
    """For a state-changing request: its Origin (or, without one, its Referer) is this site, or absent."""
    site = f"{request.scheme}://{request.host}".lower()
    origin = request.headers.get("Origin")
    if origin == "null":  # an opaque origin: a sandboxed frame, a data: page, or a no-referrer cross-site form
        return False
    if origin:
        return origin.rstrip("/").lower() == site
    referer = request.headers.get("Referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}".lower() == site
    return True


class TrustedProxyFix:
    """Werkzeug's ProxyFix, applied only to requests whose peer is one of the configured proxies.

    ``DASHBOARD_TRUSTED_PROXIES`` lists their addresses or networks. A request from anywhere else
    keeps its own peer address, whatever X-Forwarded-For it carries, so a client that reaches the
    app directly cannot pretend to be someone else (or make everyone share one address).
    """

    def __init__(self, app, proxies: tuple[str, ...]):
        self.app = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=0, x_port=0, x_prefix=0)
        self.networks = [ipaddress.ip_network(p, strict=False) for p in proxies]

    def _trusted(self, peer: str) -> bool:
        try:
            addr = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(addr in net for net in self.networks)

    def __call__(self, environ, start_response):
        if self.networks and self._trusted(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)


def _callback_body_ok(body) -> bool:
    """The shape of a callback request as the renderer sends it; anything else is refused."""
    def is_prop(item) -> bool:
        return (isinstance(item, dict) and isinstance(item.get("property"), str)
                and isinstance(item.get("id"), (str, dict)))

    def props(items) -> bool:
        return isinstance(items, list) and all(
            is_prop(i) or (isinstance(i, list) and all(is_prop(j) for j in i)) for i in items)

    if not isinstance(body, dict) or not isinstance(body.get("output"), str) or len(body["output"]) > 2000:
        return False
    outputs = body.get("outputs")
    if not (is_prop(outputs) or (isinstance(outputs, list) and all(is_prop(o) for o in outputs))):
        return False
    if not props(body.get("inputs")) or not props(body.get("state", [])):
        return False
    changed = body.get("changedPropIds", [])
    return isinstance(changed, list) and all(isinstance(c, str) for c in changed)


def parse_callback_body() -> dict | None:
    """The JSON body of a callback request, or None when it is not JSON of the expected shape."""
    try:
        body = json.loads(request.get_data(cache=True) or b"")
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None
    try:
        return body if _callback_body_ok(body) else None
    except RecursionError:
        return None


def install_security(app, mgr, settings: Settings) -> None:
    """Wire the gate, sessions, links, headers and admin pages into a Dash app (before it serves)."""
    server: Flask = app.server
    engine = mgr.engine
    from sqlalchemy.exc import SQLAlchemyError

    from ..store import init_db

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
    if settings.trusted_proxies:
        server.wsgi_app = TrustedProxyFix(server.wsgi_app, settings.trusted_proxies)
    lm = LoginManager()
    lm.init_app(server)

    @lm.user_loader
    def _load(token: str):
        return auth.load_principal(engine, token, policy, touch=request.path not in ("/session/status",))

    callback_roles = callback_role_map(app)
    server.config["CALLBACK_ROLE_MAP"] = callback_roles
    callback_inputs = {out: _input_signature(spec) for out, spec in app.callback_map.items()}

    def log_event(action: str, outcome: str = "ok", target: str = "", detail: str = "") -> None:
        actor, role = who()
        auth.audit(engine, actor=actor, role=role, action=action, outcome=outcome, target=target, ip=client_ip(),
                   detail=detail)

    def deny(status: int, reason: str, target: str = ""):
        log_event("request.denied" if not request.path.startswith("/_dash-update") else "callback.denied", "denied",
                  target or request.path, reason)
        if status == 401 and request.method == "GET" and _wants_html():
            return redirect("/login?next=" + quote(request.full_path.rstrip("?"), safe="/"))
        return jsonify(error=reason), status

    @server.before_request
    def gate():
        path = request.path
        bad = malformed_request()
        if bad is not None:
            return bad
        if request.method not in SAFE_METHODS and not same_origin():
            log_event("request.denied", "denied", path, "cross-site request (Origin or Referer is another site)")
            return jsonify(error="this request came from another site"), 403
        endpoint = request.url_rule.endpoint if request.url_rule is not None else None
        if endpoint in PUBLIC_ENDPOINTS:
            return None
        if request.url_rule is None:
            return None  # no such route: Flask answers 404/405 and nothing is served
        if endpoint == "/<path:path>" and match_page(path, mgr.registry) is None:
            return _not_found()
        if not ensure_db():
            return jsonify(error="the database is not available; try again shortly"), 503
        p = principal()
        if path == "/_dash-update-component":
            return _gate_callback(p)
        roles = roles_for(path, endpoint)
        if p is None:
            return deny(401, "sign in first")
        if roles is None or p.role not in roles:
            return deny(403, f"the {p.role} role may not use {path}")
        if p.must_change_password and path not in ("/account/password", "/logout"):
            if request.method == "GET" and not path.startswith("/_dash"):
                return redirect("/account/password")
            return jsonify(error="change your one-time password first, at /account/password"), 403
        if request.method not in SAFE_METHODS and not _csrf_ok(request.form.get("csrf_token")
                                                              or request.headers.get(CSRF_HEADER)):
            return deny(403, "missing or wrong CSRF token")
        return None

    def _not_found():
        if _wants_html():
            return page("Page not found", "<p>There is no page at this address.</p>"
                                          "<p><a href=\"/\">Go to the dashboard</a></p>", 404)
        return jsonify(error="not found"), 404

    def _gate_callback(p):
        # Who is asking is settled before the body is read: nothing a stranger sends is parsed.
        if request.method != "POST":
            return deny(405, "callbacks are POST only")
        if p is None:
            return deny(401, "sign in first")
        if p.must_change_password:
            return deny(403, "change your one-time password first, at /account/password")
        if not _csrf_ok(request.headers.get(CSRF_HEADER)):
            return deny(403, "missing or wrong CSRF token")
        if (request.content_length or 0) > MAX_CALLBACK_BYTES:
            return jsonify(error="a callback request needs a body of at most 1 MB"), 413
        body = parse_callback_body() if request.content_length else None
        if body is None:
            log.warning("malformed callback body from %s", client_ip())
            log_event("callback.malformed", "denied", "/_dash-update-component", "malformed body")
            return jsonify(error="malformed callback request"), 400
        output = body["output"]
        roles = callback_roles.get(output)
        if roles is None or p.role not in roles:
            return deny(403, f"the {p.role} role may not call this callback", output)
        try:
            sent = _input_signature({"inputs": body["inputs"], "state": body.get("state", [])})
            outs = _output_signature(body.get("outputs"))
        except (TypeError, KeyError, AttributeError):
            return jsonify(error="malformed callback request"), 400
        if sent != callback_inputs.get(output):
            return deny(400, "inputs do not match the callback", output)
        if outs != _outputs_of(output):
            return deny(400, "outputs do not match the callback", output)
        return None

    @server.after_request
    def headers(resp: Response):
        h = resp.headers
        h["Content-Security-Policy"] = csp
        h["X-Content-Type-Options"] = "nosniff"
        # same-origin: no address leaves for another site, and our own forms still carry their Origin (under
        # no-referrer a browser sends "Origin: null", which cannot be told from a cross-site form). The link
        # exchange keeps its own no-referrer.
        h.setdefault("Referrer-Policy", "same-origin")
        h["X-Frame-Options"] = "DENY"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if settings.secure_cookies:
            h["Strict-Transport-Security"] = "max-age=31536000"
        endpoint = request.url_rule.endpoint if request.url_rule is not None else None
        if endpoint not in STATIC_ENDPOINTS or resp.status_code >= 400:
            # Pages, data, downloads, people's names: never kept by a browser or a proxy.
            h["Cache-Control"] = "no-store"
            h.pop("ETag", None)
        if principal() is not None or session.get("csrf"):
            resp.set_cookie(CSRF_COOKIE, csrf_token(), secure=settings.secure_cookies, httponly=False,
                            samesite="Strict")
        return resp

    @server.errorhandler(400)
    def bad_request(_e):
        return jsonify(error="bad request"), 400

    from dash.exceptions import DependencyException

    @server.errorhandler(DependencyException)
    def unknown_script(_e):
        return jsonify(error="not found"), 404

    @server.errorhandler(SQLAlchemyError)
    def database_error(exc):
        log.error("database error on %s: %s", request.path, type(exc).__name__)
        if _wants_html() and not request.path.startswith("/_dash"):
            return page("Service unavailable", "<p>The database cannot be reached just now. Nothing has been changed. "
                                               "Try again in a few minutes.</p>", 503)
        return jsonify(error="the database is not available; try again shortly"), 503

    @server.errorhandler(500)
    def server_error(e):
        log.exception("server error on %s", request.path)
        return jsonify(error="internal error"), 500

    # -- sign in and out ------------------------------------------------------------------
    throttle = auth.ThrottlePolicy(free_per_name=settings.max_failures, free_per_ip=settings.max_failures * 4)
    devices = URLSafeSerializer(server.config["SECRET_KEY"], salt="trusted-device")

    def trusted_device(name: str) -> bool:
        """True when this browser has signed in as ``name`` before (a signed cookie we set then)."""
        raw = request.cookies.get(DEVICE_COOKIE)
        if not raw or len(raw) > 1000:
            return False
        try:
            names = devices.loads(raw)
        except BadSignature:
            return False
        return isinstance(names, list) and name in names

    def remember_device(resp: Response, name: str) -> None:
        try:
            names = devices.loads(request.cookies.get(DEVICE_COOKIE) or "")
        except BadSignature:
            names = []
        names = [n for n in (names if isinstance(names, list) else []) if isinstance(n, str) and n != name][-4:]
        resp.set_cookie(DEVICE_COOKIE, devices.dumps(names + [name]), max_age=DEVICE_DAYS * 24 * 3600,
                        secure=settings.secure_cookies, httponly=True, samesite="Strict")

    def slowed(wait: int, name: str, form) -> Response:
        log_event("signin.throttled", "denied", name, f"asked to wait {wait} s")
        resp = form(f"Too many wrong passwords for this name or from this address. Try again in {_duration(wait)}. "
                    "An administrator can clear the count.", 429)
        resp.headers["Retry-After"] = str(wait)
        return resp

    @server.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "GET":
            if principal() is not None:
                return redirect("/")
            return page("Sign in", _login_form(next_url=_safe_next(request.args.get("next"))))
        name = (request.form.get("username") or "").strip()[:80]
        next_url = _safe_next(request.form.get("next"))
        if not _csrf_ok(request.form.get("csrf_token")):
            log_event("signin.failure", "denied", name, "CSRF token missing or wrong")
            return page("Sign in", _login_form("Your sign-in form had expired. Please try again.", next_url, name), 400)
        wait = auth.throttle_wait(engine, throttle, name=name, ip=client_ip(), trusted_device=trusted_device(name))
        if wait > 0:
            return slowed(wait, name, lambda msg, status: page("Sign in", _login_form(msg, next_url, name), status))
        user = auth.check_password(engine, name, request.form.get("password") or "")
        if user is None:
            auth.audit(engine, actor="anonymous", role="anonymous", action="signin.failure", outcome="failed",
                       target=name, ip=client_ip())
            return page("Sign in", _login_form("The user name or password is not right.", next_url, name), 401)
        token = auth.start_session(engine, role=user.role, user_id=user.id,
                                   expires_at=auth.utcnow() + policy.absolute, ip=client_ip())
        session.clear()
        p = auth.load_principal(engine, token, policy)
        login_user(p)
        session.permanent = True
        csrf_token()
        auth.audit(engine, actor=user.name, role=user.role, action="signin.success", target=user.name, ip=client_ip())
        resp = redirect(next_url)
        remember_device(resp, user.name)
        return resp

    @server.post("/logout")
    def logout():
        p = principal()
        if p is not None:
            auth.end_session(engine, p.session_token, "signed out")
            log_event("signout", "ok", p.actor)
        logout_user()
        session.clear()
        resp = redirect("/login")
        resp.delete_cookie(CSRF_COOKIE)
        return resp

    def _password_form(message: str = "", status: int = 200) -> Response:
        p = principal()
        lead = ("<p>You signed in with a one-time password. Choose your own before going on.</p>"
                if p is not None and p.must_change_password else "")
        err = f'<div class="alert alert-danger" role="alert">{escape(message)}</div>' if message else ""
        return page("Change your password", f"""{lead}{err}
<form method="post" action="/account/password" style="max-width:28rem">
<input type="hidden" name="csrf_token" value="{escape(csrf_token())}">
<input type="text" name="username" autocomplete="username" value="{escape(p.name if p else '')}" hidden>
<div class="mb-3"><label class="form-label" for="current">Current password</label>
<input class="form-control" id="current" name="current" type="password" autocomplete="current-password" required></div>
<div class="mb-3"><label class="form-label" for="new">New password (at least 12 characters)</label>
<input class="form-control" id="new" name="new" type="password" autocomplete="new-password" minlength="12" required></div>
<button class="btn btn-primary" type="submit">Change password</button></form>""", status)

    @server.route("/account/password", methods=["GET", "POST"])
    def account_password():
        p = principal()
        if p is None or p.user_id is None:
            abort(403)
        if request.method == "GET":
            return _password_form()
        wait = auth.throttle_wait(engine, throttle, name=p.name, ip=client_ip())
        if wait > 0:
            return slowed(wait, p.name, lambda msg, status: _password_form(msg, status))
        try:
            auth.change_password(engine, p.user_id, request.form.get("current") or "", request.form.get("new") or "",
                                 keep_session=p.session_token)
        except auth.AuthError as exc:
            wrong_current = "current password" in str(exc)
            log_event("password.failure" if wrong_current else "password.change", "failed", p.name, str(exc))
            return _password_form(str(exc), 400)
        log_event("password.change", "ok", p.actor)
        return redirect("/")

    @server.get("/share/<token>")
    def share(token: str):
        try:
            link, session_token = auth.exchange_link(engine, token, policy, ip=client_ip())
        except auth.AuthError as exc:
            auth.audit(engine, actor="anonymous", role="anonymous", action="link.open", outcome="denied",
                       target="(token withheld)", ip=client_ip(), detail=str(exc))
            return page("Link not valid", f"<p>{escape(str(exc))}</p><p>Ask the partnership for a new link.</p>", 403)
        staff = principal()
        if staff is not None and staff.role in STAFF:
            # One browser, one identity: a staff session does not survive into an inspector's view.
            auth.end_session(engine, staff.session_token, "inspector link opened")
            log_event("signout", "ok", staff.actor, "an inspector link was opened in this browser")
        logout_user()
        session.clear()
        login_user(auth.load_principal(engine, session_token, policy))
        session.permanent = True
        csrf_token()
        auth.audit(engine, actor=f"link:{link.id}", role="inspector", action="link.open", target=link.label,
                   ip=client_ip())
        resp = redirect("/", code=303)  # a clean URL: the token leaves the address bar and history
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    @server.get("/session/status")
    def session_status():
        p = principal()
        times = auth.session_times(engine, p.session_token, policy) if p else None
        return jsonify(times or {"idle_seconds_left": 0, "absolute_seconds_left": 0})

    @server.post("/session/keepalive")
    def keepalive():
        return jsonify(auth.session_times(engine, principal().session_token, policy))

    install_admin(server, engine, settings, log_event)

    hashes = " ".join(app.csp_hashes())  # already quoted: 'sha256-...'
    csp = ("default-src 'self'; "
           f"script-src 'self' {hashes}; "
           "style-src 'self' 'unsafe-inline'; "  # Dash and plotly.js set inline styles on elements
           "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
           "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
    server.config["CSP"] = csp


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _wants_html() -> bool:
    return "text/html" in (request.headers.get("Accept") or "") or request.path in ("/", "") or \
        not request.path.startswith("/_")


def _input_signature(spec: dict) -> tuple:
    """The (id, property) pairs of a callback's inputs and state, in order, ids as strings."""
    def ids(items):
        out = []
        for item in items:
            if isinstance(item, list):  # pattern-matching callbacks send lists
                out.append(tuple(ids(item)))
                continue
            cid = item["id"]
            out.append((json.dumps(cid, sort_keys=True) if isinstance(cid, dict) else str(cid), str(item["property"])))
        return out
    return tuple(ids(spec.get("inputs", []))), tuple(ids(spec.get("state", [])))


def _output_signature(outputs) -> tuple:
    """The (id, property) pairs a callback request says it will update."""
    items = outputs if isinstance(outputs, list) else [outputs]
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise TypeError("an output must be an object")
        cid = item["id"]
        # the renderer sends "search@<hash>" for an output that several callbacks share
        out.append((json.dumps(cid, sort_keys=True) if isinstance(cid, dict) else str(cid),
                    str(item["property"]).split("@", 1)[0]))
    return tuple(out)


def _outputs_of(output_key: str) -> tuple:
    """The (id, property) pairs named by Dash's output key: "page.children" or "..a.b...c.d@hash.."."""
    key = output_key[2:-2] if output_key.startswith("..") and output_key.endswith("..") else output_key
    pairs = []
    for part in key.split("..."):
        cid, _, prop = part.rpartition(".")
        pairs.append((cid, prop.split("@", 1)[0]))
    return tuple(pairs)


def callback_role_map(app) -> dict[str, frozenset[str]]:
    """Output id (as Dash names it) -> roles, from each callback's function name and CALLBACK_ROLES."""
    out: dict[str, frozenset[str]] = {}
    for output, spec in app.callback_map.items():
        fn = spec.get("callback")
        name = getattr(fn, "__name__", None)
        wrapped = getattr(fn, "__wrapped__", None)
        name = getattr(wrapped, "__name__", name)
        if name in CALLBACK_ROLES:
            out[output] = CALLBACK_ROLES[name]
    return out


# -- admin pages ---------------------------------------------------------------------------

def install_admin(server: Flask, engine, settings: Settings, log_event) -> None:
    def admin_only(fn):
        @wraps(fn)
        def inner(*a, **kw):
            p = principal()
            if p is None or p.role not in ADMINS:  # the gate has checked already; check again where it matters
                abort(403)
            return fn(*a, **kw)
        return inner

    def links_table() -> str:
        rows = []
        for link in auth.list_links(engine):
            state = ("revoked " + link.revoked_at.strftime("%Y-%m-%d %H:%M") if link.revoked_at
                     else "expired" if link.expires_at <= auth.utcnow() else "active")
            revoke = "" if link.revoked_at else (
                f'<form method="post" action="/admin/links/{link.id}/revoke">'
                f'<input type="hidden" name="csrf_token" value="{escape(csrf_token())}">'
                f'<button class="btn btn-sm btn-outline-danger" type="submit">Revoke<span class="visually-hidden"> '
                f'{escape(link.label)}</span></button></form>')
            rows.append(f"<tr><th scope='row'>{link.id}</th><td>{escape(link.label)}</td><td>{escape(link.scope)}</td>"
                        f"<td>{escape(link.issued_by)}</td><td>{link.expires_at:%Y-%m-%d %H:%M} UTC</td>"
                        f"<td>{link.last_used_at or '—'}</td><td>{link.uses}</td><td>{state}</td><td>{revoke}</td></tr>")
        return ("<table class='table table-sm'><caption>Inspector links</caption><thead><tr>"
                + "".join(f"<th scope='col'>{h}</th>" for h in
                          ("Id", "Label", "Scope", "Issued by", "Expires", "Last used", "Opened", "State", ""))
                + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")

    def admin_page(extra: str = "", status: int = 200) -> Response:
        csrf = escape(csrf_token())
        tomorrow = (auth.utcnow() + dt.timedelta(days=7)).date().isoformat()
        body = f"""<p><a href="/">Back to the dashboard</a> · <a href="/admin/audit">Audit log</a></p>{extra}
<h2>Create an inspector link</h2>
<form method="post" action="/admin/links" style="max-width:32rem">
<input type="hidden" name="csrf_token" value="{csrf}">
<div class="mb-3"><label class="form-label" for="label">Label (who it is for)</label>
<input class="form-control" id="label" name="label" required maxlength="200"></div>
<div class="mb-3"><label class="form-label" for="expires">Expires at the end of</label>
<input class="form-control" id="expires" name="expires" type="date" required value="{tomorrow}"></div>
<button class="btn btn-primary" type="submit">Create link</button></form>
<h2>Links</h2><form method="post" action="/admin/links/revoke-all"><input type="hidden" name="csrf_token" value="{csrf}">
<button class="btn btn-outline-danger" type="submit">Revoke all links</button></form>{links_table()}"""
        return page("Administration", body, status)

    @server.get("/admin")
    @admin_only
    def admin_home():
        return admin_page()

    @server.post("/admin/links")
    @admin_only
    def admin_create_link():
        p = principal()
        try:
            day = dt.date.fromisoformat(request.form.get("expires") or "")
            expires = dt.datetime.combine(day, dt.time(23, 59, 59))
            link, token = auth.create_link(engine, label=request.form.get("label") or "", expires_at=expires,
                                           issued_by=p.actor, scope=default_scope(settings),
                                           max_days=settings.max_link_days)
        except (ValueError, auth.AuthError) as exc:
            return admin_page(f'<div class="alert alert-danger" role="alert">{escape(str(exc))}</div>', 400)
        log_event("link.create", "ok", f"link:{link.id}", link.label)
        url = f"{request.host_url.rstrip('/')}/share/{token}"
        return admin_page(f'<div class="alert alert-success" role="status"><p>Link created. Copy it now: it will not '
                          f'be shown again.</p><p><code id="new-link">{escape(url)}</code></p></div>')

    @server.post("/admin/links/<int:link_id>/revoke")
    @admin_only
    def admin_revoke(link_id: int):
        n = auth.revoke_links(engine, link_id)
        log_event("link.revoke", "ok" if n else "failed", f"link:{link_id}")
        return redirect("/admin", code=303)

    @server.post("/admin/links/revoke-all")
    @admin_only
    def admin_revoke_all():
        n = auth.revoke_links(engine, None)
        log_event("link.revoke_all", "ok", f"{n} links")
        return redirect("/admin", code=303)

    @server.get("/admin/audit")
    @admin_only
    def admin_audit():
        rows = "".join(
            f"<tr><th scope='row'>{e.id}</th><td>{e.at:%Y-%m-%d %H:%M:%S}Z</td><td>{escape(e.actor)}</td>"
            f"<td>{escape(e.role)}</td><td>{escape(e.action)}</td><td>{escape(e.target)}</td><td>{escape(e.outcome)}"
            f"</td><td>{escape(e.ip)}</td><td>{escape(e.detail)}</td></tr>" for e in auth.audit_rows(engine, 500))
        body = ("<p><a href='/admin'>Administration</a> · <a href='/admin/audit.csv' download>Export the whole log "
                "(CSV)</a></p><div class='table-responsive' tabindex='0' role='region' aria-label='Audit log'>"
                "<table class='table table-sm'><caption>The latest 500 events (times in UTC)</caption><thead><tr>"
                + "".join(f"<th scope='col'>{h}</th>" for h in
                          ("Id", "When", "Who", "Role", "What", "Target", "Outcome", "From", "Detail"))
                + "</tr></thead><tbody>" + rows + "</tbody></table></div>")
        return page("Audit log", body)

    @server.get("/admin/audit.csv")
    @admin_only
    def admin_audit_csv():
        log_event("download", "ok", "/admin/audit.csv")
        resp = Response(auth.audit_csv(engine), mimetype="text/csv")
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Content-Disposition"] = 'attachment; filename="audit_log.csv"'
        return resp


def default_scope(settings: Settings) -> dict:
    """An inspector link shows the partnership's own authority unless told otherwise."""
    return {"las": [settings.la_code]}
