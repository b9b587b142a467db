"""The ``users`` and ``share`` commands, run in-process against the test database (the session's
environment already points DATABASE_URL at it), checked through the web app they control."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import pytest
from sqlalchemy.orm import Session

from dashboard import cli
from dashboard.auth.models import ShareLink

from .conftest import (audit_events, by_id, last_audit_id, make_link, new_client, open_inspector_link, page_of,
                       router, send_csrf_header, sign_in_as, text_of, unique)

URL = re.compile(r"(https?://\S+)/share/([A-Za-z0-9_-]+)")

# Every command here reads or writes the session database (through the environment), also in the tests that
# ask for no app or engine: they depend on the database too (tests/conftest.py, the database rule).
pytestmark = pytest.mark.usefixtures("sec_settings")


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def _future(days: int = 3) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def _create(capsys, label: str, *extra: str) -> tuple[int, str, str]:
    code, out = _run(capsys, "share", "create", "--label", label, "--expires", _future(), *extra)
    assert code == 0, out
    urls = URL.findall(out)
    assert len(urls) == 1, out  # printed once
    link_id = int(re.search(r"Link (\d+) for", out).group(1))
    return link_id, urls[0][1], out


def _list_line(capsys, label: str) -> str:
    code, out = _run(capsys, "share", "list")
    assert code == 0
    lines = [line for line in out.splitlines() if label in line]
    assert len(lines) == 1, out
    return lines[0]


def test_share_create_prints_the_url_once(app, engine, capsys):
    label = unique("Ofsted CLI")
    start = last_audit_id(engine)
    link_id, token, out = _create(capsys, label, "--base-url", "https://dashboard.example")
    assert out.count(token) == 1
    assert URL.search(out).group(1) == "https://dashboard.example"
    assert len(token) == 43
    with Session(engine) as s:
        link = s.get(ShareLink, link_id)
        assert link.label == label and link.issued_by == "cli"
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert link.expires_at.date().isoformat() == _future()
    assert [(e.actor, e.action, e.target) for e in audit_events(engine, action="link.create", since_id=start)] == [
        ("cli", "link.create", f"link:{link_id}")]

    line = _list_line(capsys, label)
    assert "active" in line and token not in line
    client = new_client(app)
    assert client.get(f"/share/{token}").status_code == 303
    assert client.get("/_dash-layout").status_code == 200


def test_share_list_shows_links_without_tokens(engine, capsys):
    link, token = make_link(engine, label=unique("listed"))
    line = _list_line(capsys, link.label)
    assert line.split()[0] == str(link.id) and "active" in line and "by tests" in line
    assert token not in line and link.token_hash not in line


def test_share_revoke_one(app, engine, capsys):
    link, token = make_link(engine, label=unique("revoke one"))
    link_id, label = link.id, link.label
    keep, keep_token = make_link(engine, label=unique("keep"))
    keep_label = keep.label
    inspector = new_client(app)
    assert inspector.get(f"/share/{token}").status_code == 303
    start = last_audit_id(engine)
    code, out = _run(capsys, "share", "revoke", str(link_id))
    assert code == 0 and "Revoked 1 link(s)" in out
    assert [(e.actor, e.target, e.outcome) for e in audit_events(engine, action="link.revoke", since_id=start)] == [
        ("cli", f"link:{link_id}", "ok")]
    assert "revoked" in _list_line(capsys, label)
    assert "active" in _list_line(capsys, keep_label)
    assert inspector.get("/_dash-layout").status_code == 401
    assert new_client(app).get(f"/share/{token}").status_code == 403
    assert new_client(app).get(f"/share/{keep_token}").status_code == 303
    code, out = _run(capsys, "share", "revoke", str(link_id))  # already revoked: nothing to do, and it says so
    assert code == 1 and "Revoked 0 link(s)" in out


def test_share_revoke_all(app, engine, capsys):
    made = [make_link(engine, label=unique("all")) for _ in range(2)]
    labels = [link.label for link, _token in made]
    sessions = []
    for _link, token in made:
        c = new_client(app)
        assert c.get(f"/share/{token}").status_code == 303
        sessions.append(c)
    code, out = _run(capsys, "share", "revoke", "--all")
    assert code == 0
    assert int(re.search(r"Revoked (\d+) link", out).group(1)) >= 2
    for label in labels:
        assert "revoked" in _list_line(capsys, label)
    for c in sessions:
        assert c.get("/_dash-layout").status_code == 401
    for _link, token in made:
        assert new_client(app).get(f"/share/{token}").status_code == 403


def test_share_refuses_bad_requests(capsys):
    with pytest.raises(SystemExit, match="give a link ID or --all"):
        cli.main(["share", "revoke"])
    with pytest.raises(SystemExit, match="expiry must be in the future"):
        cli.main(["share", "create", "--label", "x", "--expires", "2001-01-01"])
    with pytest.raises(SystemExit, match="needs a label"):
        cli.main(["share", "create", "--label", "  ", "--expires", _future()])
    with pytest.raises(SystemExit, match="--scope"):
        cli.main(["share", "create", "--label", "x", "--expires", _future(), "--scope", "role=admin"])
    with pytest.raises(SystemExit) as exc:
        cli.main(["share", "create", "--label", "x", "--expires", "tomorrow"])
    assert exc.value.code == 2
    assert "/share/" not in capsys.readouterr().out


def test_share_scope_limits_the_inspector(app, engine, deps, capsys):
    _id, token, out = _create(capsys, unique("scoped"), "--scope", "la=805")
    assert "'las': ['805']" in out
    client = new_client(app)
    open_inspector_link(client, token)

    def heading(la: str) -> str:
        return text_of(by_id(page_of(router(client, deps, "/metric/cp_rate_31mar", f"?la={la}")), "page-heading"))

    assert heading("805") != "Not available"
    assert heading("883") == "Not available"


def test_users_add_and_disable(app, engine, capsys, monkeypatch):
    name = unique("cli-viewer")
    code, out = _run(capsys, "users", "add", name, "--role", "viewer")
    assert code == 0
    password = re.search(r"One-time password \(shown once, change it after signing in\): (\S+)", out).group(1)
    assert len(password) >= 12
    client = new_client(app)
    assert sign_in_as(client, name, password).status_code == 302
    # a one-time password: nothing but choosing a new one until it is changed
    assert client.get("/_dash-layout").status_code == 403
    send_csrf_header(client)
    password_was, password = password, "the viewer's own password"
    assert client.post("/account/password", data={"current": password_was, "new": password}).status_code == 302
    assert client.get("/_dash-layout").status_code == 200
    assert client.get("/admin").status_code == 403  # a viewer, as asked

    start = last_audit_id(engine)
    code, out = _run(capsys, "users", "disable", name)
    assert code == 0 and "their sessions have ended" in out
    assert client.get("/_dash-layout").status_code == 401
    assert sign_in_as(new_client(app), name, password).status_code == 401
    assert [(e.actor, e.target) for e in audit_events(engine, action="user.disable", since_id=start)] == [("cli", name)]

    code, _ = _run(capsys, "users", "disable", name, "--enable")
    assert code == 0
    assert sign_in_as(new_client(app), name, password).status_code == 302

    other = unique("cli-stdin")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    code, out = _run(capsys, "users", "add", other, "--role", "analyst", "--password-stdin")
    assert code == 0 and "One-time password" not in out and "a long enough password" not in out
    assert sign_in_as(new_client(app), other, "a long enough password").status_code == 302


def test_users_add_refuses_inspectors_and_short_passwords(capsys, monkeypatch):
    with pytest.raises(SystemExit) as exc:
        cli.main(["users", "add", unique("x"), "--role", "inspector"])
    assert exc.value.code == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(SystemExit, match="at least 12 characters"):
        cli.main(["users", "add", unique("y"), "--role", "viewer", "--password-stdin"])
    with pytest.raises(SystemExit, match="no user called"):
        cli.main(["users", "disable", unique("nobody")])
