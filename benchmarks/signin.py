"""Signing the benchmarks in, the way a person does: a viewer account and the /login form.

Rules: the account is created in the throw-away instance only (``dashboard.auth.service``),
with the least privileged staff role; the benchmark then signs in through ``/login`` (CSRF
token from the form), so every measured request pays the product's real gate (session lookup,
CSRF check, callback policy). Callbacks carry the ``X-CSRFToken`` header that Dash's renderer
sends from the ``_csrf_token`` cookie. When the app has no sign-in (no ``/login``), nothing is done.
"""
from __future__ import annotations

import http.cookiejar
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from dashboard.config import Settings

USER = "bench-viewer"
ROLE = "viewer"
CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Account:
    name: str
    password: str


def create_account(settings: Settings) -> Account | None:
    """A viewer account in the instance's database, or None when the product has no accounts."""
    try:
        from dashboard.auth import service
    except ImportError:
        return None
    from dashboard import store

    engine = store.get_engine(settings.database_url)
    store.init_db(engine)
    password = secrets.token_urlsafe(18)
    service.create_user(engine, USER, ROLE, password)
    engine.dispose()
    return Account(USER, password)


def _form_token(html: str) -> str:
    m = _CSRF_FIELD.search(html)
    if not m:
        raise RuntimeError("the sign-in page has no CSRF token field")
    return m.group(1)


def sign_in_test_client(client, account: Account | None) -> dict[str, str]:
    """Sign a Flask test client in; return the headers a callback request needs."""
    if account is None:
        return {}
    page = client.get("/login")
    if page.status_code == 404:
        return {}
    resp = client.post("/login", data={"username": account.name, "password": account.password,
                                       "csrf_token": _form_token(page.get_data(as_text=True)), "next": "/"})
    if resp.status_code not in (302, 303):
        raise RuntimeError(f"sign-in failed: HTTP {resp.status_code}")
    cookie = client.get_cookie(CSRF_COOKIE)
    return {CSRF_HEADER: cookie.value} if cookie else {}


def sign_in_http(base_url: str, account: Account | None) -> list[dict]:
    """Sign in to a running server over HTTP; return its cookies as Selenium cookie dicts."""
    if account is None:
        return []
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        html = opener.open(f"{base_url}/login", timeout=30).read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise
    data = urllib.parse.urlencode({"username": account.name, "password": account.password,
                                   "csrf_token": _form_token(html), "next": "/healthz"}).encode()
    opener.open(f"{base_url}/login", data=data, timeout=30).read()
    cookies = [{"name": c.name, "value": c.value, "path": c.path or "/"} for c in jar]
    if not any(c["name"] != CSRF_COOKIE for c in cookies):
        raise RuntimeError("sign-in over HTTP returned no session cookie")
    return cookies
