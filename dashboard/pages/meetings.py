"""The panel's meetings: the list (with a form to add one), a meeting's exceptions view, and the
commentary and actions section of the metric page. Layout only.

Writes are plain HTML forms posting to ``/record/...`` (``dashboard.web.meetings``) with the
viewer's CSRF token; they are drawn only for analysts and admins, and the server checks the role
and the token again for every one. Text people typed is passed to components as strings, which
React escapes: it is shown as text, never as HTML.
"""
from __future__ import annotations

import datetime as dt

from dash import dcc, html

from ..meeting_view import OVERDUE_ICON, ExceptionsView, PanelNotes, overdue_text
from ..meetings import ACTION_STATUSES, ActionRecord, CommentRecord, MeetingRecord
from ..registry import Metric
from ..views import Context
from .common import shell

WRITERS = ("admin", "analyst")


def can_write(ctx: Context) -> bool:
    return ctx.viewer.role in WRITERS


def _la_param(ctx: Context) -> str:
    return str(ctx.la["old_code"] or ctx.la_code)


def _hidden(name: str, value) -> dcc.Input:
    return dcc.Input(type="hidden", name=name, value=str(value))


def _form(ctx: Context, action: str, children: list, *, label: str, cls: str = "record-form") -> html.Form:
    return html.Form([_hidden("csrf_token", ctx.viewer.csrf_token), _hidden("la", _la_param(ctx)), *children],
                     method="post", action=action, className=cls, **{"aria-label": label})


def _field(label: str, name: str, fid: str, *, value: str = "", required: bool = False, textarea: bool = False,
           placeholder: str = "", pattern: str | None = None, maxlength: int | None = None) -> html.Div:
    if textarea:
        control = dcc.Textarea(id=fid, name=name, value=value, className="form-control", rows=3,
                               maxLength=maxlength or 4000, required=required)
    else:
        kw = {"pattern": pattern} if pattern else {}
        control = dcc.Input(id=fid, name=name, type="text", value=value, className="form-control",
                            required=required, placeholder=placeholder, maxLength=maxlength or 4000, **kw)
    return html.Div([html.Label(label, htmlFor=fid, className="form-label"), control], className="mb-2")


DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"


def _date_field(label: str, name: str, fid: str, value: str = "") -> html.Div:
    return _field(label + " (YYYY-MM-DD)", name, fid, value=value, required=True, placeholder="YYYY-MM-DD",
                  pattern=DATE_PATTERN, maxlength=10)


# -- pieces shared by the exceptions view and the metric page --------------------------------------

def overdue_marker(action: ActionRecord, today: dt.date) -> html.Strong | None:
    """The word and an icon, never colour alone."""
    text = overdue_text(action, today)
    if not text:
        return None
    return html.Strong([html.Span(OVERDUE_ICON, className="overdue-icon", **{"aria-hidden": "true"}), " ", text],
                       className="overdue")


def comment_block(ctx: Context, c: CommentRecord, *, id_prefix: str, forms: bool = True) -> html.Article:
    parts = [html.P([html.Strong("Draft (not published) " if not c.published else "Published "),
                     f"commentary on {c.period_end.isoformat()}", f" ({c.agency})" if c.agency else "",
                     f" by {c.author}, {c.created_at:%Y-%m-%d %H:%M} UTC"], className="comment-meta small")]
    for heading, text in (("What the data tells us", c.data_says), ("Why", c.why), ("What is being done", c.doing)):
        if text.strip():
            parts += [html.H4(heading, className="h6 mb-0"), html.P(text, className="comment-text")]
    if forms and can_write(ctx):
        if not c.published:
            parts.append(_form(ctx, f"/record/comment/{c.id}/publish",
                               [html.Button("Publish this comment", type="submit", className="btn btn-sm btn-primary")],
                               label=f"Publish comment {c.id}", cls="d-inline"))
        parts.append(html.Details([
            html.Summary("Correct this comment (a new version; this one is kept)"),
            _comment_form(ctx, c.metric_id, c.period_end.isoformat(), f"{id_prefix}-fix-{c.id}", previous=c)]))
    return html.Article(parts, className="comment" + ("" if c.published else " comment-draft"),
                        id=f"{id_prefix}-comment-{c.id}")


def _comment_form(ctx: Context, metric_id: str, period: str, fid: str, previous: CommentRecord | None = None):
    kids = [_hidden("metric_id", metric_id)]
    if previous is not None:
        kids.append(_hidden("supersedes", previous.id))
    kids += [
        _date_field("Period ending", "period_end", f"{fid}-period", period),
        _field("Agency (optional)", "agency", f"{fid}-agency", value=(previous.agency or "") if previous else "",
               maxlength=80),
        _field("What the data tells us", "data_says", f"{fid}-says", value=previous.data_says if previous else "",
               textarea=True),
        _field("Why", "why", f"{fid}-why", value=previous.why if previous else "", textarea=True),
        _field("What is being done", "doing", f"{fid}-doing", value=previous.doing if previous else "",
               textarea=True),
        html.Button("Save as draft", type="submit", className="btn btn-sm btn-primary"),
    ]
    return _form(ctx, "/record/comment", kids, label="Write commentary" if previous is None else "Correct commentary")


def _status_form(ctx: Context, a: ActionRecord, fid: str, back: str) -> html.Form:
    options = [html.Option(s.capitalize(), value=s) for s in (a.status, *[s for s in ACTION_STATUSES if s != a.status])]
    return _form(ctx, f"/record/action/{a.id}", [
        _hidden("back", back),
        html.Label("Status", htmlFor=f"{fid}-status", className="form-label mb-0"),
        html.Select(options, id=f"{fid}-status", name="status", className="form-select form-select-sm"),
        html.Label("Note", htmlFor=f"{fid}-note", className="form-label mb-0"),
        dcc.Input(id=f"{fid}-note", name="note", type="text", className="form-control form-control-sm", maxLength=4000),
        html.Button("Update", type="submit", className="btn btn-sm btn-outline-primary"),
    ], label=f"Update action {a.id}", cls="action-status-form")  # one control a line: nothing overlaps


def actions_table(ctx: Context, actions: tuple[ActionRecord, ...], today: dt.date, *, caption: str, tid: str,
                  back: str, metric_titles: dict[str, str] | None = None) -> html.Table | html.P:
    if not actions:
        return html.P("No actions.", className="no-actions")
    head = ["Action", "Owner", "Due", "Status"] + (["Metric"] if metric_titles else []) \
        + (["Change"] if can_write(ctx) else [])
    rows = []
    for a in actions:
        marker = overdue_marker(a, today)
        cells = [html.Td(a.text), html.Td(a.agency), html.Td([a.due_date.isoformat(), html.Br() if marker else None,
                                                               marker]),
                 html.Td(a.status.capitalize())]
        if metric_titles:
            cells.append(html.Td(dcc.Link(metric_titles.get(a.metric_id, a.metric_id),
                                          href=f"/metric/{a.metric_id}?la={_la_param(ctx)}")))
        if can_write(ctx):
            cells.append(html.Td(_status_form(ctx, a, f"{tid}-{a.id}", back)))
        rows.append(html.Tr(cells, className="action-overdue" if marker else None, id=f"{tid}-action-{a.id}"))
    return html.Table([html.Caption(caption), html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
                       html.Tbody(rows)], className="table table-sm actions-table", id=tid)


# -- /meetings ---------------------------------------------------------------------------------

def list_layout(ctx: Context, meetings: list[MeetingRecord]) -> html.Div:
    la = _la_param(ctx)
    if meetings:
        body = html.Table([
            html.Caption("Meetings, newest first"),
            html.Thead(html.Tr([html.Th("Date", scope="col"), html.Th("Meeting", scope="col")])),
            html.Tbody([html.Tr([html.Td(m.date.isoformat()),
                                 html.Td(dcc.Link(m.title, href=f"/meeting/{m.id}?la={la}"))]) for m in meetings]),
        ], className="table table-sm meetings-table", id="meetings-table")
    else:
        body = html.P("No meetings yet.", id="meetings-table")
    kids = [html.P("Open a meeting for what needs the panel's attention since the one before it, worst first."),
            body]
    if can_write(ctx):
        kids += [html.H2("Add a meeting", className="h4 mt-4"),
                 _form(ctx, "/record/meeting", [
                     _date_field("Date", "date", "meeting-date"),
                     _field("Title", "title", "meeting-title", required=True, maxlength=200),
                     html.Button("Add the meeting", type="submit", className="btn btn-primary")],
                     label="Add a meeting", cls="record-form mw-form")]
    return shell(ctx, "/meetings", "Panel meetings", kids)


# -- /meeting/<id> -----------------------------------------------------------------------------

def _item(ctx: Context, item, view: ExceptionsView, n: int) -> html.Section:
    fid = f"exc-{n}"
    kids = [html.H2([f"{n}. ", dcc.Link(item.title, href=item.href)], className="h4"),
            html.Ul([html.Li([html.Strong(r.label + ": "), r.text]) for r in item.reasons], className="reasons"),
            html.P(dcc.Link("Open the chart", href=item.href, className="btn btn-sm btn-outline-primary"))]
    kids.append(html.H3("Commentary", className="h5"))
    kids += [comment_block(ctx, c, id_prefix=fid) for c in item.comments] or \
        [html.P("No published commentary." if not can_write(ctx) else "No commentary yet.")]
    kids.append(html.H3("Open actions", className="h5"))
    kids.append(actions_table(ctx, item.actions, view.today, caption=f"Open actions on {item.title}",
                              tid=f"{fid}-actions", back="meeting"))
    return html.Section(kids, className="exception-item", id=f"exception-{item.metric_id}")


def exceptions_layout(ctx: Context, view: ExceptionsView, metrics: list[Metric]) -> html.Div:
    m, prev = view.meeting, view.previous
    intro = (f"Since the previous meeting, {prev.title} on {prev.date.isoformat()}: status as at each meeting's "
             f"date from the data's own periods." if prev else
             "The first meeting: there is no earlier meeting to compare with, so only special-cause concerns in "
             "the latest period, targets missed three periods running and data-quality warnings are listed.")
    overdue = [a for a in view.actions if view.overdue(a)]
    kids = [html.P([dcc.Link("← All meetings", href=f"/meetings?la={_la_param(ctx)}"), " · ",
                    dcc.Link("Meeting mode (one exception per screen)",
                             href=f"/meeting/{m.id}/present?la={_la_param(ctx)}", id="present-link"), " · ",
                    html.A("Meeting pack (PDF)", href=f"/download/meeting/{m.id}/pack.pdf?la={_la_param(ctx)}",
                           id="pack-pdf"), " · ",
                    html.A("Meeting pack (Excel)", href=f"/download/meeting/{m.id}/pack.xlsx?la={_la_param(ctx)}",
                           id="pack-xlsx")]),
            html.P(intro, id="exceptions-intro")]
    if overdue:
        kids.append(html.P([html.Span(OVERDUE_ICON, **{"aria-hidden": "true"}),
                            f" {len(overdue)} overdue action{'s' if len(overdue) != 1 else ''} set at this meeting."],
                           className="alert alert-warning overdue-summary", role="note"))
    if view.items:
        kids.append(html.P(f"{len(view.items)} metric{'s' if len(view.items) != 1 else ''} to look at, worst first.",
                           id="exceptions-count"))
        kids += [_item(ctx, it, view, i) for i, it in enumerate(view.items, start=1)]
    else:
        kids.append(html.P("Nothing to report: no metric's status worsened, no new concern, no target missed three "
                           "times running, no new data and no data-quality warning.", id="exceptions-count"))
    titles = {x.id: x.short_title for x in metrics}
    kids += [html.H2("Actions set at this meeting", className="h4 mt-4"),
             actions_table(ctx, view.actions, view.today, caption="Actions set at this meeting",
                           tid="meeting-actions", back="meeting", metric_titles=titles)]
    if can_write(ctx):
        kids += [html.H2("Add an action", className="h4 mt-4"),
                 _form(ctx, "/record/action", [
                     _hidden("meeting_id", m.id),
                     html.Div([html.Label("Metric", htmlFor="action-metric", className="form-label"),
                               html.Select([html.Option(x.title, value=x.id) for x in metrics], id="action-metric",
                                           name="metric_id", className="form-select")], className="mb-2"),
                     _field("Action", "text", "action-text", required=True, textarea=True),
                     _field("Owning agency", "agency", "action-agency", required=True, maxlength=80),
                     _date_field("Due date", "due_date", "action-due"),
                     html.Button("Add the action", type="submit", className="btn btn-primary")],
                     label="Add an action", cls="record-form mw-form")]
    return shell(ctx, "", f"{m.title} ({m.date.isoformat()})", kids,
                 subtitle="Exceptions: what needs the panel's attention, worst first.")


def not_found_layout(ctx: Context, meeting_id: str) -> html.Div:
    back = dcc.Link("All meetings", href=f"/meetings?la={_la_param(ctx)}")
    return shell(ctx, "", "Meeting not found", [html.P(f"There is no meeting {meeting_id}."), html.P(back)])


# -- the metric page's section -------------------------------------------------------------------

def metric_section(ctx: Context, metric: Metric, notes: PanelNotes, latest_period: str = "") -> html.Section:
    """Commentary (published; drafts too for analysts and admins) and the metric's actions, overdue ones marked."""
    comments = notes.comments_for(metric.id)
    actions = notes.actions_for(metric.id)
    kids = [html.H2("Commentary and actions", className="h4")]
    kids += [comment_block(ctx, c, id_prefix="metric") for c in comments] or \
        [html.P("No published commentary." if not can_write(ctx) else "No commentary yet.", id="no-commentary")]
    if can_write(ctx):
        kids.append(html.Details([html.Summary("Write commentary"),
                                  _comment_form(ctx, metric.id, latest_period, "new-comment")], id="write-commentary"))
    kids.append(actions_table(ctx, actions, notes.today, caption=f"Actions on {metric.short_title}",
                              tid="metric-actions", back="metric"))
    return html.Section(kids, className="metric-panel-notes", id="commentary")


# -- /meeting/<id>/present: meeting mode -------------------------------------------------------------

def present_layout(ctx: Context, view: ExceptionsView, slide) -> html.Div:
    """One exception per screen in large type: its reasons, status and SPC icons in words, the chart,
    commentary and open actions. Next and previous are links (and the arrow keys: assets/meeting-mode.js)."""
    m = view.meeting
    back = dcc.Link("Leave meeting mode", href=f"/meeting/{m.id}?la={_la_param(ctx)}", id="present-leave")
    if slide is None:
        return shell(ctx, "", f"{m.title}: meeting mode", [
            html.P(back), html.P("Nothing to report at this meeting.", id="present-empty")])
    item, mv = slide.item, slide.metric_view
    nav = html.Nav([
        dcc.Link("← Previous", href=slide.prev_href, id="present-prev", className="btn btn-outline-primary btn-lg")
        if slide.prev_href else html.Span("← Previous", className="btn btn-outline-secondary btn-lg disabled",
                                          **{"aria-disabled": "true"}),
        html.Span(f"{slide.index} of {slide.total}", className="present-position mx-3", id="present-position"),
        dcc.Link("Next →", href=slide.next_href, id="present-next", className="btn btn-primary btn-lg")
        if slide.next_href else html.Span("Next →", className="btn btn-outline-secondary btn-lg disabled",
                                          **{"aria-disabled": "true"}),
    ], className="present-nav d-flex align-items-center", **{"aria-label": "Exceptions"})
    icons = [html.Li([html.Strong("Status: "), f"{mv.row.rag.symbol} {mv.row.rag.label} ({mv.row.period_label})"])]
    if slide.variation:
        icons.append(html.Li([html.Strong("Variation: "), slide.variation]))
    if slide.assurance:
        icons.append(html.Li([html.Strong("Assurance: "), slide.assurance]))
    # on the projector: published commentary only, for everyone (drafts stay on the staff pages)
    comments = [comment_block(ctx, c, id_prefix="present", forms=False) for c in item.comments if c.published] or \
        [html.P("No published commentary.")]
    kids = [
        html.P([back, html.Span(" · Keys: → or N next, ← or P previous", className="small ms-2")]),
        nav,
        html.H2(dcc.Link(item.title, href=item.href), className="present-title", id="present-title"),
        html.Ul([html.Li([html.Strong(r.label + ": "), r.text]) for r in item.reasons],
                className="reasons present-reasons"),
        html.Ul(icons, className="present-icons"),
        html.Figure([dcc.Graph(id="present-graph", figure=mv.figure,
                               config={"displaylogo": False, "responsive": True}, style={"height": "420px"}),
                     html.Figcaption(f"{item.title}, {ctx.la_name}, up to {m.date.isoformat()}. The chart with its "
                                     "table is on the metric page.")], className="chart-card"),
        html.Div([html.Section([html.H3("Commentary", className="h4"), *comments], className="present-comments"),
                  html.Section([html.H3("Open actions", className="h4"),
                                actions_table(ctx, item.actions, view.today, caption=f"Open actions on {item.title}",
                                              tid="present-actions", back="meeting")], className="present-actions")],
                 className="present-notes"),
    ]
    return html.Div(shell(ctx, "", f"{m.title}: meeting mode", kids), className="meeting-mode")
