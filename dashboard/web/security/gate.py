"""The gate: one check in front of every request, and the answers for requests that go wrong.

Order: a malformed request is refused unread; a state-changing request from another site is
refused; public endpoints pass; an unknown page is a 404; then a signed-in session with a role
that ``dashboard.auth.policy`` allows for the route (deny by default), a password that is not a
one-time one, and the CSRF token. Dash's callback endpoint is checked per callback: its role,
then its inputs and outputs against the callback the app registered.
"""
from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit

from flask import Blueprint, jsonify, redirect, request

from ...auth.policy import CALLBACK_ROLES, PUBLIC_ENDPOINTS, roles_for
from ...routes import match_page
from .core import (CSRF_HEADER, SAFE_METHODS, TEMPLATES, SecurityState, client_ip, csrf_ok, log, principal,
                   render_page, wants_html)

MAX_CALLBACK_BYTES = 1024 * 1024  # a callback body is a few kilobytes; anything this big is refused unread
MAX_URL_CHARS = 4096
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def malformed_request():
    """A short 4xx for a request no browser of ours sends, checked before anything reads it."""
    if len(request.full_path) > MAX_URL_CHARS:
        return jsonify(error="the address is too long"), 414
    if CONTROL.search(request.path) or any(CONTROL.search(k) or CONTROL.search(v)
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


# -- Dash callbacks ----------------------------------------------------------------------

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


def input_signature(spec: dict) -> tuple:
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


def output_signature(outputs) -> tuple:
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


def outputs_of(output_key: str) -> tuple:
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


# -- the blueprint -------------------------------------------------------------------------

def create_blueprint(app, mgr, sec: SecurityState) -> Blueprint:
    """The gate for one Dash app. It reads ``app.callback_map`` now: register every callback first."""
    bp = Blueprint("gate", __name__, template_folder=TEMPLATES)
    callback_roles = callback_role_map(app)
    app.server.config["CALLBACK_ROLE_MAP"] = callback_roles
    callback_inputs = {out: input_signature(spec) for out, spec in app.callback_map.items()}

    def deny(status: int, reason: str, target: str = ""):
        sec.log_event("request.denied" if not request.path.startswith("/_dash-update") else "callback.denied",
                      "denied", target or request.path, reason)
        if status == 401 and request.method == "GET" and wants_html():
            return redirect("/login?next=" + quote(request.full_path.rstrip("?"), safe="/"))
        return jsonify(error=reason), status

    def not_found():
        if wants_html():
            return render_page("not_found.html", "Page not found", 404)
        return jsonify(error="not found"), 404

    @bp.before_app_request
    def gate():
        path = request.path
        bad = malformed_request()
        if bad is not None:
            return bad
        if request.method not in SAFE_METHODS and not same_origin():
            sec.log_event("request.denied", "denied", path, "cross-site request (Origin or Referer is another site)")
            return jsonify(error="this request came from another site"), 403
        endpoint = request.url_rule.endpoint if request.url_rule is not None else None
        if endpoint in PUBLIC_ENDPOINTS:
            return None
        if request.url_rule is None:
            return None  # no such route: Flask answers 404/405 and nothing is served
        if endpoint == "/<path:path>" and match_page(path, mgr.registry) is None:
            return not_found()
        if not sec.ensure_db():
            return jsonify(error="the database is not available; try again shortly"), 503
        p = principal()
        if path == "/_dash-update-component":
            return gate_callback(p)
        roles = roles_for(path, endpoint)
        if p is None:
            return deny(401, "sign in first")
        if roles is None or p.role not in roles:
            return deny(403, f"the {p.role} role may not use {path}")
        if p.must_change_password and path not in ("/account/password", "/logout"):
            if request.method == "GET" and not path.startswith("/_dash"):
                return redirect("/account/password")
            return jsonify(error="change your one-time password first, at /account/password"), 403
        if request.method not in SAFE_METHODS and not csrf_ok(request.form.get("csrf_token")
                                                             or request.headers.get(CSRF_HEADER)):
            return deny(403, "missing or wrong CSRF token")
        return None

    def gate_callback(p):
        # Who is asking is settled before the body is read: nothing a stranger sends is parsed.
        if request.method != "POST":
            return deny(405, "callbacks are POST only")
        if p is None:
            return deny(401, "sign in first")
        if p.must_change_password:
            return deny(403, "change your one-time password first, at /account/password")
        if not csrf_ok(request.headers.get(CSRF_HEADER)):
            return deny(403, "missing or wrong CSRF token")
        if (request.content_length or 0) > MAX_CALLBACK_BYTES:
            return jsonify(error="a callback request needs a body of at most 1 MB"), 413
        body = parse_callback_body() if request.content_length else None
        if body is None:
            log.warning("malformed callback body from %s", client_ip())
            sec.log_event("callback.malformed", "denied", "/_dash-update-component", "malformed body")
            return jsonify(error="malformed callback request"), 400
        output = body["output"]
        roles = callback_roles.get(output)
        if roles is None or p.role not in roles:
            return deny(403, f"the {p.role} role may not call this callback", output)
        try:
            sent = input_signature({"inputs": body["inputs"], "state": body.get("state", [])})
            outs = output_signature(body.get("outputs"))
        except (TypeError, KeyError, AttributeError):
            return jsonify(error="malformed callback request"), 400
        if sent != callback_inputs.get(output):
            return deny(400, "inputs do not match the callback", output)
        if outs != outputs_of(output):
            return deny(400, "outputs do not match the callback", output)
        return None

    return bp


def create_error_blueprint() -> Blueprint:
    """Short answers for errors anywhere in the app: JSON for scripts, a page for a browser."""
    from dash.exceptions import DependencyException
    from sqlalchemy.exc import SQLAlchemyError

    bp = Blueprint("errors", __name__, template_folder=TEMPLATES)

    @bp.app_errorhandler(400)
    def bad_request(_e):
        return jsonify(error="bad request"), 400

    @bp.app_errorhandler(DependencyException)
    def unknown_script(_e):
        return jsonify(error="not found"), 404

    @bp.app_errorhandler(SQLAlchemyError)
    def database_error(exc):
        log.error("database error on %s: %s", request.path, type(exc).__name__)
        if wants_html() and not request.path.startswith("/_dash"):
            return render_page("unavailable.html", "Service unavailable", 503)
        return jsonify(error="the database is not available; try again shortly"), 503

    @bp.app_errorhandler(500)
    def server_error(e):
        log.exception("server error on %s", request.path)
        return jsonify(error="internal error"), 500

    return bp
