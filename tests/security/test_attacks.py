"""What an attacker tried over HTTP, and what must hold instead (issue "Nothing leaks ... under attack").

Each test here failed on the release before the fixes: one-time passwords read data through
callbacks; five wrong passwords a quarter-hour locked anyone out for good; malformed requests got
500s; exports wrote live formulas; a scope that named nothing meant everything. The fuzz test at
the end sends random paths, query strings, headers and callback bodies and accepts no 5xx.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard import cli
from dashboard.auth import service as auth
from dashboard.auth.models import AuthSession, ShareLink

from .conftest import (ROLE_PASSWORD, audit_events, body_for, client_as, copy_cookies, csrf_of, form_csrf,
                       last_audit_id, make_link, new_client, post_callback, router, router_body, send_csrf_header,
                       sign_in_as, staff_user, unique)

# --------------------------------------------------------------------------- one-time passwords


def test_a_one_time_password_reads_nothing_until_it_is_changed(app, engine, deps):
    name = unique("otp")
    _user, one_time = auth.create_user(engine, name, "viewer")  # generated: must be changed first
    client = new_client(app)
    assert sign_in_as(client, name, one_time).status_code == 302
    send_csrf_header(client)

    resp = router(client, deps, "/metric/cp_rate_31mar", "?la=883")  # the router callback: staff data
    assert resp.status_code == 403, resp.get_data(as_text=True)[:200]
    assert "cp_rate" not in resp.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 403
    assert client.get("/_dash-dependencies").status_code == 403
    for path in ("/download/scorecard.csv", "/download/metric/cp_rate_31mar.csv", "/session/status"):
        resp = client.get(path)
        assert resp.status_code in (302, 403), (path, resp.status_code)
        assert resp.mimetype != "text/csv"
    assert client.get("/account/password").status_code == 200  # the one thing it may do

    resp = client.post("/account/password", data={"current": one_time, "new": ROLE_PASSWORD + " 2",
                                                  "csrf_token": csrf_of(client)})
    assert resp.status_code == 302
    assert router(client, deps, "/", "").status_code == 200


# --------------------------------------------------------------------------- throttling, not lockout


class Clock:
    """utcnow for the auth service, moved by hand: failures, waits and audit rows all read it."""

    def __init__(self, monkeypatch):
        self.now = auth.utcnow()
        monkeypatch.setattr(auth, "utcnow", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def test_delays_grow_exponentially_and_end(app, engine, monkeypatch):
    clock = Clock(monkeypatch)
    name = staff_user(engine, "viewer")
    attacker = new_client(app)
    waits = []
    for i in range(9):
        resp = sign_in_as(attacker, name, password=f"guess {i}")
        if resp.status_code == 429:
            wait = int(resp.headers["Retry-After"])
            waits.append(wait)
            clock.advance(wait)  # wait exactly as long as asked, then guess again
            resp = sign_in_as(attacker, name, password=f"guess {i} again")
        assert resp.status_code == 401, (i, resp.status_code)
    assert waits == [1, 2, 4, 8], waits  # after 5 free failures: 1 s, 2 s, 4 s, 8 s ...
    clock.advance(20)
    assert sign_in_as(new_client(app), name).status_code == 302  # the wait ends; nothing stays locked


def test_an_attacker_cannot_keep_the_real_user_out(app, engine, monkeypatch):
    """Five wrong passwords for admin every 15 minutes used to keep the admin out for ever."""
    Clock(monkeypatch)
    name = staff_user(engine, "admin")
    real = new_client(app)
    assert sign_in_as(real, name).status_code == 302  # the admin's own browser, on an earlier day
    real.post("/logout", data={"csrf_token": csrf_of(real)})
    attacker = new_client(app)
    for i in range(12):
        sign_in_as(attacker, name, password=f"guess {i}")
    assert sign_in_as(attacker, name).status_code == 429  # even the right password waits, from the attacker
    resp = sign_in_as(real, name)  # but the admin's own browser gets in
    assert resp.status_code == 302, resp.status_code
    assert resp.headers["Location"] == "/"


def test_an_admin_can_clear_the_count(app, engine, monkeypatch, capsys):
    Clock(monkeypatch)
    name = staff_user(engine, "analyst")
    attacker = new_client(app)
    for i in range(10):
        sign_in_as(attacker, name, password=f"guess {i}")
    new_device = new_client(app)
    assert sign_in_as(new_device, name).status_code == 429
    assert cli.main(["users", "unlock", name]) == 0
    assert "Cleared" in capsys.readouterr().out
    assert sign_in_as(new_device, name).status_code == 302


def test_one_address_is_slowed_without_slowing_anyone_else(app, engine, monkeypatch):
    Clock(monkeypatch)
    sprayer = new_client(app)
    for i in range(20):  # password spraying: one guess for each of many names
        sign_in_as(sprayer, unique(f"spray{i}"), password="Winter2026!")
    victim = staff_user(engine, "viewer")
    assert sign_in_as(sprayer, victim).status_code == 429  # the address waits now
    assert sign_in_as(new_client(app), victim).status_code == 302  # a colleague elsewhere does not


def test_password_change_is_throttled_too(app, engine, monkeypatch):
    Clock(monkeypatch)
    name = staff_user(engine, "viewer")
    client = new_client(app)
    assert sign_in_as(client, name).status_code == 302
    for i in range(5):
        resp = client.post("/account/password", data={"current": f"guess {i}", "new": "a new password 123",
                                                       "csrf_token": csrf_of(client)})
        assert resp.status_code == 400
    resp = client.post("/account/password", data={"current": ROLE_PASSWORD, "new": "a new password 123",
                                                  "csrf_token": csrf_of(client)})
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1


@pytest.fixture(scope="module")
def proxied_app(sec_settings):
    from dashboard.web.app import create_app

    return create_app(dataclasses.replace(sec_settings, trusted_proxies=("127.0.0.1", "10.99.0.0/16")))


@pytest.mark.parametrize("peer, forwarded, seen", [
    ("127.0.0.1", "203.0.113.9", "203.0.113.9"),       # the configured proxy: its X-Forwarded-For is the client
    ("10.99.4.5", "198.51.100.7", "198.51.100.7"),      # a proxy in a configured network
    ("10.50.1.1", "203.0.113.9", "10.50.1.1"),          # anyone else: their header is ignored
])
def test_trusted_proxies_only(proxied_app, engine, peer, forwarded, seen):
    client = proxied_app.server.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    name = unique("proxy")
    start = last_audit_id(engine)
    token = form_csrf(client, headers={"X-Forwarded-For": forwarded})
    client.post("/login", data={"username": name, "password": "x", "csrf_token": token},
                headers={"X-Forwarded-For": forwarded})
    rows = audit_events(engine, action="signin.failure", since_id=start)
    assert [(r.target, r.ip) for r in rows] == [(name, seen)]


# --------------------------------------------------------------------------- no 500s


def test_control_characters_in_paths_and_next_are_4xx(app, engine):
    for client in (new_client(app), client_as(app, engine, "viewer")):
        for path in ("/metric/%0d", "/metric/%0a/x", "/topic/%00", "/login?next=%0d%0aSet-Cookie:x=1"):
            resp = client.get(path)
            assert 400 <= resp.status_code < 500, (path, resp.status_code)
    name = staff_user(engine, "viewer")
    resp = sign_in_as(new_client(app), name, next_url="/\r\nLocation: https://evil.example")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_a_deeply_nested_body_is_refused_before_parsing(app, engine):
    deep = "[" * 100000 + "]" * 100000
    assert post_callback(new_client(app), deep).status_code == 401  # a stranger's body is never parsed
    viewer = client_as(app, engine, "viewer")
    resp = post_callback(viewer, '{"output": "page.children", "inputs": ' + deep + "}")
    assert resp.status_code == 400
    assert post_callback(viewer, "x" * (1024 * 1024 + 10)).status_code == 413


@pytest.mark.parametrize("field, value", [("changedPropIds", 5), ("changedPropIds", [5]), ("inputs", {"a": 1}),
                                          ("outputs", "page"), ("state", [1, 2]), ("output", ["page.children"])])
def test_callback_bodies_of_the_wrong_shape_are_400(app, engine, deps, field, value):
    viewer = client_as(app, engine, "viewer")
    body = router_body(deps, "/")
    body[field] = value
    resp = post_callback(viewer, body)
    assert resp.status_code == 400, (field, value, resp.status_code)


def test_unknown_component_suites_are_404(app, engine):
    for client in (new_client(app), client_as(app, engine, "viewer")):
        for path in ("/_dash-component-suites/nope/x.js", "/_dash-component-suites/dash/not-a-file.js"):
            assert client.get(path).status_code == 404, path


PATHS = st.one_of(
    st.sampled_from(["/", "/metric/cp_rate_31mar", "/topic/workforce", "/download/scorecard.csv",
                     "/download/metric/cp_rate_31mar.csv", "/login", "/healthz", "/admin", "/upload", "/share/x",
                     "/_dash-layout", "/_dash-component-suites/dash/x.js", "/versions/1/file", "/account/password",
                     "/compare/cp_rate_31mar", "/download/compare/cp_rate_31mar.csv", "/search"]),
    # "//x" would be read by the test client as a host name, not sent as a path
    # (and a "?" or "#" would be split off by it, beside the query string given on its own)
    st.text(st.characters(codec="utf-8", blacklist_characters="?#"), max_size=40).map(lambda t: "/" + t.lstrip("/")),
)
QUERIES = st.dictionaries(st.sampled_from(["la", "cmp", "sn", "as_of", "topic", "rag", "agency", "breakdown", "next",
                                           "with", "q"]),
                          st.text(st.characters(codec="utf-8"), max_size=30), max_size=4)
HEADERS = st.dictionaries(st.sampled_from(["Accept", "X-Forwarded-For", "Origin", "Referer", "Cookie", "Range",
                                           "If-None-Match", "Content-Type", "Accept-Encoding"]),
                          st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60), max_size=3)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                    max_leaves=20)


def _ok(resp, what) -> None:
    assert resp.status_code < 500, (what, resp.status_code, resp.get_data(as_text=True)[:300])
    assert "Traceback" not in resp.get_data(as_text=True)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(role=st.sampled_from(["anonymous", "viewer", "inspector"]), path=PATHS, query=QUERIES, headers=HEADERS,
       method=st.sampled_from(["GET", "POST", "HEAD"]))
def test_fuzz_requests_get_no_5xx(clients, role, path, query, headers, method):
    client = clients[role]
    resp = client.open(path, method=method, query_string=query, headers=headers)
    _ok(resp, (role, method, path, query, headers))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(role=st.sampled_from(["anonymous", "viewer"]), data=st.data())
def test_fuzz_callback_bodies_get_no_5xx(clients, deps, role, data):
    client = clients[role]
    cb = data.draw(st.sampled_from(deps))
    body = body_for(cb, default=data.draw(JSON))
    for key in data.draw(st.lists(st.sampled_from(["output", "outputs", "inputs", "state", "changedPropIds"]),
                                  max_size=2, unique=True)):
        body[key] = data.draw(JSON)
    _ok(post_callback(client, body), (role, body))
    _ok(post_callback(client, json.dumps(body)[: data.draw(st.integers(0, 200))]), (role, "truncated"))


# --------------------------------------------------------------------------- exports and logs


def test_the_audit_csv_neutralises_formulas_and_keeps_rows_whole(app, engine):
    start = last_audit_id(engine)
    attacker = new_client(app)
    names = ['=HYPERLINK("https://evil.example","click")', "+1+1", "-2", "@SUM(A1)", "bare\rreturn"]
    for name in names:
        sign_in_as(attacker, name, password="x")
    text = client_as(app, engine, "admin").get("/admin/audit.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][0] == "id"
    ids = {str(e.id) for e in audit_events(engine, action="signin.failure", since_id=start)}
    got = {r[0]: r for r in rows[1:] if r[0] in ids}
    assert len(got) == len(names)  # one row each: the bare CR did not split a row
    targets = sorted(r[5] for r in got.values())
    assert targets == sorted(["'" + n if n[0] in "=+-@" else n for n in names])
    for line in text.split("\n"):
        assert not line.startswith(("=", "+", "-", "@")), line
    assert all(field.startswith('"') for line in text.splitlines()[:2] for field in line.split(","))


def test_responses_with_data_or_names_are_not_stored(app, engine, deps):
    admin = client_as(app, engine, "admin")
    for path in ("/admin", "/admin/audit", "/upload", "/admin/versions", "/login", "/accessibility", "/"):
        assert admin.get(path).headers.get("Cache-Control") == "no-store", path
    assert router(admin, deps, "/").headers.get("Cache-Control") == "no-store"
    anonymous = new_client(app)
    assert anonymous.get("/login").headers.get("Cache-Control") == "no-store"
    asset = anonymous.get("/assets/style.css")
    assert asset.status_code == 200 and asset.headers.get("Cache-Control") != "no-store"


def test_health_check_tells_strangers_only_status_version_and_newest_period(app):
    resp = new_client(app).get("/healthz")
    assert resp.status_code == 200
    assert set(resp.get_json()) == {"status", "data_version", "newest_data"}


# --------------------------------------------------------------------------- smaller things


@pytest.mark.parametrize("scope", ["la=,", "la=", "metrics=", "metrics=,,", "la=999", "la=Thurrock",
                                   "metrics=not_a_metric", "region=E12000006"])
def test_an_empty_or_unknown_scope_is_refused(engine, capsys, scope):
    with Session(engine) as s:
        before = s.execute(select(func.count()).select_from(ShareLink)).scalar()
    with pytest.raises(SystemExit) as exc:
        cli.main(["share", "create", "--label", "x", "--expires", (dt.date.today() + dt.timedelta(days=2)).isoformat(),
                  "--scope", scope])
    assert "error" in str(exc.value)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(ShareLink)).scalar() == before


def test_link_expiry_is_capped(app, engine, capsys):
    far = (dt.date.today() + dt.timedelta(days=200)).isoformat()
    with pytest.raises(SystemExit, match="at most 90 days"):
        cli.main(["share", "create", "--label", "too long", "--expires", far])
    with pytest.raises(auth.AuthError, match="at most 90 days"):
        auth.create_link(engine, label="x", expires_at=auth.utcnow() + dt.timedelta(days=91, hours=2),
                         issued_by="tests")
    admin = client_as(app, engine, "admin")
    resp = admin.post("/admin/links", data={"label": "too long", "expires": far, "csrf_token": csrf_of(admin)})
    assert resp.status_code == 400 and "at most 90 days" in resp.get_data(as_text=True)


def test_no_app_shell_for_strangers_and_no_versions(app, engine):
    anonymous = new_client(app)
    fav = anonymous.get("/favicon.ico")
    assert fav.status_code == 200 and fav.mimetype.startswith("image/") and fav.data[:4] == b"\x00\x00\x01\x00"
    for path in ("/share/", "/assets/", "/nowhere", "/metric/not_a_metric"):
        resp = anonymous.get(path)
        assert resp.status_code == 404, (path, resp.status_code)
        assert "_dash-config" not in resp.get_data(as_text=True)
    shell = client_as(app, engine, "viewer").get("/").get_data(as_text=True)
    config = json.loads(re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', shell,
                                  re.S).group(1))
    for key in ("python_version", "dash_version", "plotly_version", "ddk_version"):
        assert key not in config
    assert "Python" not in shell


def test_state_changing_requests_from_another_site_are_refused(app, engine):
    name = staff_user(engine, "viewer")
    client = new_client(app)
    token = form_csrf(client)
    form = {"username": name, "password": ROLE_PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/login", data=form, headers={"Referer": "https://evil.example/x"}).status_code == 403
    assert client.post("/login", data=form, headers={"Origin": "http://localhost"}).status_code == 302


def test_opening_an_inspector_link_ends_the_staff_session(app, engine, deps):
    staff = client_as(app, engine, "analyst")
    thief = new_client(app)
    copy_cookies(staff, thief)  # what the staff session's cookie could still do afterwards
    thief.environ_base["HTTP_X_CSRFTOKEN"] = csrf_of(staff)
    _link, token = make_link(engine)
    assert staff.get(f"/share/{token}").status_code == 303
    assert thief.get("/_dash-layout").status_code == 401
    with Session(engine) as s:
        ended = s.scalars(select(AuthSession).where(AuthSession.ended_reason == "inspector link opened")).all()
    assert ended


def test_an_opaque_origin_is_cross_site(app, engine):
    name = staff_user(engine, "viewer")
    client = new_client(app)
    token = form_csrf(client)
    resp = client.post("/login", data={"username": name, "password": ROLE_PASSWORD, "csrf_token": token},
                       headers={"Origin": "null"})
    assert resp.status_code == 403
    assert client.get("/login").headers["Referrer-Policy"] == "same-origin"
