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
from ..figures import conversion_figure, flow_figure, projection_figure
from ..formatting import number
from ..views import Context
from .common import shell

#: series drawn as projection charts (the others are in the tables); with the flow, the conversions and
#: capacity, 12 charts
CHARTED = ("demand_contacts", "demand_referrals", "demand_assessments", "demand_s47", "demand_icpc",
           "demand_cp_started", "demand_cp_open", "demand_cin_open", "demand_lac_open")
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
    rates = {f"{t:%b %Y}": v for t, v in (s.rate.history if s.rate else ())}
    points = {f"{p.period:%b %Y}": p for p in (s.spc.points if s.spc else ())}
    kind = "Illustrative" if s.illustrative else "Recorded"
    rows = [dict(month=label, kind=kind, value=number(v, d), rate=number(rates.get(label), 1),
                 spc=points[label].words if label in points else "", i80="", i95="") for label, v in observed]
    rows += [dict(month=p["label"], kind="Projection", value=number(p["point"], d), rate="", spc="",
                  i80=f"{number(p['lower_80'], d)} to {number(p['upper_80'], d)}",
                  i95=f"{number(p['lower_95'], d)} to {number(p['upper_95'], d)}") for p in projected]
    columns = [("month", "Month"), ("kind", "Recorded or projected"), ("value", "Value")]
    if s.rate is not None:
        columns.append(("rate", "Rate per 10,000 children" + (" (12 months to the month)" if s.kind == "flow"
                                                               else "")))
    columns += [("spc", "SPC"), ("i80", "80% interval"), ("i95", "95% interval")]
    table = data_table(pd.DataFrame(rows), f"{s.title}: recorded months and projection", columns, row_header="month")
    about = [html.P(f"Method: {s.projection.label}. Back-test error (MAPE, last 12 months held out): "
                    f"{_backtest_text(s)}.")]
    if s.rate is not None and s.rate.value is not None:
        r = s.rate
        comp = (f" DfE's published rate for {r.published_period}: {number(r.published_la, 1)} here, "
                f"{number(r.england, 1) or 'none'} in England, {number(r.neighbours, 1) or 'none'} the statistical "
                "neighbours' median." if r.published_la is not None else "")
        about.append(html.P(f"Rate per 10,000 children aged 0-17: {_rate_text(s)}.{comp}"))
    about.append(html.P(f"SPC: {s.spc_words}"))
    about += [html.P(n) for n in s.projection.notes]
    if s.illustrative:
        about.append(html.P([illustrative_badge(), " These months are illustrative: generated, not real figures."]))
    caption = f"{s.title}, {view.la_name}: the last {len(observed)} months and the next 12 projected"
    caption += (" with 80% and 95% prediction intervals." if projected else f". {s.projection.reason}")
    return figure_card(graph_id=f"graph-{s.metric_id}", figure=fig, caption=caption, table=table,
                       download_href=None, about=about, illustrative=s.illustrative, height=320)


def _conversion_card(view: DemandView) -> html.Figure:
    cur = f"{view.la_name}, {view.months} months to {_month(view.flow_window[1])}"
    year = next((c.published_period for c in view.conversions if c.published_period), "")
    pub = f"{view.la_name}, published {year}" if year else f"{view.la_name}, published"
    series = [(cur, [c.current for c in view.conversions]), (pub, [c.published_la for c in view.conversions]),
              (f"England, {year}", [c.england for c in view.conversions]),
              (f"Statistical neighbours' median, {year}", [c.neighbours for c in view.conversions])]
    fig = conversion_figure([c.words for c in view.conversions], series, "Conversion at each step of the flow")
    rows = [dict(step=c.words, current=number(c.current, 1), previous=number(c.previous, 1),
                 la=number(c.published_la, 1) or "not published", england=number(c.england, 1) or "not published",
                 sn=number(c.neighbours, 1) or "not published", note=c.note) for c in view.conversions]
    table = data_table(pd.DataFrame(rows), "Conversion rates against DfE's published annual ratios",
                       [("step", "Per 100 of the step before"), ("current", f"{view.months} months to "
                        f"{_month(view.flow_window[1])}"), ("previous", f"{view.months} months before"),
                        ("la", pub), ("england", f"England, {year}"),
                        ("sn", f"Statistical neighbours' median, {year}"), ("note", "How the published ratio is made")],
                       row_header="step", id="demand-conversions-table")
    return figure_card(graph_id="graph-demand-conversions", figure=fig,
                       caption=f"Conversion from one step of the flow to the next, {view.la_name}: the recent months "
                               f"against the authority's, England's and the statistical neighbours' published "
                               f"{year or 'annual'} ratios (DfE, year to 31 March). Referrals to assessments has no "
                               "published ratio in the data held.",
                       table=table, download_href=None, illustrative=view.illustrative)


def _rate_text(s: SeriesSummary) -> str:
    r = s.rate
    if r is None or r.value is None:
        return ""
    basis = f"12 months to {_month(r.period)}" if r.basis.startswith("12") else f"at {_month(r.period)}"
    return f"{r.value:,.1f} ({basis})"


def _rates_table(view: DemandView) -> html.Div:
    rows = []
    for s in view.series:
        r = s.rate
        rows.append(dict(series=s.title, rate=_rate_text(s) or "no rate (not a count of children, or too few "
                         "months)", before=number(r.previous, 1) if r else "",
                         la=f"{number(r.published_la, 1)} ({r.published_period})" if r and r.published_la is not None
                         else "", england=number(r.england, 1) if r else "", sn=number(r.neighbours, 1) if r else "",
                         spc=s.spc_words, illustrative="Illustrative" if s.illustrative else "Recorded"))
    return data_table(pd.DataFrame(rows), "Every demand series: rate per 10,000 children and SPC signals",
                      [("series", "Series"), ("rate", "Rate per 10,000 children aged 0-17 (flows: 12 months, "
                                                      "annualised; stocks: at month end)"),
                       ("before", "12 months before"), ("la", "Published annual rate, this authority"),
                       ("england", "England, same year"), ("sn", "Statistical neighbours' median, same year"),
                       ("spc", "SPC: the latest month (Making Data Count rules)"),
                       ("illustrative", "Illustrative or recorded")],
                      row_header="series", id="demand-rates-table")


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
    if view.real:
        body.append(html.P(view.real_words, className="alert alert-secondary", id="demand-recorded"))
    if view.quality:
        body.append(html.Section([
            html.H2("Data-quality warnings: months against DfE's published years", id="demand-quality-heading"),
            html.P("Warning, not an error: the twelve months to 31 March of a series with a published annual "
                   "counterpart do not give DfE's figure for the year. The months are shown as recorded."),
            html.Ul([html.Li(["Warning: ", w]) for w in view.quality])],
            className="alert alert-warning", id="demand-quality", **{"aria-labelledby": "demand-quality-heading"}))
    if not any(s.n_months for s in view.series):
        body.append(html.P(f"No monthly demand figures for {ctx.la_name}: none have been imported, and illustrative "
                           "months are made only for the configured authority.", className="text-muted",
                           id="demand-none"))
        return shell(ctx, "/demand", "Demand pressures (monthly)", body)
    body.append(html.H2("From contact to plan"))
    if view.flow:
        body.append(_flow_card(view))
    else:
        body.append(html.P("No flow from contact to plan: its monthly counts are not available in this view "
                           "(generated counts are never shown through an inspector link).", id="demand-no-flow"))
    if view.conversions:
        body.append(_conversion_card(view))
    body += _capacity_section(view)
    body += [html.H2("Each series and its projection"),
             html.P("Flows are added up over the months compared; month-end figures (children on a plan, in need, "
                    "looked after, staff) are compared as they stand, never added up. No projection is drawn from "
                    "fewer than 24 months."),
             _summary_table(view),
             html.H2("Rates per 10,000 children and SPC signals"),
             html.P("Each series as a rate per 10,000 children aged 0-17 (ONS mid-year estimate used by DfE for the "
                    "year to 31 March holding the month): flows over the 12 months to the month, so the rate is "
                    "annual and comparable with DfE's published rates for England and the neighbours; children on "
                    "a plan, in need and looked after at the month end. SPC: an XmR chart of the monthly values "
                    "(NHS Making Data Count rules, docs/spc.md); a signal names its rule in words."),
             _rates_table(view)]
    body += [_series_card(view, s) for s in view.series if s.metric_id in CHARTED]
    return shell(ctx, "/demand", "Demand pressures (monthly)", body,
                 subtitle="Monthly demand, where it is heading, and the capacity to carry it.")
