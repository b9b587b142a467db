"""Sessions live on the server: sign-out, disabling, idle and absolute limits end them, and a
copied cookie is worth nothing afterwards. Sign-in is throttled, audited and password-manager
friendly, and cannot be used to bounce a user to another site."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest

from dashboard.auth import service as auth
from dashboard.auth.models import AuthSession
from tests.conftest import make_test_settings
from tests.helpers import ROLE_PASSWORD

from .conftest import (
    audit_events,
    copy_cookies,
    last_audit_id,
    new_client,
    post_callback,
    router_body,
    send_csrf_header,
    session_row,
    session_token,
    sign_in_as,
    sign_in_named,
    unique,
    staff_user,
    update_row,
    utc_now,
)


def _route_body(deps):
    return router_body(deps, "/about")


def _signed_in(app, engine, role: str = "viewer"):
    """A client signed in as a new staff user of ``role``; returns (client, name)."""
    name = staff_user(engine, role)
    client = new_client(app)
    sign_in_named(client, name)
    assert client.get("/_dash-layout").status_code == 200
    return client, name


def test_cookie_replayed_after_sign_out_fails(app, engine, deps):
    client, name = _signed_in(app, engine)
    thief = new_client(app)
    copy_cookies(client, thief)
    thief.environ_base["HTTP_X_CSRFTOKEN"] = client.environ_base["HTTP_X_CSRFTOKEN"]
    assert thief.get("/_dash-layout").status_code == 200  # the copy works while the session lives
    assert post_callback(thief, _route_body(deps)).status_code == 200
    token = session_token(app, client)

    start = last_audit_id(engine)
    resp = client.post("/logout")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"

    assert thief.get("/_dash-layout").status_code == 401
    assert post_callback(thief, _route_body(deps)).status_code == 401
    assert thief.get("/session/status").status_code == 302  # an HTML route: back to sign-in
    assert client.get("/_dash-layout").status_code == 401
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        row = s.get(AuthSession, auth.token_hash(token))
    assert row.ended_at is not None and row.ended_reason == "signed out"
    assert [e.actor for e in audit_events(engine, action="signout", since_id=start)] == [name]


def test_disabling_a_user_ends_a_live_session(app, engine, deps):
    client, name = _signed_in(app, engine)
    auth.set_disabled(engine, name)
    assert client.get("/_dash-layout").status_code == 401
    assert post_callback(client, _route_body(deps)).status_code == 401
    again = new_client(app)
    assert sign_in_as(again, name).status_code == 401
    assert again.get("/_dash-layout").status_code == 401


def test_idle_timeout_ends_the_session(app, engine):
    idle = app.server.config["SESSION_POLICY"].idle
    assert idle == dt.timedelta(minutes=30)
    client, _ = _signed_in(app, engine)
    sid = auth.token_hash(session_token(app, client))
    update_row(engine, AuthSession, sid, last_seen_at=utc_now() - idle + dt.timedelta(minutes=1))
    assert client.get("/_dash-layout").status_code == 200  # a minute short of the limit: still valid
    update_row(engine, AuthSession, sid, last_seen_at=utc_now() - idle - dt.timedelta(seconds=5))
    assert client.get("/_dash-layout").status_code == 401
    row = session_row(engine, app, client)
    assert row.ended_reason == "idle"
    update_row(engine, AuthSession, sid, last_seen_at=utc_now())  # ended is ended, whatever the clock says
    assert client.get("/_dash-layout").status_code == 401


def test_idle_minutes_setting_is_honoured(app, engine, sec_settings, monkeypatch):
    from dashboard.web.app import create_app

    monkeypatch.setenv("DASHBOARD_IDLE_MINUTES", "2")
    short = create_app(make_test_settings(sec_settings.instance_dir))
    assert short.server.config["SESSION_POLICY"].idle == dt.timedelta(minutes=2)
    client, _ = _signed_in(short, engine)
    sid = auth.token_hash(session_token(short, client))
    update_row(engine, AuthSession, sid, last_seen_at=utc_now() - dt.timedelta(minutes=1))
    assert client.get("/_dash-layout").status_code == 200
    update_row(engine, AuthSession, sid, last_seen_at=utc_now() - dt.timedelta(minutes=2, seconds=5))
    assert client.get("/_dash-layout").status_code == 401


def test_absolute_timeout_ends_the_session(app, engine):
    client, _ = _signed_in(app, engine)
    row = session_row(engine, app, client)
    hours = app.server.config["SESSION_POLICY"].absolute
    assert abs((row.expires_at - row.created_at) - hours) < dt.timedelta(seconds=5)
    update_row(engine, AuthSession, row.id, expires_at=utc_now() - dt.timedelta(seconds=1), last_seen_at=utc_now())
    assert client.get("/_dash-layout").status_code == 401
    assert session_row(engine, app, client).ended_reason == "expired"


def test_session_status_does_not_extend_the_idle_time(app, engine):
    client, _ = _signed_in(app, engine)
    sid = auth.token_hash(session_token(app, client))
    seen = (utc_now() - dt.timedelta(minutes=10)).replace(microsecond=0)
    update_row(engine, AuthSession, sid, last_seen_at=seen)
    for _ in range(3):
        resp = client.get("/session/status")
        assert resp.status_code == 200
        left = resp.get_json()["idle_seconds_left"]
        assert 19 * 60 - 5 <= left <= 20 * 60, left
    assert session_row(engine, app, client).last_seen_at == seen
    assert client.get("/_dash-layout").status_code == 200  # real activity does count
    assert session_row(engine, app, client).last_seen_at > seen + dt.timedelta(minutes=9)
    assert client.get("/session/status").get_json()["idle_seconds_left"] > 29 * 60


def test_failed_sign_ins_are_slowed_and_audited(app, engine):
    name = staff_user(engine, "viewer")
    client = new_client(app)
    ip = client.environ_base["REMOTE_ADDR"]
    start = last_audit_id(engine)
    for i in range(5):
        resp = sign_in_as(client, name, password=f"wrong password {i}")
        assert resp.status_code == 401, (i, resp.status_code)
        assert "not right" in resp.get_data(as_text=True)
    resp = sign_in_as(client, name)  # the 6th attempt, at once, with the right password: asked to wait
    assert resp.status_code == 429
    assert "Try again in" in resp.get_data(as_text=True)
    assert 1 <= int(resp.headers["Retry-After"]) <= 2
    assert client.get("/_dash-layout").status_code == 401
    other_ip = new_client(app)  # the count is per user name, wherever the attempts come from
    assert sign_in_as(other_ip, name).status_code == 429

    failures = audit_events(engine, ip=ip, action="signin.failure", since_id=start)
    assert [(e.actor, e.target, e.outcome) for e in failures] == [("anonymous", name, "failed")] * 5
    throttled = audit_events(engine, action="signin.throttled", since_id=start)
    assert [(e.target, e.outcome, e.ip) for e in throttled] == [
        (name, "denied", ip), (name, "denied", other_ip.environ_base["REMOTE_ADDR"])]
    assert not audit_events(engine, ip=ip, action="signin.success", since_id=start)
    for e in failures + throttled:
        assert abs((utc_now() - e.at).total_seconds()) < 120


def test_successful_sign_in_is_audited(app, engine):
    start = last_audit_id(engine)
    client, name = _signed_in(app, engine, "analyst")
    ip = client.environ_base["REMOTE_ADDR"]
    rows = audit_events(engine, ip=ip, action="signin.success", since_id=start)
    assert [(e.actor, e.role, e.target, e.outcome) for e in rows] == [(name, "analyst", name, "ok")]
    assert abs((utc_now() - rows[0].at).total_seconds()) < 120


def test_sign_in_form_works_with_password_managers(app):
    html = new_client(app).get("/login").get_data(as_text=True)
    user = re.search(r"<input[^>]*id=\"username\"[^>]*>", html).group(0)
    password = re.search(r"<input[^>]*id=\"password\"[^>]*>", html).group(0)
    assert 'autocomplete="username"' in user
    assert 'autocomplete="current-password"' in password and 'type="password"' in password
    assert not re.search(r"\bon(paste|copy|cut|drop|keydown|input)\s*=", html, re.I), "paste must not be blocked"
    assert "<script" not in html.lower()


@pytest.fixture(scope="module")
def next_user(engine) -> str:
    return staff_user(engine, "viewer")


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "http://evil.example/x",
                                    "https:/evil.example", "/\t/evil.example", "javascript:alert(1)",
                                    "evil.example", "///evil.example"])
def test_next_cannot_leave_the_site(app, next_user, target):
    name = next_user
    client = new_client(app)
    form = client.get("/login", query_string={"next": target})
    if "\t" in target:  # a control character in the address is refused before anything reads it
        assert form.status_code == 400
    else:
        hidden = re.search(r'name="next" value="([^"]*)"', form.get_data(as_text=True)).group(1)
        assert hidden == "/", hidden
    resp = sign_in_as(client, name, next_url=target)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/", resp.headers["Location"]


@pytest.mark.parametrize("target", ["/topic/workforce", "/metric/cp_rate_31mar?la=883", "/\\evil.example"])
def test_next_on_site_is_followed(app, next_user, target):
    resp = sign_in_as(new_client(app), next_user, next_url=target)
    assert resp.status_code == 302
    loc = urlsplit(resp.headers["Location"])
    assert not loc.scheme and not loc.netloc and not resp.headers["Location"].startswith("//")
    assert "\\" not in resp.headers["Location"]  # a browser would read "/\" as "//"
    if "evil" not in target:
        assert resp.headers["Location"] == target


def test_sign_in_needs_the_form_token(app, next_user):
    name = next_user
    client = new_client(app)
    client.get("/login")
    resp = client.post("/login", data={"username": name, "password": ROLE_PASSWORD, "next": "/"})
    assert resp.status_code == 400
    assert client.get("/_dash-layout").status_code == 401


def test_anonymous_pages_redirect_to_sign_in(app):
    client = new_client(app)
    resp = client.get("/topic/workforce?la=883")
    assert resp.status_code == 302
    loc = urlsplit(resp.headers["Location"])
    assert loc.path == "/login" and "next=/topic/workforce" in loc.query
    assert client.get("/_dash-layout").status_code == 401


def test_one_time_password_must_be_changed_first(app, engine):
    """A generated (one-time) password lets its user do nothing but choose a new one; then it works,
    the old password no longer does, and other sessions of that user end."""
    name = unique("once")
    _user, one_time = auth.create_user(engine, name, "viewer")  # no password given: one-time, must change
    other = new_client(app)
    assert sign_in_as(other, name, one_time).status_code == 302
    client = new_client(app)
    assert sign_in_as(client, name, one_time).status_code == 302
    send_csrf_header(client)
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/password")
    assert client.get("/_dash-layout").status_code == 403
    assert client.get("/download/scorecard.csv").status_code in (302, 403)
    page = client.get("/account/password").get_data(as_text=True)
    assert 'autocomplete="new-password"' in page and 'autocomplete="current-password"' in page
    bad = client.post("/account/password", data={"current": "wrong", "new": "a much longer password"})
    assert bad.status_code == 400 and "not right" in bad.get_data(as_text=True)
    short = client.post("/account/password", data={"current": one_time, "new": "short"})
    assert short.status_code == 400
    new = "a brand new long password"
    ok = client.post("/account/password", data={"current": one_time, "new": new})
    assert ok.status_code == 302
    assert client.get("/_dash-layout").status_code == 200
    assert other.get("/_dash-layout").status_code in (302, 401)  # the other session has ended
    assert auth.check_password(engine, name, one_time) is None
    assert auth.check_password(engine, name, new) is not None
