"""Security headers on every response: the Content Security Policy, no-store for anything but
static files, framing and sniffing off, and the CSRF cookie the Dash renderer reads."""
from __future__ import annotations

from flask import Blueprint, Response, request, session
from flask.sessions import SecureCookieSessionInterface

from .core import CSRF_COOKIE, SecurityState, csrf_token, principal

#: Endpoints whose responses are static files, the same for everyone: cacheable. Everything else is no-store.
STATIC_ENDPOINTS = frozenset({"_dash_assets.static",
                              "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
                              "/_favicon.ico", "favicon"})

#: Where those files live: requests under these paths neither read nor set the session cookie.
STATIC_PATH_PREFIXES = ("/_dash-component-suites/", "/assets/", "/_favicon.ico", "/favicon.ico")


class StaticFreeSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, except that a static file's request neither reads the session cookie
    nor sets it: the file is the same for everyone, and a public, cacheable answer carries no one's cookie."""

    def open_session(self, app, request):
        if request.path.startswith(STATIC_PATH_PREFIXES):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if request.path.startswith(STATIC_PATH_PREFIXES):
            return  # no cookie, and no "Vary: Cookie" that would make a shared cache keep a copy per person
        super().save_session(app, session, response)


def content_security_policy(app) -> str:
    """Scripts only from this site or the app's own inline scripts, by hash; nothing framed."""
    hashes = " ".join(app.csp_hashes())  # already quoted: 'sha256-...'
    return ("default-src 'self'; "
            f"script-src 'self' {hashes}; "
            "style-src 'self' 'unsafe-inline'; "  # Dash and plotly.js set inline styles on elements
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def create_blueprint(app, sec: SecurityState) -> Blueprint:
    bp = Blueprint("headers", __name__)
    settings = sec.settings
    csp = content_security_policy(app)
    app.server.config["CSP"] = csp

    @bp.after_app_request
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
        static = endpoint in STATIC_ENDPOINTS and resp.status_code < 400
        # Static files are the same for everyone: they neither need the CSRF cookie nor pay for a session lookup.
        if not static and (principal() is not None or session.get("csrf")):
            resp.set_cookie(CSRF_COOKIE, csrf_token(), secure=settings.secure_cookies, httponly=False,
                            samesite="Strict")
        return resp

    return bp
