"""Figure building: ``dashboard.figures.trend_figure`` (a dict) against the same figure as a
``plotly.graph_objects.Figure``.

Rules:
- The input is real: the chart data of a metric page (``dashboard.views.metric_view``) from the
  built instance, for the metric page the server benchmark also visits and for one metric with
  a target and RAG bands.
- Timed, interleaved with ``go.Figure(data=..., layout=...)`` of the same figure:
  (a) what a page pays for its figure once the data version is warm: ``metric_view(ctx, m).figure``
  (views and their figures are cached per data version). Budget: at most 0.05 x a go.Figure build.
  (b) the first build per data version, ``trend_figure(...)`` from chart data (a pandas frame) to
  dict. Budget: no slower than a go.Figure build (1 x); it is paid once per version and view.
- Size: the JSON Dash sends for our dict (``plotly.io.json.to_json_plotly``, the encoder Dash
  uses) against ``go.Figure(...).to_json()``, whose difference is mostly the default template.
"""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.io.json import to_json_plotly

from dashboard.data import DataManager
from dashboard.figures import trend_figure
from dashboard.registry import Polarity
from dashboard.state import parse_query
from dashboard.views import make_context, metric_view

from .core import Row, calibrate, interleaved, median
from .instance import Instance

SECTION = "1. figure build (in process)"
BUDGET_DICT_VS_GO = 0.05  # the figure a warm page gets
BUDGET_FIRST_BUILD_VS_GO = 1.0  # the one build per data version
PAGE_METRIC = ("cp_rate_31mar", "?cmp=england,region,sn")


def _cases(inst: Instance) -> list[tuple]:
    """(label, metric, chart data, series name, title, warm lookup) for each figure measured."""
    mgr = DataManager(inst.settings)
    reg = mgr.registry
    topics = tuple(t.id for t in reg.topics)
    snap = mgr.snapshot()
    la_code = snap.area(mgr.settings.la_code)["code"]
    wanted = [PAGE_METRIC]
    # The first registry metric with a target, a good direction (so RAG bands) and data for the authority.
    banded = next((m.id for m in reg.metrics if m.targets and m.polarity is not Polarity.NEUTRAL
                   and not snap.rows(m.id, la_code).empty), None)
    if banded and banded != PAGE_METRIC[0]:
        wanted.append((banded, "?cmp=england"))
    cases = []
    for metric_id, query in wanted:
        ctx = make_context(snap, reg, parse_query(query, topics), mgr.settings.la_code)
        m = reg.metric(metric_id)
        view = metric_view(ctx, m)
        if view.data.empty:
            continue
        cases.append((f"{metric_id}{' ' + query if query else ''}", m, view.data, view.data["series"].iloc[0],
                      view.title, lambda ctx=ctx, m=m: metric_view(ctx, m).figure))
    return cases


def run(inst: Instance, rounds: int) -> list[Row]:
    rows: list[Row] = []
    for label, metric, data, series, title, warm in _cases(inst):
        fig = trend_figure(metric, data, series, title)

        def first(metric=metric, data=data, series=series, title=title):
            return trend_figure(metric, data, series, title)

        def theirs(fig=fig):
            return go.Figure(data=fig["data"], layout=fig["layout"])

        theirs()  # first go.Figure build imports plotly's validators: not part of a warm build
        warm()
        numbers = {"warm": calibrate(warm), "first": calibrate(first), "go": calibrate(theirs)}
        s = interleaved({"warm": warm, "first": first, "go": theirs}, rounds, warmup=2, numbers=numbers)
        warm_ms = [x * 1000 for x in s["warm"]]
        ours_ms = [x * 1000 for x in s["first"]]
        go_ms = [x * 1000 for x in s["go"]]
        rows.append(Row(SECTION, f"figure for a warm page, {label}", median(warm_ms), "ms", floor=median(go_ms),
                        floor_name="go.Figure", budget=BUDGET_DICT_VS_GO, samples=warm_ms, floor_samples=go_ms,
                        note="metric_view(...).figure: cached per data version"))
        rows.append(Row(SECTION, f"trend_figure first build, {label}", median(ours_ms), "ms", floor=median(go_ms),
                        floor_name="go.Figure", budget=BUDGET_FIRST_BUILD_VS_GO, samples=ours_ms,
                        floor_samples=go_ms, note=f"{len(fig['data'])} traces; batch sizes {numbers}"))
        rows.append(Row(SECTION, f"go.Figure build (info), {label}", median(go_ms), "ms", floor=median(ours_ms),
                        floor_name="dict", samples=go_ms, floor_samples=ours_ms))
        ours_json = len(to_json_plotly(fig).encode("utf-8"))
        go_json = len(go.Figure(data=fig["data"], layout=fig["layout"]).to_json().encode("utf-8"))
        rows.append(Row(SECTION, f"figure JSON size, {label}", ours_json, "bytes", floor=go_json,
                        floor_name="go.Figure.to_json", note="the difference is mostly plotly.py's default template"))
    return rows
