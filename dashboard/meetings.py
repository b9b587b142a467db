"""The panel's meetings, commentary and actions: the service every screen and command calls.

No Dash, no Flask: the web layer and the command line call these functions with who is asking,
and every write checks that role again here (analysts and admins only) and writes its audit row
in the same transaction as the change, so a change is never made without its record.

* **Meetings**: a date and a title.
* **Commentary** on a metric, period and authority (optionally one agency's figure): what the
  data tells us, why, and what is being done. Nothing is overwritten or deleted (the database
  refuses to, migration 0003): a correction is a new row that names the one it supersedes, and
  publishing a draft is a new, published row naming the draft. Viewers and inspectors see only
  the latest published version of each comment; staff who write see drafts too.
* **Actions** (the challenge log): text, owning agency, due date and status (open, done,
  dropped), linked to a metric and to the meeting that set it. Every change writes a row of
  ``action_history`` with the values after it, and an audit row.

Text is stored exactly as typed. It is shown as text everywhere: Dash components and Jinja
templates escape it, and CSV and XLSX exports pass it through ``dashboard.exports``.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from .auth.policy import ANALYSTS
from .models import Action, ActionChange, AuditEvent, Comment, DataVersion, Meeting
from .store import session_scope

ACTION_STATUSES = ("open", "done", "dropped")
COMMENT_STATUSES = ("draft", "published")
MAX_TITLE = 200
MAX_TEXT = 4000
MAX_AGENCY = 80


class MeetingError(ValueError):
    """A write that was refused: bad input, or something that does not exist. The message says why."""


class NotAllowed(PermissionError):
    """The role may not write meetings, commentary or actions."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# -- plain records handed to callers (never live ORM objects) ------------------------------

@dataclass(frozen=True)
class MeetingRecord:
    id: int
    date: dt.date
    title: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class CommentRecord:
    id: int
    metric_id: str
    period_end: dt.date
    la_code: str
    agency: str | None
    data_says: str
    why: str
    doing: str
    author: str
    created_at: dt.datetime
    status: str
    supersedes_id: int | None

    @property
    def published(self) -> bool:
        return self.status == "published"


@dataclass(frozen=True)
class ActionRecord:
    id: int
    text: str
    agency: str
    due_date: dt.date
    status: str
    metric_id: str
    la_code: str
    meeting_id: int
    created_by: str
    created_at: dt.datetime
    updated_by: str
    updated_at: dt.datetime

    def overdue(self, today: dt.date) -> bool:
        """Still open after its due date."""
        return self.status == "open" and self.due_date < today


@dataclass(frozen=True)
class ActionChangeRecord:
    id: int
    action_id: int
    at: dt.datetime
    by: str
    text: str
    agency: str
    due_date: dt.date
    status: str
    note: str


def _meeting(m: Meeting) -> MeetingRecord:
    return MeetingRecord(m.id, m.date, m.title, m.created_by, m.created_at)


def _comment(c: Comment) -> CommentRecord:
    return CommentRecord(c.id, c.metric_id, c.period_end, c.la_code, c.agency, c.data_says, c.why, c.doing,
                         c.author, c.created_at, c.status, c.supersedes_id)


def _action(a: Action) -> ActionRecord:
    return ActionRecord(a.id, a.text, a.agency, a.due_date, a.status, a.metric_id, a.la_code, a.meeting_id,
                        a.created_by, a.created_at, a.updated_by, a.updated_at)


# -- checks ---------------------------------------------------------------------------------

def _allowed(role: str) -> None:
    if role not in ANALYSTS:
        raise NotAllowed(f"the {role} role may not write meetings, commentary or actions")


def _text(value, what: str, *, required: bool = False, limit: int = MAX_TEXT) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise MeetingError(f"{what} must be text")
    if "\x00" in value:
        raise MeetingError(f"{what} has a NUL character in it")
    if required and not value.strip():
        raise MeetingError(f"{what} is required")
    if len(value) > limit:
        raise MeetingError(f"{what} is longer than {limit:,} characters")
    return value


def parse_date(value, what: str = "the date") -> dt.date:
    """A date, or a date written YYYY-MM-DD; anything else is refused with the reason."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise MeetingError(f"{what} must be a date written YYYY-MM-DD, not {str(value)[:40]!r}") from None


def _audit(s, *, actor: str, role: str, action: str, target: str, detail: str = "", ip: str = "") -> None:
    s.add(AuditEvent(at=utcnow(), actor=actor[:120], role=role[:16], action=action[:60], target=target[:2000],
                     outcome="ok", ip=(ip or "")[:64], detail=detail[:4000]))


# -- meetings -------------------------------------------------------------------------------

def create_meeting(engine: Engine, *, date, title: str, actor: str, role: str, ip: str = "") -> MeetingRecord:
    _allowed(role)
    day = parse_date(date, "the meeting's date")
    title = _text(title, "the title", required=True, limit=MAX_TITLE).strip()
    with session_scope(engine) as s:
        m = Meeting(date=day, title=title, created_by=actor[:120], created_at=utcnow())
        s.add(m)
        s.flush()
        _audit(s, actor=actor, role=role, action="meeting.create", target=f"meeting:{m.id}",
               detail=f"{day.isoformat()} {title}", ip=ip)
        return _meeting(m)


def list_meetings(engine: Engine) -> list[MeetingRecord]:
    """Every meeting, newest first."""
    with session_scope(engine) as s:
        return [_meeting(m) for m in s.scalars(select(Meeting).order_by(Meeting.date.desc(), Meeting.id.desc()))]


def get_meeting(engine: Engine, meeting_id) -> MeetingRecord | None:
    try:
        key = int(meeting_id)
    except (TypeError, ValueError):
        return None
    with session_scope(engine) as s:
        m = s.get(Meeting, key)
        return _meeting(m) if m else None


def previous_meeting(engine: Engine, meeting: MeetingRecord) -> MeetingRecord | None:
    """The meeting before this one (by date, then by the order they were entered), or None."""
    earlier = [m for m in list_meetings(engine)
               if (m.date, m.id) < (meeting.date, meeting.id)]
    return earlier[0] if earlier else None


# -- commentary -----------------------------------------------------------------------------

def add_comment(engine: Engine, *, metric_id: str, period_end, la_code: str, data_says: str = "", why: str = "",
                doing: str = "", agency: str | None = None, supersedes_id: int | None = None,
                actor: str, role: str, ip: str = "") -> CommentRecord:
    """A new draft comment, or a correction of ``supersedes_id`` (a new draft naming it)."""
    _allowed(role)
    metric_id = _text(metric_id, "the metric", required=True, limit=64).strip()
    la_code = _text(la_code, "the authority", required=True, limit=16).strip()
    period = parse_date(period_end, "the period")
    agency = _text(agency, "the agency", limit=MAX_AGENCY).strip() or None
    texts = [_text(data_says, "what the data tells us"), _text(why, "why"), _text(doing, "what is being done")]
    if not any(t.strip() for t in texts):
        raise MeetingError("write at least one of: what the data tells us, why, what is being done")
    with session_scope(engine) as s:
        if supersedes_id is not None:
            old = s.get(Comment, int(supersedes_id))
            if old is None:
                raise MeetingError(f"comment {supersedes_id} does not exist")
            if s.scalar(select(Comment.id).where(Comment.supersedes_id == old.id)) is not None:
                raise MeetingError(f"comment {old.id} has already been corrected or published: correct the newest")
            if (old.metric_id, old.la_code) != (metric_id, la_code):
                raise MeetingError("a correction must be about the same metric and authority")
        c = Comment(metric_id=metric_id, period_end=period, la_code=la_code, agency=agency, data_says=texts[0],
                    why=texts[1], doing=texts[2], author=actor[:120], created_at=utcnow(), status="draft",
                    supersedes_id=supersedes_id)
        s.add(c)
        s.flush()
        _audit(s, actor=actor, role=role, action="comment.add", target=f"comment:{c.id}",
               detail=f"{metric_id} {la_code} {period.isoformat()}"
                      + (f" corrects comment:{supersedes_id}" if supersedes_id else ""), ip=ip)
        return _comment(c)


def publish_comment(engine: Engine, comment_id, *, actor: str, role: str, ip: str = "") -> CommentRecord:
    """Publish a draft: a new, published row with the draft's text, naming the draft."""
    _allowed(role)
    with session_scope(engine) as s:
        try:
            draft = s.get(Comment, int(comment_id))
        except (TypeError, ValueError):
            draft = None
        if draft is None:
            raise MeetingError(f"comment {str(comment_id)[:20]} does not exist")
        if draft.status != "draft":
            raise MeetingError(f"comment {draft.id} is already published")
        if s.scalar(select(Comment.id).where(Comment.supersedes_id == draft.id)) is not None:
            raise MeetingError(f"comment {draft.id} has a newer version: publish that one")
        c = Comment(metric_id=draft.metric_id, period_end=draft.period_end, la_code=draft.la_code,
                    agency=draft.agency, data_says=draft.data_says, why=draft.why, doing=draft.doing,
                    author=draft.author, created_at=utcnow(), status="published", supersedes_id=draft.id)
        s.add(c)
        s.flush()
        _audit(s, actor=actor, role=role, action="comment.publish", target=f"comment:{c.id}",
               detail=f"publishes comment:{draft.id}", ip=ip)
        return _comment(c)


def _all_comments(engine: Engine, la_code: str, metric_id: str | None) -> list[CommentRecord]:
    with session_scope(engine) as s:
        q = select(Comment).where(Comment.la_code == la_code)
        if metric_id is not None:
            q = q.where(Comment.metric_id == metric_id)
        return [_comment(c) for c in s.scalars(q.order_by(Comment.id))]


def current_comments(engine: Engine, la_code: str, metric_id: str | None = None, *,
                     drafts: bool = False) -> list[CommentRecord]:
    """The comments to show: the newest version of each, newest period first.

    ``drafts=False`` (viewers, inspectors, exports): only published text, the latest published
    version of each comment (a draft correction does not hide the published one it corrects).
    ``drafts=True`` (analysts and admins): the newest version, draft or published.
    """
    rows = _all_comments(engine, la_code, metric_id)
    by_id = {c.id: c for c in rows}
    if drafts:
        superseded = {c.supersedes_id for c in rows if c.supersedes_id is not None}
        heads = [c for c in rows if c.id not in superseded]
    else:
        hidden: set[int] = set()
        for c in rows:
            if not c.published:
                continue
            prev = c.supersedes_id
            while prev is not None and prev in by_id:  # everything this published version replaces
                hidden.add(prev)
                prev = by_id[prev].supersedes_id
        heads = [c for c in rows if c.published and c.id not in hidden]
    return sorted(heads, key=lambda c: (c.period_end, c.id), reverse=True)


def comment_history(engine: Engine, comment_id: int) -> list[CommentRecord]:
    """A comment and every version before it, newest first."""
    with session_scope(engine) as s:
        out = []
        c = s.get(Comment, int(comment_id))
        while c is not None:
            out.append(_comment(c))
            c = s.get(Comment, c.supersedes_id) if c.supersedes_id is not None else None
        return out


# -- actions --------------------------------------------------------------------------------

def add_action(engine: Engine, *, text: str, agency: str, due_date, metric_id: str, la_code: str, meeting_id,
               actor: str, role: str, ip: str = "") -> ActionRecord:
    _allowed(role)
    text = _text(text, "the action", required=True)
    agency = _text(agency, "the owning agency", required=True, limit=MAX_AGENCY).strip()
    due = parse_date(due_date, "the due date")
    metric_id = _text(metric_id, "the metric", required=True, limit=64).strip()
    la_code = _text(la_code, "the authority", required=True, limit=16).strip()
    now = utcnow()
    with session_scope(engine) as s:
        try:
            meeting = s.get(Meeting, int(meeting_id))
        except (TypeError, ValueError):
            meeting = None
        if meeting is None:
            raise MeetingError(f"meeting {str(meeting_id)[:20]} does not exist")
        a = Action(text=text, agency=agency, due_date=due, status="open", metric_id=metric_id, la_code=la_code,
                   meeting_id=meeting.id, created_by=actor[:120], created_at=now, updated_by=actor[:120],
                   updated_at=now)
        s.add(a)
        s.flush()
        s.add(ActionChange(action_id=a.id, at=now, by=actor[:120], text=text, agency=agency, due_date=due,
                           status="open", note="set"))
        _audit(s, actor=actor, role=role, action="action.add", target=f"action:{a.id}",
               detail=f"meeting:{meeting.id} {metric_id} {la_code} due {due.isoformat()} ({agency})", ip=ip)
        return _action(a)


def update_action(engine: Engine, action_id, *, actor: str, role: str, status: str | None = None,
                  due_date=None, text: str | None = None, agency: str | None = None, note: str = "",
                  ip: str = "") -> ActionRecord:
    """Change an action's status, due date, text or agency; the change is a history row and an audit row."""
    _allowed(role)
    if status is not None and status not in ACTION_STATUSES:
        raise MeetingError(f"the status must be one of {', '.join(ACTION_STATUSES)}")
    due = parse_date(due_date, "the due date") if due_date not in (None, "") else None
    text = _text(text, "the action", required=True) if text is not None else None
    agency = _text(agency, "the owning agency", required=True, limit=MAX_AGENCY).strip() if agency is not None \
        else None
    note = _text(note, "the note")
    with session_scope(engine) as s:
        try:
            a = s.get(Action, int(action_id))
        except (TypeError, ValueError):
            a = None
        if a is None:
            raise MeetingError(f"action {str(action_id)[:20]} does not exist")
        changes = []
        for field, new in (("status", status), ("due_date", due), ("text", text), ("agency", agency)):
            if new is not None and new != getattr(a, field):
                old = getattr(a, field)
                changes.append(f"{field}: {old.isoformat() if isinstance(old, dt.date) else old} -> "
                               f"{new.isoformat() if isinstance(new, dt.date) else new}")
                setattr(a, field, new)
        if not changes and not note.strip():
            raise MeetingError("nothing to change")
        now = utcnow()
        a.updated_by, a.updated_at = actor[:120], now
        s.add(ActionChange(action_id=a.id, at=now, by=actor[:120], text=a.text, agency=a.agency, due_date=a.due_date,
                           status=a.status, note=note))
        _audit(s, actor=actor, role=role, action="action.update", target=f"action:{a.id}",
               detail="; ".join(changes) or "note added", ip=ip)
        return _action(a)


def list_actions(engine: Engine, *, la_code: str | None = None, metric_id: str | None = None,
                 meeting_id: int | None = None, open_only: bool = False) -> list[ActionRecord]:
    """Actions, soonest due first."""
    with session_scope(engine) as s:
        q = select(Action)
        if la_code is not None:
            q = q.where(Action.la_code == la_code)
        if metric_id is not None:
            q = q.where(Action.metric_id == metric_id)
        if meeting_id is not None:
            q = q.where(Action.meeting_id == meeting_id)
        if open_only:
            q = q.where(Action.status == "open")
        return [_action(a) for a in s.scalars(q.order_by(Action.due_date, Action.id))]


def action_history(engine: Engine, action_id: int) -> list[ActionChangeRecord]:
    """Every change of an action, oldest first."""
    with session_scope(engine) as s:
        return [ActionChangeRecord(h.id, h.action_id, h.at, h.by, h.text, h.agency, h.due_date, h.status, h.note)
                for h in s.scalars(select(ActionChange).where(ActionChange.action_id == int(action_id))
                                   .order_by(ActionChange.id))]


# -- data loaded between meetings ----------------------------------------------------------------

def imports_between(engine: Engine, after: dt.date, until: dt.date) -> dict[str, str]:
    """Metric id -> which imports loaded figures for it (added or changed) after the day ``after``
    and up to the end of the day ``until``: "data version N (file, date)"."""
    start = dt.datetime.combine(after + dt.timedelta(days=1), dt.time())
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time())
    out: dict[str, list[str]] = {}
    with session_scope(engine) as s:
        versions = s.scalars(select(DataVersion).where(DataVersion.kind == "import", DataVersion.created_at >= start,
                                                       DataVersion.created_at < end).order_by(DataVersion.id))
        for v in versions:
            try:
                by_metric = json.loads(v.report or "{}").get("by_metric") or {}
            except (ValueError, AttributeError):
                by_metric = {}
            for metric_id, stats in by_metric.items():
                if isinstance(stats, dict) and (stats.get("added") or stats.get("changed")):
                    out.setdefault(metric_id, []).append(
                        f"data version {v.id} ({v.filename or v.label}, {v.created_at:%Y-%m-%d})")
    return {k: "; ".join(v) for k, v in out.items()}


def revision(engine: Engine) -> str:
    """A stamp that changes whenever a meeting, a comment or an action is written (every write adds a row:
    comments and action changes are append-only), for caches of pages that show them. With the day's date:
    whether an action is overdue changes at midnight without any write."""
    with engine.connect() as c:
        row = c.execute(select(select(func.max(Meeting.id)).scalar_subquery(),
                               select(func.max(Comment.id)).scalar_subquery(),
                               select(func.max(Action.id)).scalar_subquery(),
                               select(func.max(ActionChange.id)).scalar_subquery())).one()
    return f"{dt.date.today().isoformat()}:" + ".".join(str(v or 0) for v in row)
