"""Topic pages: every metric of one topic as a panel, trends and breakdowns together."""
from __future__ import annotations

from dash import dcc, html

from ..figures import grouped_bar_figure
from ..formatting import value_text
from ..registry import Metric
from ..views import Context, MetricView, category_view, metric_view
from ..components import chart_data_table, data_table, figure_card, rag_chip
from .common import shell
from .metric import breakdown_card, download_href

MAX_CHARTS = 12


def _trend(ctx: Context, view: MetricView) -> html.Figure:
    m = view.metric
    return figure_card(graph_id=f"graph-{m.id}", figure=view.figure,
                       caption=f"{m.title}. {ctx.la_name}" + (f" with {', '.join(view.comparators_shown)}"
                                                               if view.comparators_shown else "") + ".",
                       table=chart_data_table(m, view.data, f"Data behind the chart: {m.title}"),
                       download_href=download_href(ctx, m, view), illustrative=view.illustrative, height=320)


def _agency_levels(ctx: Context, view: MetricView) -> html.Figure | None:
    """Latest compliance by level for each agency, against each agency's target."""
    b = view.breakdown_latest
    if b.empty or b["agency"].nunique() < 2:
        return None
    m = view.metric
    dim = b["breakdown"].iloc[0]
    codes = [c for c in ctx.registry.breakdowns[dim].values if c in set(b["breakdown_value"])]
    cats = [ctx.registry.breakdown_label(dim, c) for c in codes]
    groups = {}
    rows = []
    for agency, g in b.groupby("agency", sort=True):
        vals = dict(zip(g["breakdown_value"], g["value"]))
        groups[agency] = [vals.get(c) for c in codes]
        t = m.target_for(g["period_end"].iloc[0], agency)
        for c in codes:
            if c in vals:
                rows.append({"agency": agency, "level": ctx.registry.breakdown_label(dim, c),
                             "value": value_text(m, vals[c]),
                             "target": f"{value_text(m, t.value)} ({t.source})" if t else "none"})
    period = b["period_label"].iloc[0]
    general = m.target_for(b["period_end"].iloc[0])
    fig = grouped_bar_figure(m, cats, groups, f"{m.short_title} by agency and level, {period}",
                             target=general.value if general else None)
    import pandas as pd

    table = data_table(pd.DataFrame(rows), f"{m.short_title} by agency and level, {period}",
                       [("agency", "Agency"), ("level", "Level"), ("value", "Value"), ("target", "Target")],
                       row_header="agency")
    return figure_card(graph_id=f"graph-{m.id}-agencies", figure=fig,
                       caption=f"{m.title} by agency and level, {period}. The dashed line is the general target; "
                               "agency targets are in the table.", table=table, download_href=None,
                       illustrative=bool(b["illustrative"].any()))


#: breakdowns drawn over time on the topic page (one small panel per category), not only their latest period
OVER_TIME = ("category_of_abuse",)


def _over_time(ctx: Context, metric: Metric, dimension: str) -> html.Figure | None:
    """Each category's series (CP plans by category of abuse, 2013-2022) with England, the region and
    the neighbour median where the metric has comparators, as small multiples with a table."""
    view = category_view(ctx, metric, dimension)
    if view is None:
        return None
    import pandas as pd

    d = view.data.assign(shown=[value_text(metric, v, st) for v, st in zip(view.data["value"], view.data["status"])])
    periods = list(dict.fromkeys(d.sort_values("period_end")["period"]))
    rows = []
    for (cat, series), g in d.groupby(["category", "series"], sort=False):
        vals = dict(zip(g["period"], g["shown"]))
        rows.append({"category": cat, "series": series, **{p: vals.get(p, "") for p in periods}})
    wide = pd.DataFrame(rows, columns=["category", "series"] + periods)
    first, last = (periods[0], periods[-1]) if periods else ("", "")
    series = list(dict.fromkeys(d["series"]))
    table = data_table(wide, f"{metric.short_title} by {view.dimension_title.lower()}, {first} to {last}",
                       [("category", "Category"), ("series", "Series")] + [(p, p) for p in periods],
                       row_header="category")
    caption = (f"{metric.title}, by {view.dimension_title.lower()}, {first} to {last}: one panel per category, "
               f"each with {', '.join(series)}. Suppressed values (c) are gaps in the lines and shown in the table.")
    return figure_card(graph_id=f"graph-{metric.id}-over-time", figure=view.figure, caption=caption, table=table,
                       download_href=None, illustrative=False, height=view.figure["layout"]["height"])


def panel(ctx: Context, metric: Metric) -> tuple[html.Section, int]:
    view = metric_view(ctx, metric)
    r = view.row
    head = html.Div([
        html.H2(dcc.Link(metric.title, href=f"/metric/{metric.id}{ctx.state.shared_query()}"), className="h4"),
        html.P([html.Strong(value_text(metric, r.value, r.status_symbol)), f" {r.period_label}", " "],
               className="mb-1"),
        rag_chip(r.rag),
        html.P(r.benchmark_text, className="small benchmark") if r.benchmark_text else None,
    ], className="panel-head")
    cards, n = [], 0
    series_points = (view.data["series"] == view.data["series"].iloc[0]).sum() if not view.data.empty else 0
    if series_points >= 2:
        cards.append(_trend(ctx, view))
        n += 1
    over_time = next((c for c in (_over_time(ctx, metric, d) for d in OVER_TIME if d in metric.breakdowns)
                      if c is not None), None)
    agencies = _agency_levels(ctx, view)
    if over_time is not None:
        cards.append(over_time)
        n += 1
    elif agencies is not None:
        cards.append(agencies)
        n += 1
    elif not view.breakdown_latest.empty:
        card = breakdown_card(ctx, view, graph_id=f"graph-{metric.id}-breakdown")
        if card is not None:
            cards.append(card)
            n += 1
    if not cards:
        cards.append(html.P("Only one period is available, so there is no trend to draw."
                            if series_points == 1 else f"No data for {ctx.la_name}.", className="text-muted"))
    for f in view.flags:
        cards.append(html.P(f, className="alert alert-warning small", role="note"))
    return html.Section([head] + cards, className="topic-panel", id=f"panel-{metric.id}"), n


def layout(ctx: Context, topic_id: str) -> html.Div:
    topic = ctx.registry.topic(topic_id)
    sections, charts = [], 0
    for metric in ctx.registry.by_topic(topic_id):
        sec, n = ctx.memo("topic-panel", lambda metric=metric: panel(ctx, metric), metric.id)
        if charts + n > MAX_CHARTS:
            sections.append(html.P(["More metrics in this topic: ",
                                    dcc.Link(metric.title, href=f"/metric/{metric.id}{ctx.state.shared_query()}")]))
            continue
        charts += n
        sections.append(sec)
    return shell(ctx, f"/topic/{topic_id}", topic.title, sections, subtitle=topic.description)
