"""Metric detail at a stable URL: /metric/<id>. Trend with target and RAG bands, switchable
comparators, breakdowns, definition and source, table and CSV."""
from __future__ import annotations

from urllib.parse import quote

import pandas as pd
from dash import dcc, html

from ..figures import bar_figure
from ..formatting import value_text
from ..registry import POLARITY_WORDS, Metric, Unit
from ..state import COMPARATOR_LABELS, COMPARATORS
from ..views import BAND_WORDS, Context, MetricView, cell_label, comparison_view, metric_view, ordinal
from ..components import (chart_data_table, checklist, data_table, figure_card, illustrative_badge, radio_items,
                          rag_chip, spc_chip)
from ..spc_view import POINT_STYLES, TRIAL_LABEL, metric_spc
from .common import shell
from .meetings import metric_section


def download_href(ctx: Context, metric: Metric, view: MetricView) -> str:
    agency, dim, val = view.cell
    state = ctx.state.with_(agency=agency or None, breakdown=f"{dim}:{val}" if dim else None)
    return f"/download/metric/{quote(metric.id)}.csv{state.query()}"


def trend_card(ctx: Context, view: MetricView) -> html.Figure:
    metric = view.metric
    fig = view.figure
    caption = (f"{metric.title}. {ctx.la_name}"
               + (f" compared with {', '.join(view.comparators_shown)}" if view.comparators_shown else "")
               + ". Points are marked by status: circle Green, triangle Amber, diamond Red, square no target."
               + ((" Counts are not compared with other areas, whose populations differ: see the rate."
                   if metric.unit is Unit.COUNT else
                   f" Not available for this view: {', '.join(view.comparators_unavailable)}.")
                  if view.comparators_unavailable else ""))
    return figure_card(graph_id="metric-graph", figure=fig, caption=caption,
                       table=chart_data_table(metric, view.data, f"Data behind the chart: {metric.title}",
                                              id="metric-table"),
                       download_href=download_href(ctx, metric, view), illustrative=view.illustrative)


def spc_section(ctx: Context, view: MetricView) -> html.Section:
    """Is it changing? The SPC (XmR) chart of the series the trend shows, its icons as shape and word,
    a legend in words, a summary in sentences and the same points as a table."""
    metric = view.metric
    sv = metric_spc(ctx, metric, view)
    head = html.H2("Is it changing? Statistical process control (SPC)", id="spc-heading")
    intro = html.P(["Making Data Count: is the latest change real, or everyday variation? ",
                    dcc.Link("Every metric's SPC icons", href=f"/spc{ctx.state.shared_query()}", id="spc-link"),
                    "."], className="small")
    if sv.result is None:
        return html.Section([head, html.P(f"No SPC chart: {sv.note}.", id="spc-none"), intro],
                            className="metric-spc", id="spc")
    v_shape, v_words = sv.variation
    a_shape, a_words = sv.assurance
    res = sv.result
    icons = html.P([html.Strong("Variation: "), spc_chip("variation", res.variation.key, v_shape, v_words,
                                                         res.variation.words),
                    " ", html.Strong("Assurance: "),
                    spc_chip("assurance", res.assurance.key if res.assurance else None, a_shape, a_words,
                             res.assurance.words if res.assurance else ""),
                    " ", html.Strong(TRIAL_LABEL, className="spc-trial") if sv.trial else ""],
                   className="spc-icons", id="spc-icons")
    legend = html.Ul([html.Li([html.Span({"circle": "●", "triangle-up": "▲", "diamond": "◆", "square": "■"}[sym],
                                         style={"color": colour}, **{"aria-hidden": "true"}), " ", words])
                      for sym, colour, words in POINT_STYLES.values()]
                     + [html.Li("Solid line: the centre line (mean). Dashed lines: the process limits"
                                + (f" ({TRIAL_LABEL.lower()}: dotted)" if sv.trial else "")
                                + ". Near limits: choose them in the chart's legend."
                                + (" Long dashes: the target." if sv.target is not None else ""))],
                     className="spc-legend small", id="spc-legend", **{"aria-label": "Legend of the SPC chart"})
    summary = html.Ul([html.Li(t) for t in sv.summary], className="spc-summary", id="spc-summary")
    if sv.withheld:
        return html.Section([head, intro, icons, summary, html.P(sv.withheld, id="spc-withheld")],
                            className="metric-spc", id="spc")
    cols = [("period", "Period"), ("value", "Value"), ("class", "Class (shape)"), ("rule", "Signal"),
            ("mean", "Mean"), ("lower_limit", "Lower limit"), ("upper_limit", "Upper limit"), ("limits", "Limits")]
    table = data_table(sv.table, f"SPC chart as a table: {metric.short_title}", cols, row_header="period",
                       id="spc-table")
    card = figure_card(graph_id="spc-graph", figure=sv.figure, table=table, download_href=None,
                       illustrative=sv.illustrative,
                       caption=(f"SPC (XmR) chart of {metric.short_title}, {view.series_name or ctx.la_name}: each "
                                "point is marked by its class with a shape (circle common cause, triangle "
                                "improvement, diamond concern, square neither) as well as a colour; the centre line "
                                "is the mean, the dashed lines the process limits"
                                + (f"; {TRIAL_LABEL}" if sv.trial else "") + "."))
    return html.Section([head, intro, icons, summary, legend, card], className="metric-spc", id="spc")


def controls(ctx: Context, view: MetricView) -> html.Form:
    parts = [html.Fieldset([
        html.Legend("Compare with", className="form-label"),
        checklist("cmp-toggle", [{"label": COMPARATOR_LABELS[c], "value": c} for c in COMPARATORS],
                  list(ctx.state.cmp)),
    ], className="filter"), html.Fieldset([
        html.Legend("Statistical neighbour model", className="form-label"),
        radio_items("sn-model", [{"label": "DfE 2025 model", "value": "2025"},
                                 {"label": "DfE 2021 model", "value": "2021"}], ctx.state.sn),
    ], className="filter")]
    # Always in the page (its callback listens to it), shown only when there is a choice to make.
    opts = [{"label": cell_label(ctx, view.metric, c), "value": "|".join(c)} for c in view.cells] or \
        [{"label": ctx.la_name, "value": "|".join(view.cell)}]
    parts.append(html.Div([
        html.Label("Show", htmlFor="cell-select", className="form-label"),
        dcc.Dropdown(id="cell-select", options=opts, value="|".join(view.cell), clearable=False),
    ], className="filter cell-filter", hidden=len(view.cells) <= 1))
    return html.Form(parts, className="filters d-flex flex-wrap gap-4", **{"aria-label": "Chart options"})


def breakdown_card(ctx: Context, view: MetricView, graph_id: str = "breakdown-graph") -> html.Figure | None:
    b = view.breakdown_latest
    if b.empty:
        return None
    metric = view.metric
    period = b["period_label"].iloc[0]
    dims = list(dict.fromkeys(b["breakdown"]))
    order = {code: i for d in dims for i, code in enumerate(ctx.registry.breakdowns[d].values)}
    b = b.assign(_o=b["breakdown_value"].map(order)).sort_values(["agency", "_o"])
    labels = [cell_label(ctx, metric, (a, d, v)) for a, d, v in zip(b["agency"], b["breakdown"], b["breakdown_value"])]
    fig = bar_figure(metric, labels, [None if v != v else v for v in b["value"]],
                     f"{metric.short_title} by {ctx.registry.breakdowns[dims[0]].title.lower()}, {period}",
                     height=max(260, 40 * len(labels) + 100))
    df = b.assign(label=labels, shown=[value_text(metric, v, s) for v, s in zip(b["value"], b["status"])],
                  count=["" if n != n else f"{n:,.0f}" for n in b["numerator"]],
                  total=["" if n != n else f"{n:,.0f}" for n in b["denominator"]])
    from ..components import data_table

    table = data_table(df, f"{metric.short_title} by category, {period}",
                       [("label", "Category"), ("shown", "Value"), ("count", "Count"), ("total", "Total")],
                       row_header="label")
    return figure_card(graph_id=graph_id, figure=fig,
                       caption=f"{metric.title}, by category, {period}.", table=table, download_href=None,
                       illustrative=bool(b["illustrative"].any()), height=max(260, 40 * len(labels) + 100))


def compares(ctx: Context, metric: Metric) -> html.Section:
    """"How <authority> compares": rank, band and positions in words, every authority's figure as a
    strip plot (this authority, its region's and its neighbours marked by shape and row, names on hover),
    with the same figures as a table."""
    share = ctx.state.shared_query()
    link = html.P(dcc.Link(f"Compare {ctx.la_name} with chosen authorities over time",
                           href=f"/compare/{metric.id}{share}", id="compare-link"))
    head = html.H2(f"How {ctx.la_name} compares", id="compares-heading")
    cv = comparison_view(ctx, metric)
    if cv is None:
        return html.Section([head, html.P(f"No figure for {ctx.la_name} to compare."), link],
                            className="metric-compares", id="compares")
    r = cv.row
    facts = [html.Dt("National rank"),
             html.Dd(f"{ordinal(r.rank)} of {r.rank_of} (1 = best)" if r.rank is not None else r.benchmark_note),
             html.Dt("Quartile band"),
             html.Dd(BAND_WORDS.get(r.quartile_band, r.quartile_band) if r.quartile_band else "None"),
             html.Dt("Against the statistical-neighbour median"),
             html.Dd(f"{r.vs_neighbours} ({value_text(metric, r.neighbour_median)})" if r.vs_neighbours
                     else "No median (fewer than half the neighbours have a figure)"),
             html.Dt("Against England"),
             html.Dd(f"{r.vs_england} ({value_text(metric, r.england_value)})" if r.vs_england
                     else "No England figure")]
    pts = cv.points.assign(
        shown=[value_text(metric, v, s) for v, s in zip(cv.points["value"], cv.points["status"])],
        rank_text=["" if pd.isna(x) else str(int(x)) for x in cv.points["rank"]],
        band_text=[b or "" for b in cv.points["band"]])
    ranked = pts["rank"].notna().any()
    pts = pts.sort_values(["rank", "name"], na_position="last") if ranked else pts.sort_values("name")
    marked = pts[pts["group"] != "Other authorities"]
    cols = [("name", "Authority"), ("group", "Group"), ("shown", "Value"), ("rank_text", "Rank"),
            ("band_text", "Band")]
    table = html.Div([
        data_table(marked, f"{metric.short_title}, {cv.period_label}: {ctx.la_name}, its region and its neighbours",
                   cols, row_header="name", id="compares-table"),
        html.Details([html.Summary(f"Every authority ({len(pts)})"),
                      data_table(pts, f"{metric.short_title}, {cv.period_label}: every authority", cols,
                                 row_header="name")]),
    ])
    card = figure_card(graph_id="distribution-graph", figure=cv.figure,
                       caption=(f"{metric.short_title} for every authority in England, {cv.period_label}. "
                                f"{ctx.la_name} is the large diamond; its statistical neighbours are triangles; "
                                f"other {cv.region_name} authorities are squares; dotted lines mark the quartiles. "
                                "Hover over a point for the authority's name, or open the table."),
                       table=table, download_href=None, illustrative=False, height=320)
    return html.Section([head, html.P(cv.summary, id="compares-summary"),
                         html.Dl(facts, className="definition-list compares-facts"), card, link],
                        className="metric-compares", id="compares")


def about(ctx: Context, metric: Metric, view: MetricView) -> html.Section:
    sources = list(dict.fromkeys(view.data["source"])) if not view.data.empty else []
    dl = [
        ("Definition", metric.definition), ("Methodology", metric.methodology),
        ("Numerator", metric.numerator or "—"), ("Denominator", metric.denominator or "—"),
        ("Polarity", POLARITY_WORDS[metric.polarity]), ("Period", metric.period_type.value.replace("_", " ")),
        ("Source", metric.source), ("Sources of the values shown", "; ".join(sources) or "—"),
    ]
    if metric.targets:
        dl.append(("Targets", "; ".join(
            f"{value_text(metric, t.value)}"
            + (f" for {t.agency}" if t.agency else "")
            + (f" from {t.start:%-d %b %Y}" if t.start else "") + (f" to {t.end:%-d %b %Y}" if t.end else "")
            + f" ({t.source})" for t in metric.targets)))
    notes = metric.external_notes if ctx.external else metric.notes
    if notes:
        dl.append(("Notes", notes))
    items = []
    for k, v in dl:
        items += [html.Dt(k), html.Dd(v)]
    if metric.source_url:
        items += [html.Dt("Publication"), html.Dd(html.A(metric.source_url, href=metric.source_url))]
    return html.Section([html.H2("Definition and source"), html.Dl(items, className="definition-list")],
                        className="metric-about")


def layout(ctx: Context, metric: Metric, notes=None) -> html.Div:
    """The metric page; ``notes`` (``meeting_view.PanelNotes``: the commentary and actions this viewer
    may see) adds the commentary and actions beside the chart."""
    view = metric_view(ctx, metric)
    r = view.row
    headline = html.Div([
        html.P([html.Span(value_text(metric, r.value, r.status_symbol), className="headline-value"),
                html.Span(f" {r.period_label}" if r.period_label else "", className="headline-period"),
                " ", illustrative_badge() if r.illustrative else ""]),
        rag_chip(r.rag, id="metric-rag"),
        html.P(r.benchmark_text, className="benchmark") if r.benchmark_text else None,
        html.P("Local measure: not comparable with DfE's published figures.", className="tag-local")
        if metric.local else None,
    ], className="metric-headline")
    warnings = None
    if view.flags:
        warnings = html.Div([html.H2("Data-quality warnings", className="h5")] +
                            [html.P(m) for m in view.flags], className="alert alert-warning", role="note")
    bcard = breakdown_card(ctx, view)
    return shell(ctx, "", metric.title, [
        html.P(dcc.Link("← Back to the scorecard", href=f"/{ctx.state.shared_query()}")),
        headline, warnings, controls(ctx, view),
        html.Div(trend_card(ctx, view), id="trend-container"),
        html.Div(spc_section(ctx, view), id="spc-container"),
        metric_section(ctx, metric, notes, r.period_end.isoformat() if r.period_end else "")
        if notes is not None else None,
        bcard,
        compares(ctx, metric),
        about(ctx, metric, view),
    ], subtitle=metric.definition)
