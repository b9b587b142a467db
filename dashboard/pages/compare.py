"""Compare authorities at /compare/<metric>?with=882,884: one metric across a chosen set of authorities
(default: this authority and its statistical neighbours; at most 15), as one chart with a table, the
latest figures side by side, and a CSV. Layout only: the set comes from views.compare_view, which
checks every authority against the viewer's access."""
from __future__ import annotations

from urllib.parse import quote

import pandas as pd
from dash import dcc, html

from ..components import data_table, figure_card
from ..figures import bar_figure
from ..formatting import value_text
from ..registry import Metric, Unit
from ..state import MAX_COMPARE_WITH
from ..views import CompareView, Context, compare_view
from .common import shell


def download_href(ctx: Context, metric: Metric) -> str:
    return f"/download/compare/{quote(metric.id)}.csv{ctx.state.with_(topic=None, rag=(), q=None).query()}"


def chooser(ctx: Context, view: CompareView) -> html.Div:
    options = [{"label": f"{a['name']} ({a['old_code']})", "value": a["code"]} for a in ctx.snap.local_authorities()
               if a["code"] != ctx.la_code
               and (ctx.allowed_las is None or {a["code"], str(a["old_code"])} & ctx.allowed_las)]
    return html.Div([
        html.Label(f"Authorities compared with {ctx.la_name} (up to {MAX_COMPARE_WITH})", htmlFor="compare-with",
                   className="form-label"),
        html.P("Type a name to find an authority, move with the arrow keys and press Enter to add or remove it. "
               "With none chosen, the statistical neighbours are compared.",
               className="small text-muted", id="compare-with-hint"),
        dcc.Dropdown(id="compare-with", options=options, value=view.codes[1:], multi=True, searchable=True,
                     clearable=True, placeholder="Choose authorities", className="compare-select"),
    ], className="filter compare-chooser")


def _wide_table(view: CompareView) -> pd.DataFrame:
    m = view.metric
    d = view.data.assign(shown=[value_text(m, v, s) for v, s in zip(view.data["value"], view.data["status"])])
    periods = list(dict.fromkeys(d.sort_values("period_end")["period"]))
    rows = []
    for code in view.codes:
        g = d[d["code"] == code]
        vals = dict(zip(g["period"], g["shown"]))
        rows.append({"authority": view.names[code], **{p: vals.get(p, "") for p in periods}})
    return pd.DataFrame(rows, columns=["authority"] + periods)


def body(ctx: Context, metric: Metric) -> list:
    """The chart, latest-figures bars and tables for the chosen set (the chooser's callback redraws this)."""
    view = compare_view(ctx, metric)
    parts: list = []
    if view.left_out:
        parts.append(html.P(f"Left out: {', '.join(view.left_out)} (not an English local authority, or not "
                            "covered by your access).", className="alert alert-warning small", role="note"))
    if len(view.codes) == 1 and view.default_set:
        parts.append(html.P(f"{ctx.la_name} has no statistical neighbours you can see: choose authorities above.",
                            className="small"))
    if view.data.empty:
        parts.append(html.P(f"No figures for {metric.short_title} for these authorities.", role="status"))
        return parts
    wide = _wide_table(view)
    names = [view.names[c] for c in view.codes]
    summary = (f"{metric.title}: {ctx.la_name} and {len(view.codes) - 1} other authorit"
               f"{'y' if len(view.codes) == 2 else 'ies'}"
               + (" (its statistical neighbours)" if view.default_set else "") + ".")
    if metric.unit is Unit.COUNT:
        summary += " Counts are not comparable between authorities of different sizes: compare the rate."
    parts.append(html.P(summary, role="status", id="compare-summary"))
    table = data_table(wide, f"{metric.short_title} by authority and period",
                       [(c, c if c != "authority" else "Authority")
                                                                               for c in wide.columns],
                       row_header="authority", id="compare-table")
    parts.append(figure_card(graph_id="compare-graph", figure=view.figure,
                             caption=f"{metric.title}, {', '.join(names)}. {ctx.la_name} is the heavier line with "
                                     "diamond markers; each authority has its own line style and marker.",
                             table=table, download_href=download_href(ctx, metric),
                             illustrative=bool(view.data["illustrative"].any()), height=400))
    latest = view.latest
    if not latest.empty:
        period = latest["period"].iloc[0]
        order = latest.sort_values("value", ascending=False, na_position="last")
        labels = list(order["series"])
        colours = ["#12436D" if c == ctx.la_code else "#B1B4B6" for c in order["code"]]
        fig = bar_figure(metric, labels, [None if pd.isna(v) else v for v in order["value"]],
                         f"{metric.short_title}, {period}", colours=colours,
                         height=max(260, 32 * len(labels) + 100))
        fig["layout"]["margin"]["r"] = 120  # room for the value labels beyond the longest bar
        shown = [value_text(metric, v, s) for v, s in zip(order["value"], order["status"])]
        ltab = data_table(order.assign(shown=shown),
                          f"{metric.short_title}, {period}, highest first",
                          [("series", "Authority"), ("shown", "Value")], row_header="series")
        parts.append(figure_card(graph_id="compare-latest-graph", figure=fig,
                                 caption=f"{metric.short_title} in {period}, highest first; "
                                         f"{ctx.la_name} in dark blue.",
                                 table=ltab, download_href=None, height=max(260, 32 * len(labels) + 100)))
    return parts


def layout(ctx: Context, metric: Metric) -> html.Div:
    view = compare_view(ctx, metric)
    share = ctx.state.shared_query()
    return shell(ctx, "", f"Compare authorities: {metric.title}", [
        html.P([dcc.Link("← Back to the metric", href=f"/metric/{metric.id}{share}"), " · ",
                dcc.Link("Scorecard", href=f"/{share}")]),
        html.Form(chooser(ctx, view), className="filters", **{"aria-label": "Choose authorities"}),
        html.Div(body(ctx, metric), id="compare-body", **{"aria-live": "polite"}),
    ], subtitle=metric.definition)
