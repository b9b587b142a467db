"""Signing in and out, and changing a password: throttled per name and per address, with a signed
"trusted device" cookie so a browser that has signed in as a name before is not locked out by
someone else's guesses."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, redirect, request, session
from flask_login import login_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer

from ...auth import service as auth
from .core import (CSRF_COOKIE, TEMPLATES, SecurityState, client_ip, csrf_ok, csrf_token, duration, principal,
                   render_page)
from .gate import CONTROL

DEVICE_COOKIE = "sg_device"
DEVICE_DAYS = 90


def safe_next(url: str | None) -> str:
    """A local path to go to after signing in; anything else (another site, control characters) is "/"."""
    url = url or "/"
    if CONTROL.search(url) or "\\" in url:
        return "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return "/"
    return url


def create_blueprint(sec: SecurityState, secret: str) -> Blueprint:
    bp = Blueprint("signin", __name__, template_folder=TEMPLATES)
    engine, settings, policy = sec.engine, sec.settings, sec.policy
    throttle = auth.ThrottlePolicy(free_per_name=settings.max_failures, free_per_ip=settings.max_failures * 4)
    devices = URLSafeSerializer(secret, salt="trusted-device")

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
        sec.log_event("signin.throttled", "denied", name, f"asked to wait {wait} s")
        resp = form(f"Too many wrong passwords for this name or from this address. Try again in {duration(wait)}. "
                    "An administrator can clear the count.", 429)
        resp.headers["Retry-After"] = str(wait)
        return resp

    def signin_form(message: str = "", next_url: str = "/", name: str = "", status: int = 200) -> Response:
        return render_page("signin.html", "Sign in", status, message=message, next_url=next_url, name=name)

    @bp.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "GET":
            if principal() is not None:
                return redirect("/")
            return signin_form(next_url=safe_next(request.args.get("next")))
        name = (request.form.get("username") or "").strip()[:80]
        next_url = safe_next(request.form.get("next"))
        if not csrf_ok(request.form.get("csrf_token")):
            sec.log_event("signin.failure", "denied", name, "CSRF token missing or wrong")
            return signin_form("Your sign-in form had expired. Please try again.", next_url, name, 400)
        wait = auth.throttle_wait(engine, throttle, name=name, ip=client_ip(), trusted_device=trusted_device(name))
        if wait > 0:
            return slowed(wait, name, lambda msg, status: signin_form(msg, next_url, name, status))
        user = auth.check_password(engine, name, request.form.get("password") or "")
        if user is None:
            auth.audit(engine, actor="anonymous", role="anonymous", action="signin.failure", outcome="failed",
                       target=name, ip=client_ip())
            return signin_form("The user name or password is not right.", next_url, name, 401)
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

    @bp.post("/logout")
    def logout():
        p = principal()
        if p is not None:
            auth.end_session(engine, p.session_token, "signed out")
            sec.log_event("signout", "ok", p.actor)
        logout_user()
        session.clear()
        resp = redirect("/login")
        resp.delete_cookie(CSRF_COOKIE)
        return resp

    def password_form(message: str = "", status: int = 200) -> Response:
        p = principal()
        return render_page("password.html", "Change your password", status, message=message,
                           one_time=p is not None and p.must_change_password, name=p.name if p else "")

    @bp.route("/account/password", methods=["GET", "POST"])
    def account_password():
        p = principal()
        if p is None or p.user_id is None:
            abort(403)
        if request.method == "GET":
            return password_form()
        wait = auth.throttle_wait(engine, throttle, name=p.name, ip=client_ip())
        if wait > 0:
            return slowed(wait, p.name, lambda msg, status: password_form(msg, status))
        try:
            auth.change_password(engine, p.user_id, request.form.get("current") or "", request.form.get("new") or "",
                                 keep_session=p.session_token)
        except auth.AuthError as exc:
            wrong_current = "current password" in str(exc)
            sec.log_event("password.failure" if wrong_current else "password.change", "failed", p.name, str(exc))
            return password_form(str(exc), 400)
        sec.log_event("password.change", "ok", p.actor)
        return redirect("/")

    return bp
