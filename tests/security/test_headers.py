"""Security headers on every kind of response, cookie flags, production start-up rules, and no
debug or MCP surface."""
from __future__ import annotations


import pytest

from tests.conftest import make_test_settings
from tests.helpers import ROLE_PASSWORD, ensure_user

from .conftest import client_as, form_csrf, new_client, post_callback, router_body

DATA = "data"
PAGE = "page"


def _responses(app, engine, deps):
    """(kind, label, response) for each response type the app sends."""
    viewer = client_as(app, engine, "viewer")
    anonymous = new_client(app)
    route = router_body(deps, "/about")
    return [
        (PAGE, "index page", viewer.get("/")),
        (PAGE, "topic page", viewer.get("/topic/workforce")),
        (DATA, "_dash-layout", viewer.get("/_dash-layout")),
        (DATA, "_dash-dependencies", viewer.get("/_dash-dependencies")),
        (DATA, "callback", post_callback(viewer, route)),
        (DATA, "metric download", viewer.get("/download/metric/cp_rate_31mar.csv")),
        (DATA, "scorecard download", viewer.get("/download/scorecard.csv")),
        (DATA, "healthz", anonymous.get("/healthz")),
        (DATA, "session status", viewer.get("/session/status")),
        (PAGE, "login", anonymous.get("/login")),
        (PAGE, "accessibility", anonymous.get("/accessibility")),
        (PAGE, "link refused", anonymous.get("/share/" + "x" * 43)),
        (DATA, "401", anonymous.get("/_dash-layout")),
        (DATA, "403", viewer.get("/admin")),
        (DATA, "callback 400", post_callback(viewer, b"not json")),
        (PAGE, "redirect to sign in", anonymous.get("/topic/workforce")),
        (PAGE, "static asset", anonymous.get("/assets/style.css")),
    ]


def test_every_response_type_has_the_security_headers(app, engine, deps):
    hashes = app.csp_hashes()
    assert hashes, "the app's inline scripts have no hashes"
    for kind, label, resp in _responses(app, engine, deps):
        assert resp.status_code < 500, label
        csp = resp.headers.get("Content-Security-Policy", "")
        directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
        script = directives.get("script-src", [])
        assert script[:1] == ["'self'"], (label, csp)
        for h in hashes:  # Dash gives them quoted ('sha256-...'); a CSP source must be quoted exactly once
            assert f"'{h.strip(chr(39))}'" in script, (label, h, script)
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(script), (label, script)
        assert directives.get("frame-ancestors") == ["'none'"], (label, csp)
        assert directives.get("object-src") == ["'none'"], (label, csp)
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", label
        assert resp.headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), label
        assert resp.headers.get("X-Frame-Options") == "DENY", label
        if kind == DATA:
            assert "no-store" in resp.headers.get("Cache-Control", ""), (label, resp.headers.get("Cache-Control"))


def test_session_cookie_flags_locally(app, engine):
    name = ensure_user(engine, "viewer")
    client = new_client(app)
    resp = client.post("/login", data={"username": name, "password": ROLE_PASSWORD, "csrf_token": form_csrf(client),
                                       "next": "/"})
    assert resp.status_code == 302
    session = _set_cookie(resp, "sg_session")
    assert "httponly" in session and session.get("samesite") == "lax"
    assert "secure" not in session  # local HTTP: a Secure cookie would never come back
    csrf = _set_cookie(resp, "_csrf_token")
    assert "httponly" not in csrf and csrf.get("samesite") == "strict"  # the page's script reads it


def _set_cookie(resp, name: str) -> dict:
    for header in resp.headers.getlist("Set-Cookie"):
        key, _, rest = header.partition("=")
        if key.strip() == name:
            attrs = {}
            for part in rest.split(";")[1:]:
                k, _, v = part.strip().partition("=")
                attrs[k.lower()] = v.lower()
            return attrs
    raise AssertionError(f"no Set-Cookie for {name}: {resp.headers.getlist('Set-Cookie')}")


@pytest.fixture
def production_app(sec_settings, monkeypatch):
    from dashboard.web.app import create_app

    monkeypatch.setenv("DASHBOARD_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a test secret key that is long enough to sign cookies")
    return create_app(make_test_settings(sec_settings.instance_dir))


def test_production_cookies_are_secure(production_app, engine):
    name = ensure_user(engine, "viewer")
    client = new_client(production_app)
    https = {"base_url": "https://localhost"}
    token = form_csrf(client, **https)
    resp = client.post("/login", data={"username": name, "password": ROLE_PASSWORD, "csrf_token": token, "next": "/"},
                       **https)
    assert resp.status_code == 302
    session = _set_cookie(resp, "sg_session")
    assert "secure" in session and "httponly" in session and session.get("samesite") == "lax"
    assert "secure" in _set_cookie(resp, "_csrf_token")
    assert resp.headers.get("Strict-Transport-Security", "").startswith("max-age=")


def test_production_without_secret_key_refuses_to_start(sec_settings, monkeypatch):
    from dashboard.web.app import create_app

    monkeypatch.setenv("DASHBOARD_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(make_test_settings(sec_settings.instance_dir))


def test_no_debug_and_no_mcp(app, engine):
    assert app.server.debug is False
    tools = app._dev_tools
    assert not tools.get("ui") and not tools.get("hot_reload") and not tools.get("props_check")
    assert app._enable_mcp is False
    assert not any("mcp" in r.rule.lower() for r in app.server.url_map.iter_rules())
    assert new_client(app).get("/_mcp").status_code in (401, 404)
    assert new_client(app).post("/_mcp", json={"jsonrpc": "2.0", "method": "tools/list", "id": 1}).status_code in (
        401, 404, 405)  # no such route: nothing is served
    viewer = client_as(app, engine, "viewer")
    for resp in (viewer.get("/_mcp"), viewer.post("/_mcp", json={"jsonrpc": "2.0", "method": "tools/list", "id": 1})):
        text = resp.get_data(as_text=True)
        assert resp.status_code in (200, 404, 405), resp.status_code  # the page shell, or nothing
        assert "jsonrpc" not in text and "tools" not in (resp.get_json(silent=True) or {}), text[:200]
    index = viewer.get("/").get_data(as_text=True)
    assert "dash-debug-menu" not in index and '"ui": true' not in index and '"ui":true' not in index
