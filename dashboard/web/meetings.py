"""Meetings, commentary and actions in the web app: the data the pages need, and the writes.

Reads: :func:`panel_notes` (what this viewer may see: published commentary only, unless they are
an analyst or admin) and :func:`meeting_page` (a meeting's exceptions view).

Writes are plain form POSTs under ``/record/`` (no Dash callback writes anything). The gate has
already refused them unless the session's role is in ``ROUTE_ROLES["/record/"]`` (analysts and
admins), the CSRF token matches and the request comes from this site; each handler checks the
role again, and the service (``dashboard.meetings``) checks it a third time and writes the audit
row in the same transaction as the change. After a write the browser is sent back (303) to a page
built from the ids written, never to an address from the request.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, redirect, request

from .. import meetings as svc
from ..auth.policy import ANALYSTS
from ..meeting_view import PanelNotes, exceptions, slide
from ..pages import meetings as meetings_page
from ..views import Context
from .security import render_page, require_role
from .security.core import TEMPLATES, client_ip


def can_see_drafts(ctx: Context) -> bool:
    return ctx.viewer.role in ANALYSTS


def panel_notes(engine, ctx: Context) -> PanelNotes:
    """Commentary and actions on the context's authority that this viewer may see."""
    visible = {m.id for m in ctx.registry.metrics}  # an inspector link scoped to some metrics sees only those
    comments = [c for c in svc.current_comments(engine, ctx.la_code, drafts=can_see_drafts(ctx))
                if c.metric_id in visible]
    actions = [a for a in svc.list_actions(engine, la_code=ctx.la_code) if a.metric_id in visible]
    return PanelNotes(comments=tuple(comments), actions=tuple(actions), today=dt.date.today())


def exceptions_view(engine, ctx: Context, meeting):
    previous = svc.previous_meeting(engine, meeting)
    notes = panel_notes(engine, ctx)
    imported = svc.imports_between(engine, previous.date, meeting.date) if previous else {}
    at_meeting = tuple(a for a in notes.actions if a.meeting_id == meeting.id)
    return exceptions(ctx, meeting, previous, notes, imported, at_meeting)


def meeting_page(engine, ctx: Context, meeting_id: str, *, present: bool = False, item: str | None = None):
    """A meeting's exceptions view, or (``present``) meeting mode at the path's ``item`` (default 1)."""
    meeting = svc.get_meeting(engine, meeting_id)
    if meeting is None:
        return meetings_page.not_found_layout(ctx, meeting_id)
    view = exceptions_view(engine, ctx, meeting)
    if present:
        index = int(item) if item and item.isdigit() else 1
        return meetings_page.present_layout(ctx, view, slide(ctx, view, index))
    return meetings_page.exceptions_layout(ctx, view, list(ctx.registry.metrics))


def create_blueprint(mgr) -> Blueprint:
    bp = Blueprint("meetings", __name__, template_folder=TEMPLATES)
    engine = mgr.engine

    def refused(text: str, status: int = 400):
        return render_page("message.html", "Not saved", status, text=text, alert=True)

    def authority() -> str | None:
        """The authority named by the form (DfE or GSS code) as its GSS code, or None."""
        area = mgr.snapshot().area(request.form.get("la") or mgr.settings.la_code)
        return area["code"] if area and area["level"] == "la" else None

    def la_query(code: str) -> str:
        area = mgr.snapshot().area(code)
        return f"?la={(area or {}).get('old_code') or code}"

    def metric_id() -> str | None:
        mid = request.form.get("metric_id") or ""
        return mid if mgr.registry.get(mid) is not None else None

    def who():
        p = require_role(*ANALYSTS)  # the gate checked; a change is checked again where it happens
        return dict(actor=p.actor, role=p.role, ip=client_ip())

    @bp.post("/record/meeting")
    def record_meeting():
        kw = who()
        la = authority() or mgr.settings.la_code
        try:
            m = svc.create_meeting(engine, date=request.form.get("date"), title=request.form.get("title") or "", **kw)
        except (svc.MeetingError, svc.NotAllowed) as exc:
            return refused(str(exc))
        return redirect(f"/meeting/{m.id}{la_query(la)}", code=303)

    @bp.post("/record/comment")
    def record_comment():
        kw = who()
        la, mid = authority(), metric_id()
        if la is None or mid is None:
            return refused("Unknown authority or metric.")
        supersedes = request.form.get("supersedes") or None
        if supersedes is not None and not supersedes.isdigit():
            return refused("Unknown comment to correct.")
        try:
            svc.add_comment(engine, metric_id=mid, period_end=request.form.get("period_end"), la_code=la,
                            agency=request.form.get("agency"), data_says=request.form.get("data_says"),
                            why=request.form.get("why"), doing=request.form.get("doing"),
                            supersedes_id=int(supersedes) if supersedes else None, **kw)
        except (svc.MeetingError, svc.NotAllowed) as exc:
            return refused(str(exc))
        return redirect(f"/metric/{mid}{la_query(la)}", code=303)

    @bp.post("/record/comment/<int:comment_id>/publish")
    def record_publish(comment_id: int):
        kw = who()
        try:
            c = svc.publish_comment(engine, comment_id, **kw)
        except (svc.MeetingError, svc.NotAllowed) as exc:
            return refused(str(exc))
        return redirect(f"/metric/{c.metric_id}{la_query(c.la_code)}", code=303)

    @bp.post("/record/action")
    def record_action():
        kw = who()
        la, mid = authority(), metric_id()
        if la is None or mid is None:
            return refused("Unknown authority or metric.")
        try:
            a = svc.add_action(engine, text=request.form.get("text") or "", agency=request.form.get("agency") or "",
                               due_date=request.form.get("due_date"), metric_id=mid, la_code=la,
                               meeting_id=request.form.get("meeting_id"), **kw)
        except (svc.MeetingError, svc.NotAllowed) as exc:
            return refused(str(exc))
        return redirect(f"/meeting/{a.meeting_id}{la_query(la)}", code=303)

    @bp.post("/record/action/<int:action_id>")
    def record_action_update(action_id: int):
        kw = who()
        try:
            a = svc.update_action(engine, action_id, status=request.form.get("status") or None,
                                  due_date=request.form.get("due_date") or None, note=request.form.get("note") or "",
                                  **kw)
        except (svc.MeetingError, svc.NotAllowed) as exc:
            return refused(str(exc))
        if request.form.get("back") == "metric":
            return redirect(f"/metric/{a.metric_id}{la_query(a.la_code)}", code=303)
        return redirect(f"/meeting/{a.meeting_id}{la_query(a.la_code)}", code=303)

    return bp
