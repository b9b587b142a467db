"""The meetings service: meetings, commentary kept as history, actions with their history, audited."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from dashboard import meetings as mt
from dashboard import store
from dashboard.models import AuditEvent

THURROCK = "E06000034"
ANALYST = dict(actor="ann.analyst", role="analyst")


@pytest.fixture
def engine(tmp_path):
    eng = store.make_engine(f"sqlite:///{tmp_path / 'meetings.db'}")
    store.init_db(eng)
    yield eng
    eng.dispose()


def audit_actions(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as c:
        return [(r.action, r.actor, r.target) for r in c.execute(select(AuditEvent).order_by(AuditEvent.id))]


def comment(engine, **kw):
    args = dict(metric_id="cp_rate_31mar", period_end="2025-03-31", la_code=THURROCK, data_says="Rate up.",
                why="More referrals.", doing="Audit of thresholds.") | kw
    return mt.add_comment(engine, **args, **ANALYST)


def test_meetings_created_listed_and_audited(engine):
    a = mt.create_meeting(engine, date="2026-01-15", title="January panel", **ANALYST)
    b = mt.create_meeting(engine, date=dt.date(2026, 3, 12), title="  March panel ", **ANALYST)
    assert [m.id for m in mt.list_meetings(engine)] == [b.id, a.id]  # newest first
    assert b.title == "March panel" and b.created_by == "ann.analyst"
    assert mt.previous_meeting(engine, b) == a
    assert mt.previous_meeting(engine, a) is None
    assert mt.get_meeting(engine, "nope") is None
    assert audit_actions(engine) == [("meeting.create", "ann.analyst", f"meeting:{a.id}"),
                                     ("meeting.create", "ann.analyst", f"meeting:{b.id}")]


@pytest.mark.parametrize("role", ["viewer", "inspector", "anonymous"])
def test_only_analysts_and_admins_write(engine, role):
    m = mt.create_meeting(engine, date="2026-01-15", title="Panel", actor="root", role="admin")
    c = comment(engine)
    before = audit_actions(engine)
    with pytest.raises(mt.NotAllowed):
        mt.create_meeting(engine, date="2026-01-15", title="x", actor="v", role=role)
    with pytest.raises(mt.NotAllowed):
        mt.add_comment(engine, metric_id="cp_rate_31mar", period_end="2025-03-31", la_code=THURROCK,
                       data_says="x", actor="v", role=role)
    with pytest.raises(mt.NotAllowed):
        mt.publish_comment(engine, c.id, actor="v", role=role)
    with pytest.raises(mt.NotAllowed):
        mt.add_action(engine, text="x", agency="Police", due_date="2026-02-01", metric_id="cp_rate_31mar",
                      la_code=THURROCK, meeting_id=m.id, actor="v", role=role)
    assert audit_actions(engine) == before
    assert len(mt.list_meetings(engine)) == 1


@pytest.mark.parametrize("kw, words", [
    (dict(date="15/01/2026", title="x"), "YYYY-MM-DD"),
    (dict(date="2026-01-15", title="   "), "title is required"),
    (dict(date="2026-01-15", title="x" * 201), "longer than"),
    (dict(date="2026-01-15", title="a\x00b"), "NUL"),
])
def test_bad_meetings_refused_with_the_reason(engine, kw, words):
    with pytest.raises(mt.MeetingError, match=words):
        mt.create_meeting(engine, **kw, **ANALYST)
    assert mt.list_meetings(engine) == [] and audit_actions(engine) == []


def test_comment_drafts_publishing_and_corrections_keep_history(engine):
    draft = comment(engine)
    assert draft.status == "draft"
    assert mt.current_comments(engine, THURROCK, "cp_rate_31mar") == []  # viewers see no draft
    assert mt.current_comments(engine, THURROCK, "cp_rate_31mar", drafts=True) == [draft]

    pub = mt.publish_comment(engine, draft.id, **ANALYST)
    assert pub.status == "published" and pub.supersedes_id == draft.id and pub.why == draft.why
    assert mt.current_comments(engine, THURROCK, "cp_rate_31mar") == [pub]
    with pytest.raises(mt.MeetingError, match="newer version"):
        mt.publish_comment(engine, draft.id, **ANALYST)

    # a correction is a new draft: viewers keep seeing the published text until it is published
    fix = comment(engine, why="More referrals from schools.", supersedes_id=pub.id)
    assert mt.current_comments(engine, THURROCK, "cp_rate_31mar") == [pub]
    assert mt.current_comments(engine, THURROCK, "cp_rate_31mar", drafts=True) == [fix]
    pub2 = mt.publish_comment(engine, fix.id, **ANALYST)
    assert mt.current_comments(engine, THURROCK, "cp_rate_31mar") == [pub2]
    assert [c.id for c in mt.comment_history(engine, pub2.id)] == [pub2.id, fix.id, pub.id, draft.id]
    with pytest.raises(mt.MeetingError, match="already been corrected"):
        comment(engine, supersedes_id=pub.id)
    # nothing was overwritten: every version is still there, as written
    assert [c.why for c in mt.comment_history(engine, pub2.id)] == [
        "More referrals from schools.", "More referrals from schools.", "More referrals.", "More referrals."]
    assert [a[0] for a in audit_actions(engine)] == ["comment.add", "comment.publish", "comment.add",
                                                     "comment.publish"]


def test_comments_cannot_be_changed_or_deleted_in_the_database(engine):
    c = comment(engine)
    for stmt in (f"UPDATE comments SET status = 'published' WHERE id = {c.id}", "DELETE FROM comments"):
        with pytest.raises(DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(stmt))


def test_comment_text_is_stored_as_given(engine):
    nasty = "<script>alert(1)</script> =HYPERLINK(\"http://x\") & 'quotes'"
    c = comment(engine, data_says=nasty, why="", doing="")
    assert mt.current_comments(engine, THURROCK, drafts=True)[0].data_says == nasty == c.data_says


def test_comment_needs_some_text_and_a_date(engine):
    with pytest.raises(mt.MeetingError, match="at least one"):
        comment(engine, data_says=" ", why="", doing="")
    with pytest.raises(mt.MeetingError, match="period"):
        comment(engine, period_end="last year")


def test_actions_changes_are_history_and_audited(engine):
    m = mt.create_meeting(engine, date="2026-01-15", title="Panel", **ANALYST)
    a = mt.add_action(engine, text="Review the threshold document", agency="Police", due_date="2026-02-01",
                      metric_id="cp_rate_31mar", la_code=THURROCK, meeting_id=m.id, **ANALYST)
    assert a.status == "open"
    assert a.overdue(dt.date(2026, 2, 2)) and not a.overdue(dt.date(2026, 2, 1))
    b = mt.update_action(engine, a.id, status="done", note="Reviewed at DMT", actor="root", role="admin")
    assert b.status == "done" and not b.overdue(dt.date(2027, 1, 1)) and b.updated_by == "root"
    with pytest.raises(mt.MeetingError, match="status must be"):
        mt.update_action(engine, a.id, status="closed", **ANALYST)
    with pytest.raises(mt.MeetingError, match="nothing to change"):
        mt.update_action(engine, a.id, status="done", **ANALYST)
    hist = mt.action_history(engine, a.id)
    assert [(h.status, h.by, h.note) for h in hist] == [("open", "ann.analyst", "set"),
                                                       ("done", "root", "Reviewed at DMT")]
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM action_history"))
    assert [(x[0], x[2]) for x in audit_actions(engine)][1:] == [("action.add", f"action:{a.id}"),
                                                                 ("action.update", f"action:{a.id}")]
    assert mt.list_actions(engine, la_code=THURROCK, open_only=True) == []
    with pytest.raises(mt.MeetingError, match="does not exist"):
        mt.add_action(engine, text="x", agency="Health", due_date="2026-02-01", metric_id="cp_rate_31mar",
                      la_code=THURROCK, meeting_id=999, **ANALYST)
