"""The demand page: the flow from contact to plan, projections and capacity. Layout only.

Every number comes from :func:`dashboard.demand_view.demand_view`, the function the ``demand``
command prints, so the page and the command agree. Illustrative months say so on the page and
on every chart.
"""
from __future__ import annotations

import pandas as pd
from dash import html

from ..components import data_table, figure_card, illustrative_badge
from ..demand_view import DemandView, SeriesSummary, demand_view
from ..figures import flow_figure, projection_figure
from ..formatting import number
from ..views import Context
from .common import shell

#: series drawn as projection charts (the others are in the table); with the flow and capacity, 12 charts
CHARTED = ("demand_contacts", "demand_referrals", "demand_assessments", "demand_s47", "demand_icpc",
           "demand_cp_started", "demand_cp_open", "demand_cin_open", "demand_lac_started", "demand_lac_open")
OBSERVED_MONTHS = 24


def _month(d) -> str:
    return "" if d is None else f"{d:%b %Y}"


def _pct(v) -> str:
    return "" if v is None else f"{v:.1f}%"


def _ahead_text(s: SeriesSummary, h: int) -> str:
    a = s.ahead(h)
    if a is None:
        return ""
    d = s.decimals
    return (f"{number(a['point'], d)} (80%: {number(a['lower_80'], d)} to {number(a['upper_80'], d)}; "
            f"95%: {number(a['lower_95'], d)} to {number(a['upper_95'], d)})")


def _backtest_text(s: SeriesSummary) -> str:
    p = s.projection
    if not p.available:
        return p.reason
    bt = p.backtest
    if bt is None:
        return p.backtest_reason
    if bt.mape is None:
        return bt.note or "No back-test error: every held-out month was zero."
    bench = f"; same month last year: {bt.benchmark_mape:.1f}%" if bt.benchmark_mape is not None else ""
    return f"{bt.mape:.1f}%{bench}"


def _flow_card(view: DemandView) -> html.Figure:
    f = view.flow_window
    cur_name = f"{view.months} months to {_month(f[1])}"
    prev_name = f"{view.months} months to {_month(f[3])}"
    fig = flow_figure([s.title.replace(" (monthly)", "") for s in view.flow], [s.current for s in view.flow],
                      [s.previous for s in view.flow], "From contact to plan", cur_name, prev_name)
    rows = [dict(step=s.title, current=number(s.current, 0), previous=number(s.previous, 0),
                 conversion=_pct(s.conversion), conversion_previous=_pct(s.conversion_previous)) for s in view.flow]
    table = data_table(pd.DataFrame(rows), "The flow from contact to plan",
                       [("step", "Step"), ("current", cur_name), ("previous", prev_name),
                        ("conversion", f"% of the step before, {cur_name}"),
                        ("conversion_previous", f"% of the step before, {prev_name}")], row_header="step",
                       id="demand-flow-table")
    return figure_card(graph_id="graph-demand-flow", figure=fig,
                       caption=f"The flow from contact to plan, {view.la_name}: {cur_name} against the "
                               f"{prev_name}, with the conversion from each step to the next in the table.",
                       table=table, download_href=None, illustrative=view.illustrative)


def _series_card(view: DemandView, s: SeriesSummary) -> html.Figure:
    observed = [(f"{t:%b %Y}", None if pd.isna(v) else float(v)) for t, v in s.values.iloc[-OBSERVED_MONTHS:].items()]
    projected = [dict(p, label=f"{p['period_end']:%b %Y}") for p in s.projection.rows()] \
        if s.projection.available else []
    fig = projection_figure(s.title, "FTE" if s.unit == "fte" else ("%" if s.kind == "pct" else "number"),
                            observed, projected, decimals=s.decimals)
    d = s.decimals
    rows = [dict(month=label, kind="Recorded", value=number(v, d), i80="", i95="") for label, v in observed]
    rows += [dict(month=p["label"], kind="Projection", value=number(p["point"], d),
                  i80=f"{number(p['lower_80'], d)} to {number(p['upper_80'], d)}",
                  i95=f"{number(p['lower_95'], d)} to {number(p['upper_95'], d)}") for p in projected]
    table = data_table(pd.DataFrame(rows), f"{s.title}: recorded months and projection",
                       [("month", "Month"), ("kind", "Recorded or projected"), ("value", "Value"),
                        ("i80", "80% interval"), ("i95", "95% interval")], row_header="month")
    about = [html.P(f"Method: {s.projection.label}. Back-test error (MAPE, last 12 months held out): "
                    f"{_backtest_text(s)}.")]
    about += [html.P(n) for n in s.projection.notes]
    if s.illustrative:
        about.append(html.P([illustrative_badge(), " These months are illustrative: generated, not real figures."]))
    caption = f"{s.title}, {view.la_name}: the last {len(observed)} months and the next 12 projected"
    caption += (" with 80% and 95% prediction intervals." if projected else f". {s.projection.reason}")
    return figure_card(graph_id=f"graph-{s.metric_id}", figure=fig, caption=caption, table=table,
                       download_href=None, about=about, illustrative=s.illustrative, height=320)


def _capacity_section(view: DemandView) -> list:
    c = view.capacity
    target = "no target set" if c.target is None else (
        f"target {c.target:g}" + (" (illustrative: an example, not a target set locally)" if c.target_illustrative
                                  else ""))
    out = [html.H2("Capacity", id="capacity"),
           html.P([html.Strong("Caseload implied by open cases: "),
                   f"{number(c.implied_caseload, 1) or 'none'} children in need per social worker FTE in post at "
                   f"{_month(c.now_period)}; {target}."]),
           html.P(f"Projected: {number(c.projected.get(6), 1) or 'none'} in 6 months, "
                  f"{number(c.projected.get(12), 1) or 'none'} in 12 months. {c.crossing_words}",
                  id="demand-crossing"),
           html.P(f"Agency share of social worker FTE: {_pct(c.agency_share) or 'none'}. Average caseload reported "
                  f"by the case system: {number(c.reported_caseload, 1) or 'none'}.")]
    if c.history:
        observed = [(f"{d:%b %Y}", v) for d, v in c.history[-OBSERVED_MONTHS:]]
        projected = [dict(label=f"{d:%b %Y}", point=v, lower_80=None, upper_80=None, lower_95=None, upper_95=None)
                     for d, v in c.path]
        fig = projection_figure("Caseload implied by open cases", "children in need per FTE", observed, projected,
                                decimals=1, target=c.target)
        rows = [dict(month=m, kind="Recorded", value=number(v, 1)) for m, v in observed]
        rows += [dict(month=p["label"], kind="Projection", value=number(p["point"], 1)) for p in projected]
        table = data_table(pd.DataFrame(rows), "Caseload implied by open cases, recorded and projected",
                           [("month", "Month"), ("kind", "Recorded or projected"), ("value", "Children in need "
                                                                                             "per FTE")],
                           row_header="month", id="demand-capacity-table")
        out.append(figure_card(graph_id="graph-demand-capacity", figure=fig,
                               caption="Children in need at month end per social worker FTE in post, and the ratio "
                                       "of their projections, against the caseload target.",
                               table=table, download_href=None, illustrative=view.illustrative))
    return out


def _summary_table(view: DemandView) -> html.Div:
    rows = []
    for s in view.series:
        d = s.decimals
        change = "" if s.change is None else f"{s.change:+,.{d}f}" + (
            f" ({s.change_pct:+.1f}%)" if s.change_pct is not None else "")
        rows.append(dict(series=s.title, latest=f"{number(s.latest_value, d)} ({_month(s.latest_period)})"
                         if s.latest_period else "no months", window=s.window, now=number(s.current, d),
                         before=number(s.previous, d), change=change, six=_ahead_text(s, 6),
                         twelve=_ahead_text(s, 12), backtest=_backtest_text(s),
                         illustrative="Illustrative" if s.illustrative else ""))
    return data_table(pd.DataFrame(rows), "Every demand series: latest month, change and projection",
                      [("series", "Series"), ("latest", "Latest month"), ("window", "Compared"),
                       ("now", "Now"), ("before", f"{view.months} months before"), ("change", "Change"),
                       ("six", "6 months ahead"), ("twelve", "12 months ahead"),
                       ("backtest", "Back-test error (MAPE)"), ("illustrative", "Illustrative")],
                      row_header="series", id="demand-series-table")


def layout(ctx: Context) -> html.Div:
    view = demand_view(ctx)
    body: list = []
    if view.illustrative:
        body.append(html.P([illustrative_badge(), " ", view.words], className="illustrative-note alert alert-info",
                           id="demand-illustrative"))
    if not any(s.n_months for s in view.series):
        body.append(html.P(f"No monthly demand figures for {ctx.la_name}: none have been imported, and illustrative "
                           "months are made only for the configured authority.", className="text-muted",
                           id="demand-none"))
        return shell(ctx, "/demand", "Demand pressures (monthly)", body)
    body += [html.H2("From contact to plan"), _flow_card(view)]
    body += _capacity_section(view)
    body += [html.H2("Each series and its projection"),
             html.P("Flows are added up over the months compared; month-end figures (children on a plan, in need, "
                    "looked after, staff) are compared as they stand, never added up. No projection is drawn from "
                    "fewer than 24 months."),
             _summary_table(view)]
    body += [_series_card(view, s) for s in view.series if s.metric_id in CHARTED]
    return shell(ctx, "/demand", "Demand pressures (monthly)", body,
                 subtitle="Monthly demand, where it is heading, and the capacity to carry it.")
