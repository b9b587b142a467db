"""What every part of the access layer shares: who is asking, the CSRF token, the secret key, the
audit helper and the server-rendered page shell (Jinja templates in ``dashboard/web/templates``)."""
from __future__ import annotations

import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flask import Response, abort, render_template, request, session
from flask_login import current_user
from markupsafe import Markup

from ...auth import service as auth
from ...config import Settings

log = logging.getLogger("dashboard.web.security")

#: The templates of every server-rendered page (outside Dash); each blueprint looks here.
TEMPLATES = str(Path(__file__).resolve().parent.parent / "templates")

CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
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


def csrf_ok(sent: str | None) -> bool:
    expected = session.get("csrf")
    return bool(sent and expected and hmac.compare_digest(str(sent), str(expected)))


def require_role(*roles: str) -> auth.Principal:
    """Inside a callback or route that changes something: check the role again, from the server session."""
    p = principal()
    if p is None or p.role not in roles:
        abort(403)
    return p


def wants_html() -> bool:
    return "text/html" in (request.headers.get("Accept") or "") or request.path in ("/", "") or \
        not request.path.startswith("/_")


def duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# -- pages outside Dash (plain HTML from templates, no inline script) ------------------------

def render_page(template: str, title: str, status: int = 200, **context) -> Response:
    """A server-rendered page: ``template`` extends base.html (header, skip link, main, h1, footer).

    The template engine escapes every value; ``csrf_token`` is passed as a function so a token is
    only made for a page that has a form.
    """
    html = render_template(template, title=title, csrf_token=csrf_token, **context)
    return Response(html, status=status, mimetype="text/html")


def page(title: str, body: str, status: int = 200) -> Response:
    """A page around ``body``, HTML written by us (never text from a request: use a template for that)."""
    return render_page("page.html", title, status, body=Markup(body))


@dataclass
class SecurityState:
    """What the security blueprints of one app share: the store, the settings and the session policy."""

    engine: object
    settings: Settings
    policy: auth.SessionPolicy
    ensure_db: Callable[[], bool]

    def log_event(self, action: str, outcome: str = "ok", target: str = "", detail: str = "") -> None:
        actor, role = who()
        auth.audit(self.engine, actor=actor, role=role, action=action, outcome=outcome, target=target,
                   ip=client_ip(), detail=detail)
