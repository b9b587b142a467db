"""Meetings, commentary and actions over HTTP: who may write, CSRF, drafts hidden, text shown as text.

Writes are form POSTs under /record/ (dashboard.web.meetings). Viewers and inspectors are refused
every one of them (403) and nothing changes; an analyst without the CSRF token, or from another
site, is refused too; viewers and inspectors see published commentary only, never a draft.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from dashboard.models import Action, ActionChange, AuditEvent, Comment, Meeting

from tests.helpers import render_page as render_page_of
from tests.helpers import walk

from .conftest import client_as, unique

METRIC = "lac_placed_20_miles"  # on the exceptions view of any meeting in 2026 (target missed 3 years running)
PERIOD = "2025-03-31"
THURROCK = "E06000034"
TABLES = (Meeting, Comment, Action, ActionChange)


def counts(engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t.__tablename__: c.execute(select(func.count()).select_from(t)).scalar() for t in TABLES}


def write_audits(engine) -> int:
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.in_(
            ("meeting.create", "comment.add", "comment.publish", "action.add", "action.update")))).scalar()


def post(client, path: str, data: dict, *, csrf: bool = True, **kw):
    form = dict(data)
    if csrf:
        form["csrf_token"] = client.environ_base.get("HTTP_X_CSRFTOKEN", "")
    return client.post(path, data=form, **kw)


def page_text(client, deps, path: str, search: str = "?la=883") -> str:
    """Everything a page's layout says, serialised (strings exactly as the components carry them)."""
    return json.dumps(render_page_of(client, deps, path, search))


@pytest.fixture(scope="module")
def analyst(app, engine):
    return client_as(app, engine, "analyst")


@pytest.fixture(scope="module")
def seeded(analyst, engine):
    """A meeting with a draft and a published comment and an overdue action, written over HTTP by an analyst."""
    title = unique("Panel")
    r = post(analyst, "/record/meeting", {"date": "2026-01-15", "title": title, "la": "883"})
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    meeting_id = int(r.headers["Location"].split("/meeting/")[1].split("?")[0])
    assert r.headers["Location"] == f"/meeting/{meeting_id}?la=883"
    published_text = unique("Published: rate up <script>alert(1)</script>")
    draft_text = unique("DRAFT only: =HYPERLINK(\"http://evil\")")
    r = post(analyst, "/record/comment", {"metric_id": METRIC, "period_end": PERIOD, "la": "883",
                                          "data_says": published_text, "why": "Referrals rose.", "doing": ""})
    assert r.status_code == 303 and r.headers["Location"] == f"/metric/{METRIC}?la=883"
    with engine.connect() as c:
        first = c.execute(select(Comment.id).where(Comment.data_says == published_text)).scalar()
    assert post(analyst, f"/record/comment/{first}/publish", {}).status_code == 303
    assert post(analyst, "/record/comment", {"metric_id": METRIC, "period_end": PERIOD, "la": "883",
                                             "data_says": draft_text}).status_code == 303
    action_text = unique("Review thresholds with the police")
    r = post(analyst, "/record/action", {"meeting_id": meeting_id, "metric_id": METRIC, "la": "883",
                                         "text": action_text, "agency": "Police", "due_date": "2026-01-20"})
    assert r.status_code == 303 and r.headers["Location"] == f"/meeting/{meeting_id}?la=883"
    with engine.connect() as c:
        action_id = c.execute(select(Action.id).where(Action.text == action_text)).scalar()
    return dict(meeting_id=meeting_id, title=title, published=published_text, draft=draft_text,
                action=action_text, action_id=action_id, comment_id=first)


def test_analyst_writes_are_stored_as_typed_and_audited(seeded, engine):
    with engine.connect() as c:
        rows = c.execute(select(Comment.status, Comment.data_says, Comment.author)
                         .where(Comment.data_says.in_((seeded["published"], seeded["draft"])))
                         .order_by(Comment.id)).all()
        audit = c.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.target)
                          .where(AuditEvent.target == f"action:{seeded['action_id']}")).all()
    assert [tuple(r) for r in rows] == [("draft", seeded["published"], "test-analyst"),
                                        ("published", seeded["published"], "test-analyst"),
                                        ("draft", seeded["draft"], "test-analyst")]
    assert [tuple(a) for a in audit] == [("action.add", "test-analyst", f"action:{seeded['action_id']}")]


@pytest.mark.parametrize("role", ["viewer", "inspector"])
def test_viewers_and_inspectors_see_published_commentary_never_drafts(app, engine, deps, seeded, role):
    client = client_as(app, engine, role)
    metric = page_text(client, deps, f"/metric/{METRIC}")
    meeting = page_text(client, deps, f"/meeting/{seeded['meeting_id']}")
    for text in (metric, meeting):
        assert json.dumps(seeded["published"])[1:-1] in text
        assert json.dumps(seeded["draft"])[1:-1] not in text
        assert "Draft (not published)" not in text
        assert "/record/" not in text  # no write form drawn for them
    assert json.dumps(seeded["action"])[1:-1] in metric


def test_analysts_see_drafts_and_the_forms(analyst, deps, seeded):
    text = page_text(analyst, deps, f"/metric/{METRIC}")
    assert json.dumps(seeded["draft"])[1:-1] in text and "Draft (not published)" in text
    assert "/record/comment" in text and "csrf_token" in text


def test_text_is_a_string_child_never_html(analyst, deps, seeded):
    """The comment is a plain string in the layout (React escapes it): no component takes HTML."""
    tree = render_page_of(analyst, deps, f"/metric/{METRIC}", "?la=883")
    holders = [n for n in walk(tree) if n["props"].get("children") == seeded["published"]]
    assert holders and all(n["type"] == "P" for n in holders)
    assert not any("dangerously_allow_html" in n["props"] for n in walk(tree))


def test_overdue_action_stands_out_in_words(analyst, deps, seeded):
    if dt.date.today() <= dt.date(2026, 1, 20):
        pytest.skip("the seeded action is not overdue yet")
    for path in (f"/meeting/{seeded['meeting_id']}", f"/metric/{METRIC}"):
        text = page_text(analyst, deps, path)
        assert "Overdue: due 2026-01-20" in text and "\\u26a0" in text, path


WRITES = [
    ("/record/meeting", {"date": "2026-02-01", "title": "Forged meeting", "la": "883"}),
    ("/record/comment", {"metric_id": METRIC, "period_end": PERIOD, "la": "883", "data_says": "forged"}),
    ("/record/comment/{comment_id}/publish", {}),
    ("/record/action", {"meeting_id": "{meeting_id}", "metric_id": METRIC, "la": "883", "text": "forged",
                        "agency": "Police", "due_date": "2026-02-01"}),
    ("/record/action/{action_id}", {"status": "done", "note": "forged"}),
]


def _fill(path: str, data: dict, seeded: dict) -> tuple[str, dict]:
    return path.format(**seeded), {k: str(v).format(**seeded) for k, v in data.items()}


@pytest.mark.parametrize("role", ["viewer", "inspector", "anonymous"])
@pytest.mark.parametrize("path, data", WRITES)
def test_viewer_inspector_and_stranger_writes_are_refused_and_change_nothing(app, engine, seeded, role, path, data):
    client = client_as(app, engine, role)
    path, data = _fill(path, data, seeded)
    before, audits = counts(engine), write_audits(engine)
    resp = post(client, path, data)
    assert resp.status_code == (401 if role == "anonymous" else 403), (role, path, resp.status_code)
    assert counts(engine) == before and write_audits(engine) == audits


@pytest.mark.parametrize("path, data", WRITES)
def test_analyst_writes_without_the_csrf_token_or_from_another_site_are_refused(app, engine, seeded, path, data):
    client = client_as(app, engine, "analyst")
    token = client.environ_base.pop("HTTP_X_CSRFTOKEN")
    path, data = _fill(path, data, seeded)
    before, audits = counts(engine), write_audits(engine)
    assert post(client, path, data, csrf=False).status_code == 403
    assert client.post(path, data={**data, "csrf_token": "not-the-token"}).status_code == 403
    assert client.post(path, data={**data, "csrf_token": token},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert counts(engine) == before and write_audits(engine) == audits


def test_bad_input_is_refused_with_the_reason(analyst, engine):
    before = counts(engine)
    r = post(analyst, "/record/meeting", {"date": "15/01/2026", "title": "x"})
    assert r.status_code == 400 and "YYYY-MM-DD" in r.get_data(as_text=True)
    r = post(analyst, "/record/comment", {"metric_id": "not_a_metric", "period_end": PERIOD, "data_says": "x"})
    assert r.status_code == 400
    r = post(analyst, "/record/action/999999", {"status": "done"})
    assert r.status_code == 400 and "does not exist" in r.get_data(as_text=True)
    assert counts(engine) == before


def test_meetings_list_and_exceptions_view(analyst, app, engine, deps, seeded):
    text = page_text(analyst, deps, "/meetings")
    assert json.dumps(seeded["title"])[1:-1] in text and "Add a meeting" in text
    viewer_text = page_text(client_as(app, engine, "viewer"), deps, "/meetings")
    assert json.dumps(seeded["title"])[1:-1] in viewer_text and "Add a meeting" not in viewer_text
    meeting = page_text(analyst, deps, f"/meeting/{seeded['meeting_id']}", "?la=882")  # any authority
    assert "Southend-on-Sea" in meeting
    assert "There is no meeting" in page_text(analyst, deps, "/meeting/987654321")


@pytest.mark.parametrize("role", ["viewer", "inspector", "analyst"])
def test_meeting_mode_one_exception_per_screen(app, engine, deps, seeded, role):
    client = client_as(app, engine, role)
    first = render_page_of(client, deps, f"/meeting/{seeded['meeting_id']}/present", "?la=883")
    nodes = {n["props"].get("id"): n for n in walk(first) if n["props"].get("id")}
    position = nodes["present-position"]["props"]["children"]
    assert position.startswith("1 of ")
    total = int(position.split(" of ")[1])
    assert nodes["present-next"]["props"]["href"] == f"/meeting/{seeded['meeting_id']}/present/2?la=883"
    assert "present-prev" not in nodes and "present-graph" in nodes
    last = render_page_of(client, deps, f"/meeting/{seeded['meeting_id']}/present/{total + 5}", "?la=883")
    last_ids = {n["props"].get("id") for n in walk(last)}
    assert "present-next" not in last_ids and "present-prev" in last_ids  # clamped to the last
    # the slide of the seeded metric carries its published commentary and open action, never the draft
    texts = []
    for i in range(1, total + 1):
        text = json.dumps(render_page_of(client, deps, f"/meeting/{seeded['meeting_id']}/present/{i}", "?la=883"))
        texts.append(text)
    mine = [t for t in texts if f"/metric/{METRIC}?la=883" in t and "present-title" in t
            and json.dumps(seeded["published"])[1:-1] in t]
    assert mine and json.dumps(seeded["action"])[1:-1] in mine[0]
    assert all(json.dumps(seeded["draft"])[1:-1] not in t for t in texts)
    assert "/record/comment" not in "".join(texts)  # no commentary forms on the projector
    if role != "analyst":
        assert "/record/" not in "".join(texts)


@pytest.mark.parametrize("role", ["viewer", "inspector"])
def test_pack_download_published_only_for_any_reader(app, engine, seeded, role):
    from io import BytesIO

    from openpyxl import load_workbook

    client = client_as(app, engine, role)
    resp = client.get(f"/download/meeting/{seeded['meeting_id']}/pack.xlsx?la=883")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="meeting_{seeded["meeting_id"]}_pack_883.xlsx"'
    wb = load_workbook(BytesIO(resp.data))
    cells = [c for ws in wb for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert any(seeded["published"] in c for c in cells)
    assert not any(seeded["draft"] in c for c in cells)
    assert client.get("/download/meeting/987654/pack.xlsx?la=883").status_code == 404
    if role == "inspector":  # a link for 883 cannot take another authority's pack
        assert client.get(f"/download/meeting/{seeded['meeting_id']}/pack.xlsx?la=882").status_code == 403
