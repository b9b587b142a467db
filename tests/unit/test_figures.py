"""Figures as plain dicts: traces, markers, bands, and no template."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from urllib.parse import unquote

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures import bar_figure, chart_data, sparkline_alt, sparkline_svg, trend_figure

D = dt.date
MARKER_OF = {"green": "circle", "amber": "triangle-up", "red": "diamond", "no_data": "x", "neutral": "circle-open",
             "no_target": "square"}


def _la_series(obs, metric_id, values, agency="", breakdown="", bvalue="", start_year=2014):
    return obs(*[dict(metric_id=metric_id, period_end=D(start_year + i, 3, 31), period_label=f"31 Mar {start_year + i}",
                      agency=agency, breakdown=breakdown, breakdown_value=bvalue, value=v,
                      status="" if v is not None else "c", source_title="Test source")
                 for i, v in enumerate(values)])


def _comparator(obs, values, start_year=2014):
    return obs(*[dict(period_end=D(start_year + i, 3, 31), period_label=f"31 Mar {start_year + i}", value=v,
                      source_title="England source") for i, v in enumerate(values)])


def _valid_plotly(fig):
    json.dumps(fig)  # plain JSON, nothing plotly-specific
    go.Figure(fig)  # every property name is one plotly knows


def test_trend_for_a_rated_metric(registry, obs):
    # training_compliance: higher is better, NELFT target 80 (CQC), tolerance 5
    m = registry.metric("training_compliance")
    assert (m.tolerance.value, m.target_for(D(2017, 3, 31), "NELFT").value) == (5, 80)
    values = [96.0, 77.0, 60.0, None]  # green, amber (within 5 below), red, no data
    la = _la_series(obs, m.id, values, agency="NELFT", breakdown="training_level", bvalue="L1")
    data = chart_data(m, "Thurrock: NELFT", la, {"England": _comparator(obs, [90.0, 91.0, 92.0, 93.0]),
                                                  "East of England": _comparator(obs, [88.0, 89.0, 90.0, 91.0])})
    assert list(data["rag_status"][:4]) == ["green", "amber", "red", "no_data"]
    assert list(data["target"][:4]) == [80.0] * 4
    fig = trend_figure(m, data, "Thurrock: NELFT", "Training")
    _valid_plotly(fig)
    names = [t["name"] for t in fig["data"]]
    assert names == ["England", "East of England", "Target", "Thurrock: NELFT"]
    la_trace = fig["data"][-1]
    assert la_trace["marker"]["symbol"] == ["circle", "triangle-up", "diamond", "x"]
    assert len(set(la_trace["marker"]["color"][:3])) == 3  # three statuses, three colours as well as shapes
    assert la_trace["y"] == [96.0, 77.0, 60.0, None]
    target = fig["data"][2]
    assert target["y"] == [80.0] * 4 and target["mode"] == "lines"
    # bands from the bottom of the axis: red below 75, amber 75 to 80, green from 80
    shapes = fig["layout"]["shapes"]
    assert len(shapes) == 3
    edges = [(s["y0"], s["y1"]) for s in shapes]
    lo, hi = fig["layout"]["yaxis"]["range"]
    assert edges == [(lo, 75.0), (75.0, 80.0), (80.0, hi)]
    assert all(s["layer"] == "below" for s in shapes)
    assert "template" not in fig["layout"]
    assert fig["layout"]["xaxis"]["categoryarray"] == [f"31 Mar {y}" for y in range(2014, 2018)]


def test_bands_follow_the_agency_target(registry, obs):
    # Probation's own target (95) applies to its rows, not the illustrative 80 for everyone else
    m = registry.metric("training_compliance")
    la = _la_series(obs, m.id, [93.0, 96.0], agency="Probation", breakdown="training_level", bvalue="L1")
    data = chart_data(m, "Probation", la, {})
    assert list(data["target"]) == [95.0, 95.0]
    assert list(data["rag_status"]) == ["amber", "green"]
    fig = trend_figure(m, data, "Probation", "t")
    edges = [(s["y0"], s["y1"]) for s in fig["layout"]["shapes"]]
    assert (90.0, 95.0) in edges  # the amber band under Probation's 95


def test_lower_better_bands(registry, obs):
    m = registry.metric("sickness_days_local")  # lower is better, target 9 days, tolerance 1
    la = _la_series(obs, m.id, [4.32, 9.5, 11.0], agency="Thurrock Council")
    data = chart_data(m, "Thurrock", la, {})
    assert list(data["rag_status"]) == ["green", "amber", "red"]
    fig = trend_figure(m, data, "Thurrock", "t")
    assert fig["data"][-1]["marker"]["symbol"] == ["circle", "triangle-up", "diamond"]
    lo, hi = fig["layout"]["yaxis"]["range"]
    assert [(s["y0"], s["y1"]) for s in fig["layout"]["shapes"]] == [(lo, 9.0), (9.0, 10.0), (10.0, hi)]


def test_neutral_metric_has_no_bands_and_no_target(registry, obs):
    m = registry.metric("cp_rate_31mar")
    assert m.targets == []
    la = _la_series(obs, m.id, [72.5, 50.1, 71.1, 68.3])
    data = chart_data(m, "Thurrock", la, {"England": _comparator(obs, [42.1, 42.9, 43.1, 43.8])})
    fig = trend_figure(m, data, "Thurrock", "CP rate")
    _valid_plotly(fig)
    assert [t["name"] for t in fig["data"]] == ["England", "Thurrock"]
    assert "shapes" not in fig["layout"]
    assert fig["data"][-1]["marker"]["symbol"] == ["circle-open"] * 4
    assert set(data[data["series"] == "Thurrock"]["rag"]) == {"Not rated"}
    assert "template" not in fig["layout"]


def test_neutral_metric_with_a_target_draws_the_line_but_no_bands(registry, obs):
    base = registry.metric("training_compliance")
    m = registry.metric("cp_rate_31mar").model_copy(update={"targets": [base.targets[-1]]})
    la = _la_series(obs, m.id, [72.5, 50.1])
    data = chart_data(m, "Thurrock", la, {})
    fig = trend_figure(m, data, "Thurrock", "t")
    assert [t["name"] for t in fig["data"]] == ["Target", "Thurrock"]
    assert "shapes" not in fig["layout"]


def test_metric_without_target(registry, obs):
    m = registry.metric("sw_absence_rate")  # lower is better, no target
    assert m.targets == []
    data = chart_data(m, "Thurrock", _la_series(obs, m.id, [2.1, 2.4]), {})
    fig = trend_figure(m, data, "Thurrock", "t")
    assert [t["name"] for t in fig["data"]] == ["Thurrock"]
    assert fig["data"][0]["marker"]["symbol"] == ["square", "square"]
    assert "shapes" not in fig["layout"]


def test_trend_of_a_real_view(snap, registry):
    from dashboard import views
    from dashboard.state import parse_query

    ctx = views.make_context(snap, registry, parse_query("?cmp=england,region,sn"), "883")
    metric = registry.metric("sw_agency_rate")
    view = views.metric_view(ctx, metric)
    fig = trend_figure(metric, view.data, "Thurrock", view.title)
    _valid_plotly(fig)
    series = list(dict.fromkeys(view.data["series"]))
    assert len(fig["data"]) == len(series) + 1  # one per series, plus the target
    thurrock = view.data[view.data["series"] == "Thurrock"]
    assert fig["data"][-1]["marker"]["symbol"] == [MARKER_OF[s] for s in thurrock["rag_status"]]
    assert fig["layout"]["shapes"]


def test_chart_data_columns_and_suppression(registry, obs):
    m = registry.metric("cp_plans_31mar")
    data = chart_data(m, "City of London", _la_series(obs, m.id, [None, 0.0]), {})
    assert list(data.columns) == ["series", "period", "period_end", "value", "numerator", "denominator", "status",
                                  "target", "rag", "rag_status", "source", "illustrative", "note"]
    assert data["value"].iloc[0] is None or pd.isna(data["value"].iloc[0])
    assert (data["status"].iloc[0], data["rag_status"].iloc[0]) == ("c", "no_data")
    assert (data["value"].iloc[1], data["status"].iloc[1]) == (0.0, "")
    assert data["numerator"].iloc[0] is None  # JSON-friendly None, not NaN


def _points(uri):
    svg = unquote(uri.split(",", 1)[1])
    m = re.search(r'<polyline[^>]* points="([^"]+)"', svg)
    return svg, ([tuple(map(float, p.split(","))) for p in m.group(1).split()] if m else None)


def test_sparkline_svg():
    uri = sparkline_svg([1.0, 3.0, 2.0, 5.0])
    assert uri.startswith("data:image/svg+xml,")
    svg, pts = _points(uri)
    assert svg.startswith("<svg") and "<polyline" in svg
    assert len(pts) == 4
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    assert xs == sorted(xs)
    # SVG y grows downwards: the highest value is the smallest y, the lowest the largest
    assert ys.index(min(ys)) == 3 and ys.index(max(ys)) == 0


def test_sparkline_skips_missing_points():
    svg, pts = _points(sparkline_svg([None, 1.0, float("nan"), 3.0]))
    assert len(pts) == 2
    for values in ([], [5.0], [None, 5.0, None]):
        svg, pts = _points(sparkline_svg(values))
        assert pts is None and "<polyline" not in svg and svg.startswith("<svg")


def test_sparkline_flat_series():
    svg, pts = _points(sparkline_svg([4.0, 4.0, 4.0]))
    assert len(pts) == 3 and len({p[1] for p in pts}) == 1


def test_sparkline_alt(registry):
    m = registry.metric("cp_rate_31mar")
    spark = [("31 Mar 2016", 71.1), ("31 Mar 2017", None), ("31 Mar 2018", 53.3)]
    assert sparkline_alt(m, spark) == "Trend from 71.1 per 10,000 in 31 Mar 2016 to 53.3 per 10,000 in 31 Mar 2018"
    assert sparkline_alt(m, [("31 Mar 2016", 71.1)]) == "Not enough points for a trend"


def test_bar_figure_labels(registry):
    m = registry.metric("training_compliance")
    labels = ["Level 1", "Level 2", "Prevent 2"]
    fig = bar_figure(m, labels, [96.0, 94.47, None], "NELFT training")
    _valid_plotly(fig)
    (bar,) = fig["data"]
    assert bar["orientation"] == "h"
    assert bar["y"] == labels
    assert bar["text"] == ["96.00%", "94.47%", "no data"]
    assert fig["layout"]["title"]["text"] == "NELFT training"
    assert fig["layout"]["xaxis"]["title"]["text"] == "%"
    assert "template" not in fig["layout"]


def test_notes_travel_to_the_table_the_hover_and_the_csv_as_text(registry, obs):
    """Issue 13: a row's note reaches chart_data, the hover text (escaped for Plotly), the data table and the
    CSV (neutralised where a spreadsheet would run it)."""
    from dashboard import views
    from dashboard.components import chart_data_table

    m = registry.metric("cp_plans_31mar")
    series = _la_series(obs, m.id, [290.0, 294.0])
    series["note"] = [None, "=HYPERLINK(\"x\") <b>bold</b> & more"]
    data = chart_data(m, "Thurrock", series, {})
    assert list(data["note"]) == ["", "=HYPERLINK(\"x\") <b>bold</b> & more"]
    fig = trend_figure(m, data, "Thurrock", "t")
    hover = [cd[2] for cd in fig["data"][-1]["customdata"]]
    assert hover == ["", "<br>Note: =HYPERLINK(\"x\") &lt;b&gt;bold&lt;/b&gt; &amp; more"]
    assert "%{customdata[2]}" in fig["data"][-1]["hovertemplate"]
    _valid_plotly(fig)

    def texts(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, (list, tuple)):
            for c in node:
                yield from texts(c)
        elif hasattr(node, "children"):
            yield from texts(node.children)

    cells = list(texts(chart_data_table(m, data, "caption")))
    assert "=HYPERLINK(\"x\") <b>bold</b> & more" in cells  # a plain string child: Dash shows it as text
    text = views.to_csv(data, views.CSV_COLUMNS, {"data_version": "1"})
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["note"] for r in rows] == ["", "'=HYPERLINK(\"x\") <b>bold</b> & more"]
