"""Inspector links: 256-bit tokens stored only as SHA-256, a clean URL after opening, every opening
and refusal audited, and an inspector session that ends when its link is revoked or expires."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.auth import service as auth
from dashboard.auth.models import ShareLink

from .conftest import (
    audit_events,
    by_id,
    client_as,
    csrf_of,
    last_audit_id,
    link_row,
    make_link,
    new_client,
    open_link,
    page_of,
    post_callback,
    router,
    router_body,
    session_row,
    text_of,
    unique,
    update_row,
    utc_now,
)


def _new_link(engine, lifetime: dt.timedelta = dt.timedelta(days=1)):
    return make_link(engine, label=unique("sec link"), lifetime=lifetime)


def _row_values(engine, link_id: int) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(ShareLink.__table__).where(ShareLink.__table__.c.id == link_id)).mappings().one()
    return dict(row)


def test_token_has_256_bits_and_only_its_hash_is_stored(engine):
    tokens = set()
    for _ in range(3):
        link, token = _new_link(engine)
        assert len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token), token
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 32
        values = _row_values(engine, link.id)
        assert values["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
        for column, value in values.items():
            assert value != token, column
            assert token not in str(value), column
        tokens.add(token)
    assert len(tokens) == 3


def test_create_link_returns_a_usable_link(engine):
    link, token = auth.create_link(engine, label=unique("returned"), expires_at=auth.utcnow() + dt.timedelta(days=1),
                                   issued_by="tests", scope={"las": ["883"]})
    assert isinstance(link.id, int) and link.label.startswith("returned")
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_admin_creates_a_link_shown_once(app, engine):
    admin = client_as(app, engine, "admin")
    start = last_audit_id(engine)
    label = unique("Ofsted ILACS")
    resp = admin.post("/admin/links", data={"label": label,
                                            "expires": (dt.date.today() + dt.timedelta(days=5)).isoformat()})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    urls = re.findall(r"https?://[^\s<\"]+/share/([A-Za-z0-9_-]+)", html)
    assert len(urls) == 1, urls
    token = urls[0]
    assert len(token) == 43
    assert token not in admin.get("/admin").get_data(as_text=True)  # never shown again
    with Session(engine) as s:
        link = s.scalars(select(ShareLink).where(ShareLink.label == label)).one()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.issued_by == "test-admin"
    created = audit_events(engine, action="link.create", since_id=start)
    assert [(e.actor, e.role, e.target, e.detail) for e in created] == [("test-admin", "admin", f"link:{link.id}",
                                                                        label)]
    assert token not in "".join(f"{e.target}{e.detail}" for e in audit_events(engine, since_id=start))
    assert new_client(app).get(f"/share/{token}").status_code == 303


def test_opening_a_link_redirects_to_a_clean_url_and_is_audited(app, engine):
    link, token = _new_link(engine)
    start = last_audit_id(engine)
    first, second = new_client(app), new_client(app)
    for client in (first, second):  # the same link works in a second browser
        resp = client.get(f"/share/{token}")
        assert resp.status_code == 303
        assert resp.headers["Location"] == "/"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert token not in resp.get_data(as_text=True)
        assert client.get("/_dash-layout").status_code == 200
        assert client.get("/admin").status_code == 403  # an inspector, nothing more
    opened = audit_events(engine, action="link.open", since_id=start)
    assert [(e.actor, e.role, e.target, e.outcome) for e in opened] == [
        (f"link:{link.id}", "inspector", link.label, "ok")] * 2
    assert {e.ip for e in opened} == {first.environ_base["REMOTE_ADDR"], second.environ_base["REMOTE_ADDR"]}
    assert token not in "".join(f"{e.target}{e.detail}" for e in audit_events(engine, since_id=start))


def test_opening_a_link_is_counted(app, engine):
    link, token = _new_link(engine)
    for _ in range(2):
        assert new_client(app).get(f"/share/{token}").status_code == 303
    row = link_row(engine, link.id)
    assert row.uses == 2 and row.last_used_at is not None


def _refused(app, engine, token: str, message: str):
    client = new_client(app)
    start = last_audit_id(engine)
    resp = client.get(f"/share/{token}")
    assert resp.status_code == 403, resp.status_code
    html = resp.get_data(as_text=True)
    assert message in html, html[:500]
    assert client.get("/_dash-layout").status_code == 401  # no session was started
    rows = audit_events(engine, ip=client.environ_base["REMOTE_ADDR"], action="link.open", since_id=start)
    assert [(e.actor, e.outcome, e.detail) for e in rows] == [("anonymous", "denied", message)]
    assert token not in rows[0].target


def test_expired_link_is_refused(app, engine):
    link, token = _new_link(engine)
    update_row(engine, ShareLink, link.id, expires_at=utc_now() - dt.timedelta(seconds=1))
    _refused(app, engine, token, "This link has expired.")


def test_revoked_link_is_refused(app, engine):
    link, token = _new_link(engine)
    assert auth.revoke_links(engine, link.id) == 1
    _refused(app, engine, token, "This link has been withdrawn.")


def test_tampered_and_random_tokens_are_refused(app, engine):
    _link, token = _new_link(engine)
    i = len(token) // 2
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
    for bad in (tampered, token[:-1], token + "x", secrets.token_urlsafe(32), "x" * 500):
        _refused(app, engine, bad, "This link is not valid.")
    assert new_client(app).get(f"/share/{token}").status_code == 303  # the real one still works


def test_revoking_ends_a_live_inspector_session_at_once(app, engine, deps):
    link, _token, inspector = open_link(app, engine)
    body = router_body(deps, "/about")
    assert post_callback(inspector, body).status_code == 200
    auth.revoke_links(engine, link.id)
    assert inspector.get("/_dash-layout").status_code == 401
    assert post_callback(inspector, body).status_code == 401
    assert session_row(engine, app, inspector).ended_reason == "link revoked"


def test_admin_revoke_ends_the_inspector_session(app, engine):
    link, token, inspector = open_link(app, engine)
    admin = client_as(app, engine, "admin")
    start = last_audit_id(engine)
    resp = admin.post(f"/admin/links/{link.id}/revoke")
    assert resp.status_code == 303
    assert inspector.get("/_dash-layout").status_code == 401
    assert link_row(engine, link.id).revoked_at is not None
    assert [(e.actor, e.target, e.outcome) for e in audit_events(engine, action="link.revoke", since_id=start)] == [
        ("test-admin", f"link:{link.id}", "ok")]
    assert new_client(app).get(f"/share/{token}").status_code == 403


def test_admin_revoke_all_ends_every_inspector_session(app, engine):
    opened = [open_link(app, engine) for _ in range(2)]
    admin = client_as(app, engine, "admin")
    start = last_audit_id(engine)
    assert client_as(app, engine, "analyst").post("/admin/links/revoke-all").status_code == 403
    assert all(c.get("/_dash-layout").status_code == 200 for _l, _t, c in opened)
    assert admin.post("/admin/links/revoke-all").status_code == 303
    for link, token, client in opened:
        assert client.get("/_dash-layout").status_code == 401
        assert link_row(engine, link.id).revoked_at is not None
        assert new_client(app).get(f"/share/{token}").status_code == 403
    assert [e.actor for e in audit_events(engine, action="link.revoke_all", since_id=start)] == ["test-admin"]


def test_admin_revoke_needs_the_csrf_token(app, engine):
    link, _token, inspector = open_link(app, engine)
    admin = client_as(app, engine, "admin")
    admin.environ_base.pop("HTTP_X_CSRFTOKEN")
    assert admin.post(f"/admin/links/{link.id}/revoke").status_code == 403
    assert admin.post(f"/admin/links/{link.id}/revoke", data={"csrf_token": "forged"}).status_code == 403
    assert link_row(engine, link.id).revoked_at is None
    assert inspector.get("/_dash-layout").status_code == 200
    assert admin.post(f"/admin/links/{link.id}/revoke", data={"csrf_token": csrf_of(admin)}).status_code == 303
    assert inspector.get("/_dash-layout").status_code == 401


def test_inspector_session_ends_at_the_links_expiry(app, engine):
    link, _token, inspector = open_link(app, engine)
    session = session_row(engine, app, inspector)
    assert session.role == "inspector" and session.link_id == link.id and session.user_id is None
    assert session.expires_at <= link_row(engine, link.id).expires_at
    assert inspector.get("/_dash-layout").status_code == 200
    update_row(engine, ShareLink, link.id, expires_at=utc_now() - dt.timedelta(seconds=1))
    assert inspector.get("/_dash-layout").status_code == 401
    assert session_row(engine, app, inspector).ended_reason == "link expired"


def test_a_session_never_outlives_its_link(app, engine):
    link, token = _new_link(engine, dt.timedelta(hours=1))
    client = new_client(app)
    assert client.get(f"/share/{token}").status_code == 303
    session = session_row(engine, app, client)
    assert abs((session.expires_at - link.expires_at).total_seconds()) < 1
    status = client.get("/session/status").get_json()
    assert 3500 <= status["absolute_seconds_left"] <= 3600


@pytest.mark.parametrize("scope,allowed,refused", [({"las": ["805"]}, "805", "883"),
                                                   ({"las": ["883", "201"]}, "201", "202")])
def test_link_scope_limits_authorities(app, engine, deps, scope, allowed, refused):
    _link, _token, inspector = open_link(app, engine, scope)
    ok = page_of(router(inspector, deps, "/metric/cp_rate_31mar", f"?la={allowed}"))
    assert text_of(by_id(ok, "page-heading")) != "Not available"
    no = page_of(router(inspector, deps, "/metric/cp_rate_31mar", f"?la={refused}"))
    assert text_of(by_id(no, "page-heading")) == "Not available"
    assert inspector.get(f"/download/metric/cp_rate_31mar.csv?la={refused}").status_code == 403
    assert inspector.get(f"/download/metric/cp_rate_31mar.csv?la={allowed}").status_code == 200
