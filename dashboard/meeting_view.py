"""What the panel looks at in a meeting, computed without Dash: the exceptions view.

For a meeting, and the one before it, :func:`exceptions` lists the metrics that need the panel's
attention, worst first, each with why (in words), a link to its metric page (the chart one click
away), its published commentary and its open actions:

1. **RAG worsened since the previous meeting**: the scorecard's status as at the previous
   meeting's date against the status as at this meeting's date (each the latest period ending on
   or before that date: the data's own periods), Green < Amber < Red;
2. **a new special-cause concern** (``dashboard.analysis.spc``, XmR on the headline series up to
   the meeting's date): a point classed concern now that was not one in the chart as it stood at
   the previous meeting (a new point, or limits that moved). At a first meeting: the latest point;
3. **target missed three periods running**: the last three periods up to the meeting's date are
   each Amber or Red against the target in force for that period;
4. **new data since the last meeting**: a newer period than the previous meeting's date showed,
   or an import after the previous meeting's date that loaded figures for the metric;
5. **data-quality warnings** on the metric for the authority (staff only: inspectors do not see
   them, as on the metric page).

The reasons of one metric are one item; items are sorted by their worst reason, then by the
framework's order. Nothing here reads the database: the web layer passes the meetings, the
imports since the previous meeting and the commentary and actions this viewer may see.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import pandas as pd

from .analysis.rag import RagStatus, assess_metric
from .analysis.series import cell_series, headline_cell
from .analysis.spc import CONCERN, metric_options, spc
from .meetings import ActionRecord, CommentRecord, MeetingRecord
from .registry import Metric
from .views import Context, metric_view, scorecard, scorecard_metrics

RAG_WORSE, SPC_CONCERN, MISSED, QUALITY, NEW_DATA = "rag_worse", "spc_concern", "missed_target", "quality", \
    "new_data"
#: Worst first: the order items and reasons are listed in.
REASON_ORDER = (RAG_WORSE, SPC_CONCERN, MISSED, QUALITY, NEW_DATA)
REASON_LABEL = {
    RAG_WORSE: "RAG worsened",
    SPC_CONCERN: "New special-cause concern",
    MISSED: "Target missed three periods running",
    QUALITY: "Data-quality warning",
    NEW_DATA: "New data",
}
_RAG_RANK = {RagStatus.GREEN: 0, RagStatus.AMBER: 1, RagStatus.RED: 2}
OVERDUE_WORD = "Overdue"
OVERDUE_ICON = "\u26a0"  # ⚠, shown with the word, never alone


@dataclass(frozen=True)
class Reason:
    kind: str
    text: str

    @property
    def label(self) -> str:
        return REASON_LABEL[self.kind]


@dataclass(frozen=True)
class ExceptionItem:
    metric_id: str
    title: str
    href: str  # the metric page for this authority (the chart)
    reasons: tuple[Reason, ...]
    comments: tuple[CommentRecord, ...] = ()
    actions: tuple[ActionRecord, ...] = ()  # open actions on the metric, for this authority

    @property
    def worst(self) -> int:
        return min(REASON_ORDER.index(r.kind) for r in self.reasons)


@dataclass(frozen=True)
class ExceptionsView:
    meeting: MeetingRecord
    previous: MeetingRecord | None
    items: tuple[ExceptionItem, ...]
    today: dt.date
    actions: tuple[ActionRecord, ...] = ()  # every action set at this meeting, for this authority

    def overdue(self, action: ActionRecord) -> bool:
        return action.overdue(self.today)


@dataclass(frozen=True)
class PanelNotes:
    """The commentary and actions on one authority's metrics that this viewer may see."""

    comments: tuple[CommentRecord, ...] = ()
    actions: tuple[ActionRecord, ...] = ()
    today: dt.date = field(default_factory=dt.date.today)

    def comments_for(self, metric_id: str) -> tuple[CommentRecord, ...]:
        return tuple(c for c in self.comments if c.metric_id == metric_id)

    def open_actions_for(self, metric_id: str) -> tuple[ActionRecord, ...]:
        return tuple(a for a in self.actions if a.metric_id == metric_id and a.status == "open")

    def actions_for(self, metric_id: str) -> tuple[ActionRecord, ...]:
        return tuple(a for a in self.actions if a.metric_id == metric_id)


def overdue_text(action: ActionRecord, today: dt.date) -> str:
    """"Overdue" with the days, or "" when the action is not overdue."""
    if not action.overdue(today):
        return ""
    days = (today - action.due_date).days
    return f"{OVERDUE_WORD}: due {action.due_date.isoformat()}, {days} day{'s' if days != 1 else ''} ago"


def metric_href(ctx: Context, metric_id: str) -> str:
    return f"/metric/{metric_id}{ctx.state.with_(as_of=None).shared_query()}"


def _as_of(ctx: Context, day: dt.date) -> Context:
    return replace(ctx, state=ctx.state.with_(as_of=day))


def _rows(ctx: Context, metric: Metric, day: dt.date) -> pd.DataFrame:
    return ctx.rows(metric.id, until=day)  # what this viewer may see (no generated counts for inspectors)


def _series(ctx: Context, metric: Metric, day: dt.date) -> pd.DataFrame:
    rows = _rows(ctx, metric, day)
    if rows.empty:
        return rows
    agency, breakdown, bvalue, _why = headline_cell(metric, rows)
    return cell_series(rows, agency, breakdown, bvalue)


def _concerns(metric: Metric, series: pd.DataFrame) -> set[dt.date]:
    """Periods classed special-cause concern in the XmR chart of ``series`` (values present only)."""
    s = series[series["value"].notna() & (series["status"].fillna("") == "")]
    if len(s) < 2:
        return set()
    last = s.iloc[-1]
    agency = last["agency"] or None
    target = metric.target_for(last["period_end"], agency)
    result = spc(list(s["value"].astype(float)), list(s["period_end"]), direction=metric.polarity.value,
                 target=target.value if target else None,
                 **metric_options(metric, list(s["period_end"])).kwargs())
    return {p.period for p in result.points if p.point_type == CONCERN}


def _missed_run(metric: Metric, series: pd.DataFrame, run: int = 3) -> list[str]:
    """The labels of the last ``run`` periods when each missed its target (Amber or Red), else []."""
    if len(series) < run:
        return []
    tail = series.tail(run)
    out = []
    for r in tail.itertuples(index=False):
        value = None if pd.isna(r.value) else float(r.value)
        rag = assess_metric(metric, value, r.period_end, agency=r.agency or None, status_symbol=r.status or "")
        if rag.status not in (RagStatus.AMBER, RagStatus.RED):
            return []
        out.append(r.period_label)
    return out


def _latest(series: pd.DataFrame) -> tuple[dt.date, str] | None:
    return None if series.empty else (series["period_end"].iloc[-1], series["period_label"].iloc[-1])


def exception_reasons(ctx: Context, meeting: MeetingRecord, previous: MeetingRecord | None,
                      imported_since: dict[str, str] | None = None) -> list[tuple[str, list[Reason]]]:
    """(metric id, reasons) for each metric of the framework that needs attention, in the framework's order.

    Computed once per data version, authority, view state and pair of meeting dates.
    """
    imported_since = dict(imported_since or {})
    prev_day = previous.date if previous else None

    def compute() -> list[tuple[str, list[Reason]]]:
        now_rows = {r.metric_id: r for r in scorecard(_as_of(ctx, meeting.date))}
        then_rows = {r.metric_id: r for r in scorecard(_as_of(ctx, prev_day))} if prev_day else {}
        out = []
        for m in scorecard_metrics(ctx):
            reasons: list[Reason] = []
            now, then = now_rows.get(m.id), then_rows.get(m.id)
            if now is not None and then is not None and now.rag.status in _RAG_RANK and then.rag.status in _RAG_RANK \
                    and _RAG_RANK[now.rag.status] > _RAG_RANK[then.rag.status]:
                reasons.append(Reason(RAG_WORSE, f"{then.rag.label} at the previous meeting ({then.period_label}), "
                                                 f"{now.rag.label} now ({now.period_label})"))
            series = _series(ctx, m, meeting.date)
            concerns = _concerns(m, series)
            if concerns:
                before = _concerns(m, _series(ctx, m, prev_day)) if prev_day else set()
                if prev_day is None:
                    latest = _latest(series)
                    new = {latest[0]} & concerns if latest else set()
                else:
                    new = concerns - before
                if new:
                    labels = [lab for end, lab in zip(series["period_end"], series["period_label"]) if end in new]
                    reasons.append(Reason(SPC_CONCERN, "Special cause: concern in " + ", ".join(labels)))
            missed = _missed_run(m, series)
            if missed:
                reasons.append(Reason(MISSED, "Missed the target in " + ", ".join(missed)))
            if not ctx.external:  # inspectors do not see data-quality warnings (as on the metric page)
                flags = ctx.snap.flags_for(m.id, ctx.la_code)
                if not flags.empty:
                    flags = flags[flags["period_end"].isna() | (flags["period_end"] <= meeting.date)]
                for msg in list(dict.fromkeys(flags["message"]))[:3] if not flags.empty else []:
                    reasons.append(Reason(QUALITY, msg))
            if prev_day is not None:
                latest_now, latest_then = _latest(series), _latest(_series(ctx, m, prev_day))
                if latest_now and (latest_then is None or latest_now[0] > latest_then[0]):
                    reasons.append(Reason(NEW_DATA, f"Newer figures since the previous meeting: {latest_now[1]}"
                                          + (f" (last time: {latest_then[1]})" if latest_then else "")))
                elif m.id in imported_since:
                    reasons.append(Reason(NEW_DATA,
                                          f"Figures loaded since the previous meeting: {imported_since[m.id]}"))
            if reasons:
                reasons.sort(key=lambda r: REASON_ORDER.index(r.kind))
                out.append((m.id, reasons))
        return out

    key = ("meeting-exceptions", ctx.la_code, meeting.date, prev_day, ctx.state.sn, ctx.framework_ids,
           tuple(sorted(imported_since.items())), tuple((m.id, repr(m.targets)) for m in ctx.registry.metrics))
    return ctx.snap.memo(key, compute)


def exceptions(ctx: Context, meeting: MeetingRecord, previous: MeetingRecord | None, notes: PanelNotes,
               imported_since: dict[str, str] | None = None,
               meeting_actions: tuple[ActionRecord, ...] = ()) -> ExceptionsView:
    """The exceptions view of ``meeting`` for the context's authority, worst first."""
    items = []
    for metric_id, reasons in exception_reasons(ctx, meeting, previous, imported_since):
        m = ctx.registry.metric(metric_id)
        items.append(ExceptionItem(metric_id=m.id, title=m.title, href=metric_href(ctx, m.id), reasons=tuple(reasons),
                                   comments=notes.comments_for(m.id), actions=notes.open_actions_for(m.id)))
    order = {mid: i for i, mid in enumerate(ctx.framework_ids)}
    items.sort(key=lambda it: (it.worst, order.get(it.metric_id, len(order))))
    return ExceptionsView(meeting=meeting, previous=previous, items=tuple(items), today=notes.today,
                          actions=tuple(meeting_actions))


# -- meeting mode: the exceptions one per screen ------------------------------------------------

@dataclass(frozen=True)
class Slide:
    """One exception on its own screen, with where next and previous go (None at either end)."""

    item: ExceptionItem
    index: int  # 1-based
    total: int
    metric_view: object  # views.MetricView as at the meeting's date: the chart and the status
    variation: str | None  # the SPC variation icon's words, or None without a chart
    assurance: str | None
    prev_href: str | None
    next_href: str | None


def present_href(ctx: Context, meeting: MeetingRecord, index: int) -> str:
    la = ctx.la["old_code"] or ctx.la_code
    return f"/meeting/{meeting.id}/present/{index}?la={la}"


def spc_words(metric: Metric, series: pd.DataFrame) -> tuple[str | None, str | None]:
    """The variation and assurance icons' words for the headline series (None when there is no chart)."""
    s = series[series["value"].notna() & (series["status"].fillna("") == "")]
    if len(s) < 2:
        return None, None
    last = s.iloc[-1]
    target = metric.target_for(last["period_end"], last["agency"] or None)
    r = spc(list(s["value"].astype(float)), list(s["period_end"]), direction=metric.polarity.value,
            target=target.value if target else None,
            **metric_options(metric, list(s["period_end"])).kwargs())
    return (r.variation.words if r.variation else None), (r.assurance.words if r.assurance else None)


def slide(ctx: Context, view: ExceptionsView, index: int) -> Slide | None:
    """The ``index``-th exception (1-based, clamped to the list), or None when there are none."""
    if not view.items:
        return None
    index = min(max(int(index), 1), len(view.items))
    item = view.items[index - 1]
    metric = ctx.registry.metric(item.metric_id)
    at = _as_of(ctx, view.meeting.date)
    variation, assurance = spc_words(metric, _series(ctx, metric, view.meeting.date))
    return Slide(item=item, index=index, total=len(view.items), metric_view=metric_view(at, metric),
                 variation=variation, assurance=assurance,
                 prev_href=present_href(ctx, view.meeting, index - 1) if index > 1 else None,
                 next_href=present_href(ctx, view.meeting, index + 1) if index < len(view.items) else None)
