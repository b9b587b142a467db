"""Figures as plain dicts: data in, a Plotly figure out. No Dash import.

Dicts cost a fraction of ``go.Figure`` and carry no template (plotly.py's default template is
two thirds of a figure's JSON). Colours are the Government Analysis Function palette; RAG
points use a shape as well as a colour, so status never depends on colour alone.
"""
from __future__ import annotations

import json
from urllib.parse import quote

import pandas as pd

from .analysis.rag import RagStatus, assess_metric, rag_bands
from .formatting import is_missing, value_text
from .registry import Metric, Polarity, Unit

# Government Analysis Function categorical palette (accessible on white).
PALETTE = {
    "la": "#12436D",  # dark blue
    "england": "#3D3D3D",  # dark grey
    "region": "#28A197",  # turquoise
    "sn": "#801650",  # dark pink
    "target": "#F46A25",  # orange
}
SERIES_COLOURS = ["#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1"]
RAG_COLOURS = {
    RagStatus.GREEN: "#00703C",
    RagStatus.AMBER: "#B35900",
    RagStatus.RED: "#D4351C",
    RagStatus.NO_TARGET: "#505A5F",
    RagStatus.NO_DATA: "#505A5F",
    RagStatus.NEUTRAL: "#12436D",
}
RAG_MARKERS = {
    RagStatus.GREEN: "circle",
    RagStatus.AMBER: "triangle-up",
    RagStatus.RED: "diamond",
    RagStatus.NO_TARGET: "square",
    RagStatus.NO_DATA: "x",
    RagStatus.NEUTRAL: "circle-open",
}
BAND_FILL = {RagStatus.GREEN: "rgba(0,112,60,0.08)", RagStatus.AMBER: "rgba(244,119,56,0.12)",
             RagStatus.RED: "rgba(212,53,28,0.08)"}
FONT = {"family": "Arial, Helvetica, sans-serif", "size": 14, "color": "#0B0C0C"}


def _axis_title(metric: Metric) -> str:
    return {Unit.PERCENT: "%", Unit.RATE_PER_10000: "per 10,000 children", Unit.COUNT: "number",
            Unit.DAYS: "days", Unit.CASES_PER_FTE: "cases per FTE", Unit.FTE: "FTE"}[metric.unit]


def base_layout(title: str, y_title: str = "", height: int = 340) -> dict:
    return {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        "font": FONT,
        "height": height,
        "margin": {"l": 56, "r": 16, "t": 56, "b": 48},
        "paper_bgcolor": "#FFFFFF",
        "plot_bgcolor": "#FFFFFF",
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.18, "x": 0, "xref": "container", "font": {"size": 12}},
        "xaxis": {"type": "category", "showgrid": False, "linecolor": "#505A5F", "ticks": "outside",
                  "automargin": True},
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#E5E5E5", "zeroline": False, "rangemode": "tozero",
                  "automargin": True},
    }


def chart_data(metric: Metric, la_name: str, la_series: pd.DataFrame,
               comparators: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The long table a trend chart draws, and exactly what its table and CSV show.

    Columns: series, period, period_end, value, numerator, denominator, status, target, rag, rag_status,
    source, illustrative, note. ``note`` is the row's note as plain text ("" for none); for external
    viewers a suppressed row's note is already the fixed suppression text.
    """
    rows = []
    for r in la_series.itertuples(index=False):
        value = None if is_missing(r.value) else float(r.value)
        t = metric.target_for(r.period_end, r.agency or None)
        res = assess_metric(metric, value, r.period_end, agency=r.agency or None, status_symbol=r.status)
        rows.append({"series": la_name, "period": r.period_label, "period_end": r.period_end, "value": value,
                     "numerator": None if is_missing(r.numerator) else r.numerator,
                     "denominator": None if is_missing(r.denominator) else r.denominator,
                     "status": r.status or "", "target": t.value if t else None, "rag": res.label,
                     "rag_status": res.status.value,
                     "source": r.source_title, "illustrative": bool(r.illustrative),
                     "note": _note(getattr(r, "note", None))})
    for name, df in comparators.items():
        for r in df.itertuples(index=False):
            value = None if is_missing(r.value) else float(r.value)
            rows.append({"series": name, "period": r.period_label, "period_end": r.period_end, "value": value,
                         "numerator": getattr(r, "numerator", None), "denominator": getattr(r, "denominator", None),
                         "status": getattr(r, "status", "") or "", "target": None, "rag": "", "rag_status": "",
                         "source": getattr(r, "source_title", "Median of statistical neighbours"),
                         "illustrative": bool(getattr(r, "illustrative", False)),
                         "note": _note(getattr(r, "note", None))})
    cols = ["series", "period", "period_end", "value", "numerator", "denominator", "status", "target", "rag",
            "rag_status", "source", "illustrative", "note"]
    out = pd.DataFrame(rows, columns=cols)
    for col in ("numerator", "denominator"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    return out


def _note(value) -> str:
    """A row's note as plain text: "" for none (None, NaN)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def hover_text(text: str) -> str:
    """Text for a Plotly hover label, shown as typed: Plotly reads a few HTML tags and entities in hover
    text, so &, < and > are written as entities (which it shows as the characters)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def trend_figure(metric: Metric, data: pd.DataFrame, la_name: str, title: str) -> dict:
    """Trend of the authority with comparators, the target line and RAG bands, from ``chart_data``.

    The frame is read once into plain lists: per-series pandas filtering cost more than the figure.
    """
    records = data.to_dict("records")
    rows = sorted(records, key=lambda r: r["period_end"])
    periods = list(dict.fromkeys(r["period"] for r in rows))
    by_series: dict[str, list[dict]] = {}
    for r in records:
        by_series.setdefault(r["series"], []).append(r)
    layout = base_layout(title, _axis_title(metric))
    layout["xaxis"]["categoryorder"] = "array"
    layout["xaxis"]["categoryarray"] = periods
    traces: list[dict] = []
    la = by_series.get(la_name, [])
    fmt = f".{metric.decimals}f"
    suffix = "%" if metric.unit is Unit.PERCENT else ""

    def y(values) -> list:
        return [None if is_missing(v) else v for v in values]

    for i, (name, recs) in enumerate(by_series.items()):
        if name == la_name:
            continue
        colour = {0: PALETTE["england"], 1: PALETTE["region"], 2: PALETTE["sn"]}.get(i - 1, SERIES_COLOURS[i % 6])
        traces.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": [r["period"] for r in recs],
                       "y": y(r["value"] for r in recs),
                       "line": {"color": colour, "width": 2, "dash": ["dot", "dash", "dashdot"][i % 3]},
                       "marker": {"size": 6, "color": colour},
                       "hovertemplate": f"%{{y:{fmt}}}{suffix}<extra>{name}</extra>"})
    targets = [r for r in la if not is_missing(r["target"])]
    if targets:
        traces.append({"type": "scatter", "mode": "lines", "name": "Target", "x": [r["period"] for r in targets],
                       "y": [r["target"] for r in targets],
                       "line": {"color": PALETTE["target"], "width": 2, "shape": "hv", "dash": "longdash"},
                       "hovertemplate": f"Target %{{y:{fmt}}}{suffix}<extra></extra>"})
        last_t = float(targets[-1]["target"])
        if metric.polarity is not Polarity.NEUTRAL:
            vals = [v for v in [r["value"] for r in rows] + [r["target"] for r in targets] if not is_missing(v)]
            lo, hi = min(vals + [0]), max(vals) * 1.1 if vals else 1
            if metric.unit is Unit.PERCENT:
                hi = min(max(hi, last_t + 5), 100.5)
            layout["yaxis"]["range"] = [lo, hi]
            layout["shapes"] = [
                {"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": b["y0"], "y1": b["y1"],
                 "fillcolor": BAND_FILL[b["status"]], "line": {"width": 0}, "layer": "below"}
                for b in rag_bands(metric.polarity, last_t, metric.tolerance.value, metric.tolerance.kind, lo, hi)
                if b["status"] in BAND_FILL
            ]
    statuses = [RagStatus(r["rag_status"]) for r in la]
    traces.append({
        "type": "scatter", "mode": "lines+markers", "name": la_name, "x": [r["period"] for r in la],
        "y": y(r["value"] for r in la),
        "line": {"color": PALETTE["la"], "width": 3},
        "marker": {"size": 11, "color": [RAG_COLOURS[s] for s in statuses],
                   "symbol": [RAG_MARKERS[s] for s in statuses], "line": {"color": "#FFFFFF", "width": 1}},
        "customdata": [[r["rag"], "Illustrative" if r["illustrative"] else "",
                        f"<br>Note: {hover_text(r['note'])}" if r.get("note") else ""] for r in la],
        "hovertemplate": (f"%{{y:{fmt}}}{suffix} %{{customdata[0]}} %{{customdata[1]}}%{{customdata[2]}}"
                          f"<extra>{la_name}</extra>"),
    })
    return {"data": traces, "layout": layout}


def bar_figure(metric: Metric, labels: list[str], values: list[float | None], title: str,
               colours: list[str] | None = None, height: int = 320) -> dict:
    """Horizontal bars, one per category, labelled with their values."""
    layout = base_layout(title, "", height)
    layout["hovermode"] = "closest"
    layout["xaxis"] = {"title": {"text": _axis_title(metric)}, "gridcolor": "#E5E5E5", "rangemode": "tozero"}
    layout["yaxis"] = {"type": "category", "autorange": "reversed", "automargin": True,
                       **category_ticks(labels)}
    layout["margin"]["l"] = 8
    layout["height"] = max(height, 110 + 34 * len(labels))
    text = [value_text(metric, v) if not is_missing(v) else "no data" for v in values]
    return {"data": [{"type": "bar", "orientation": "h", "x": values, "y": labels, "text": text,
                      "textposition": "outside", "cliponaxis": False,
                      "marker": {"color": colours or PALETTE["la"]},
                      "hovertemplate": "%{y}: %{text}<extra></extra>"}],
            "layout": layout}


def grouped_bar_figure(metric: Metric, categories: list[str], groups: dict[str, list[float | None]], title: str,
                       target: float | None = None, height: int = 340) -> dict:
    """Grouped bars (e.g. training level by agency), drawn horizontally so that the category labels, wrapped,
    have a row each at any width, with an optional target line."""
    layout = base_layout(title, "", height)
    layout["hovermode"] = "closest"
    layout["barmode"] = "group"
    layout["xaxis"] = {"title": {"text": _axis_title(metric)}, "gridcolor": "#E5E5E5", "rangemode": "tozero",
                       "automargin": True}
    layout["yaxis"] = {"type": "category", "autorange": "reversed", "automargin": True,
                       **category_ticks(categories)}
    layout["margin"]["l"] = 8
    layout["height"] = max(height, 130 + 16 * len(categories) * max(len(groups), 1))
    traces = [{"type": "bar", "orientation": "h", "name": g, "y": categories, "x": vals,
               "marker": {"color": SERIES_COLOURS[i % 6]},
               "hovertemplate": f"%{{y}}, {g}: %{{x:.{metric.decimals}f}}<extra></extra>"}
              for i, (g, vals) in enumerate(groups.items())]
    if target is not None:
        layout["shapes"] = [{"type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": target, "x1": target,
                             "line": {"color": PALETTE["target"], "width": 2, "dash": "longdash"}}]
        layout["annotations"] = [{"yref": "paper", "y": 1, "x": target, "xanchor": "right", "yanchor": "bottom",
                                  "text": f"Target {target:g}", "showarrow": False, "font": {"color": "#0B0C0C"}}]
    return {"data": traces, "layout": layout}


def category_ticks(labels: list[str], width: int = 16) -> dict:
    """Axis settings that show each category's label wrapped onto lines of about ``width`` characters, so a
    long name never runs off a narrow chart; the data keep the names whole."""
    return {"tickmode": "array", "tickvals": list(labels), "ticktext": [wrap_label(str(c), width) for c in labels],
            "tickfont": {"size": 12}}


def wrap_label(text: str, width: int = 14) -> str:
    """Break a long axis label into lines of about ``width`` characters (Plotly uses <br>)."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(lines)


def sparkline_svg(values: list[float | None], width: int = 120, height: int = 28, colour: str = "#12436D") -> str:
    """A tiny inline SVG line as a data URI, for the scorecard (no chart library, no live chart)."""
    pts = [(i, v) for i, v in enumerate(values) if not is_missing(v)]
    if len(pts) < 2:
        svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"></svg>'
        return "data:image/svg+xml," + quote(svg)
    lo, hi = min(v for _, v in pts), max(v for _, v in pts)
    span = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)
    coords = [(2 + (width - 4) * i / n, height - 3 - (height - 6) * (v - lo) / span) for i, v in pts]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    lx, ly = coords[-1]
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
           f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
           f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="3" fill="{colour}"/></svg>')
    return "data:image/svg+xml," + quote(svg)


def sparkline_alt(metric: Metric, spark: list[tuple[str, float | None]]) -> str:
    pts = [(p, v) for p, v in spark if not is_missing(v)]
    if len(pts) < 2:
        return "Not enough points for a trend"
    (p0, v0), (p1, v1) = pts[0], pts[-1]
    return f"Trend from {value_text(metric, v0)} in {p0} to {value_text(metric, v1)} in {p1}"


DISTRIBUTION_STYLE = {
    # group -> (colour, symbol, size): shape and size as well as colour tell the groups apart
    "This authority": (PALETTE["la"], "diamond", 16),
    "Statistical neighbours": (PALETTE["sn"], "triangle-up", 11),
    "region": (PALETTE["region"], "square", 9),
    "Other authorities": ("#B1B4B6", "circle", 7),
}


def distribution_figure(metric: Metric, points: pd.DataFrame, quartiles, title: str, height: int = 340) -> dict:
    """A strip plot of every authority's figure: one row per group (all authorities, the region's,
    the neighbours, this authority), names on hover, quartile edges as dotted lines.

    ``points``: code, name, value, status, group, rank, band (dashboard.views.comparison_view).
    """
    layout = base_layout(title, "", height)
    layout["hovermode"] = "closest"
    layout["showlegend"] = False
    layout["xaxis"] = {"title": {"text": _axis_title(metric)}, "gridcolor": "#E5E5E5", "zeroline": False,
                       "automargin": True}
    layout["margin"]["l"] = 8
    fmt = f".{metric.decimals}f"
    suffix = "%" if metric.unit is Unit.PERCENT else ""
    recs = [r for r in points.to_dict("records") if not is_missing(r["value"])]
    groups = ["All authorities"] + [g for g in dict.fromkeys(r["group"] for r in recs) if g != "Other authorities"]
    order = {"All authorities": 0, "Statistical neighbours": 2, "This authority": 3}
    groups.sort(key=lambda g: order.get(g, 1))
    layout["yaxis"] = {"type": "category", "automargin": True, **category_ticks(groups, 14)}
    traces = []
    for g in groups:
        members = recs if g == "All authorities" else [r for r in recs if r["group"] == g]
        style_key = g if g in DISTRIBUTION_STYLE else ("Other authorities" if g == "All authorities" else "region")
        colour, symbol, size = DISTRIBUTION_STYLE[style_key]
        traces.append({
            "type": "scatter", "mode": "markers", "name": g, "x": [r["value"] for r in members],
            "y": [g] * len(members), "text": [hover_text(r["name"]) for r in members],
            "customdata": [[f"rank {r['rank']}" if r.get("rank") else "not ranked",
                            f"band {r['band']}" if r.get("band") else ""] for r in members],
            "marker": {"color": colour, "symbol": symbol, "size": size, "opacity": 0.85,
                       "line": {"color": "#FFFFFF", "width": 1}},
            "hovertemplate": f"%{{text}}: %{{x:{fmt}}}{suffix}, %{{customdata[0]}} %{{customdata[1]}}<extra></extra>",
        })
    if quartiles is not None:
        layout["shapes"] = [{"type": "line", "xref": "x", "x0": q, "x1": q, "yref": "paper", "y0": 0, "y1": 1,
                             "line": {"color": "#505A5F", "width": 1, "dash": "dot"}}
                            for q in (quartiles.q25, quartiles.q50, quartiles.q75)]
        layout["annotations"] = [{"xref": "x", "x": q, "yref": "paper", "y": 1, "yanchor": "bottom",
                                  "text": label, "showarrow": False, "font": {"size": 11, "color": "#0B0C0C"}}
                                 for q, label in ((quartiles.q25, "25%"), (quartiles.q50, "median"),
                                                  (quartiles.q75, "75%"))]
    return {"data": traces, "layout": layout}


def compare_figure(metric: Metric, data: pd.DataFrame, la_name: str, title: str, height: int = 460) -> dict:
    """One line per authority (this one drawn heavier), from ``dashboard.views.compare_view``'s data."""
    records = sorted(data.to_dict("records"), key=lambda r: r["period_end"])
    periods = list(dict.fromkeys(r["period"] for r in records))
    layout = base_layout(title, _axis_title(metric), height)
    layout["hovermode"] = "closest"
    layout["xaxis"]["categoryorder"] = "array"
    layout["xaxis"]["categoryarray"] = periods
    layout["legend"] = {"orientation": "h", "x": 0, "xref": "container", "y": -0.2, "yanchor": "top",
                        "font": {"size": 12}}
    fmt = f".{metric.decimals}f"
    suffix = "%" if metric.unit is Unit.PERCENT else ""
    by_series: dict[str, list[dict]] = {}
    for r in records:
        by_series.setdefault(r["series"], []).append(r)
    symbols = ["circle", "square", "triangle-up", "diamond", "cross", "x", "star", "hexagon", "pentagon",
               "triangle-down", "hourglass", "bowtie", "circle-open", "square-open", "diamond-open"]
    traces = []
    others = [n for n in by_series if n != la_name]
    for i, name in enumerate(others + ([la_name] if la_name in by_series else [])):
        recs = by_series[name]
        own = name == la_name
        colour = PALETTE["la"] if own else SERIES_COLOURS[1 + i % 5]
        traces.append({"type": "scatter", "mode": "lines+markers", "name": hover_text(name),
                       "x": [r["period"] for r in recs], "y": [None if is_missing(r["value"]) else r["value"]
                                                                for r in recs],
                       "line": {"color": colour, "width": 4 if own else 1.5,
                                "dash": "solid" if own else ["dot", "dash", "dashdot", "longdash"][i % 4]},
                       "marker": {"size": 10 if own else 6, "color": colour,
                                  "symbol": "diamond" if own else symbols[i % len(symbols)]},
                       "hovertemplate": f"%{{y:{fmt}}}{suffix}<extra>{hover_text(name)}</extra>"})
    return {"data": traces, "layout": layout}


def small_multiples_figure(metric: Metric, data: pd.DataFrame, panels: list[str], title: str,
                           columns: int = 3) -> dict:
    """One small panel per category (same y scale), each with the same series in the same style:
    the authority, England, the region and the neighbour median. ``data``: category, series, period,
    period_end, value (dashboard.views.category_view)."""
    rows_n = max(1, -(-len(panels) // columns))
    height = 280 * rows_n + 120
    layout = base_layout(title, "", height)
    layout["hovermode"] = "closest"
    layout["margin"]["b"] = 80
    layout["legend"] = {"orientation": "h", "y": -0.08, "x": 0, "xref": "container", "yanchor": "top",
                        "font": {"size": 12}}
    records = sorted(data.to_dict("records"), key=lambda r: r["period_end"])
    periods = list(dict.fromkeys(r["period"] for r in records))
    values = [r["value"] for r in records if not is_missing(r["value"])]
    top = max(values) * 1.1 if values else 1
    series_names = list(dict.fromkeys(r["series"] for r in records))
    styles = {}
    for i, name in enumerate(series_names):
        colour = [PALETTE["la"], PALETTE["england"], PALETTE["region"], PALETTE["sn"]][i % 4] if i < 4 \
            else SERIES_COLOURS[i % 6]
        styles[name] = (colour, ["solid", "dot", "dash", "dashdot"][i % 4], 3 if i == 0 else 1.5)
    fmt = f".{metric.decimals}f"
    suffix = "%" if metric.unit is Unit.PERCENT else ""
    gap_x, gap_y = 0.06, (0.22 if rows_n > 1 else 0.0)
    # a short tick label: the year of a date label ("31 Mar 2013" -> "2013"), else the label itself
    ticks = [p.split()[-1] if len(p.split()) == 3 else p for p in periods]
    width = (1 - gap_x * (columns - 1)) / columns
    cell_h = (1 - gap_y * (rows_n - 1)) / rows_n
    traces, annotations = [], []
    for k, panel in enumerate(panels):
        row, col = divmod(k, columns)
        suffix_ax = "" if k == 0 else str(k + 1)
        x0 = col * (width + gap_x)
        y1 = 1 - row * (cell_h + gap_y)
        layout[f"xaxis{suffix_ax}"] = {"domain": [x0, x0 + width], "anchor": f"y{suffix_ax}", "type": "category",
                                       "categoryorder": "array", "categoryarray": periods, "showgrid": False,
                                       "tickmode": "array", "tickvals": periods, "ticktext": ticks,
                                       "tickangle": -45, "tickfont": {"size": 10}, "linecolor": "#505A5F"}
        layout[f"yaxis{suffix_ax}"] = {"domain": [y1 - cell_h, y1 - 0.04], "anchor": f"x{suffix_ax}",
                                       "range": [0, top], "gridcolor": "#E5E5E5", "tickfont": {"size": 10}}
        annotations.append({"text": f"<b>{hover_text(panel)}</b>", "xref": "paper", "yref": "paper", "x": x0,
                            "y": y1, "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                            "font": {"size": 13}})
        for name in series_names:
            recs = [r for r in records if r["category"] == panel and r["series"] == name]
            if not recs:
                continue
            colour, dash, w = styles[name]
            traces.append({"type": "scatter", "mode": "lines+markers", "name": hover_text(name),
                           "legendgroup": name, "showlegend": k == 0, "xaxis": f"x{suffix_ax}",
                           "yaxis": f"y{suffix_ax}", "x": [r["period"] for r in recs],
                           "y": [None if is_missing(r["value"]) else r["value"] for r in recs],
                           "line": {"color": colour, "dash": dash, "width": w},
                           "marker": {"size": 5 if w < 3 else 7, "color": colour},
                           "hovertemplate": f"{hover_text(panel)}, %{{x}}: %{{y:{fmt}}}{suffix}"
                                            f"<extra>{hover_text(name)}</extra>"})
    layout["annotations"] = annotations
    layout.pop("xaxis_title", None)
    return {"data": traces, "layout": layout}


# --------------------------------------------------------------------------- monthly demand


def flow_figure(steps: list[str], current: list[float | None], previous: list[float | None], title: str,
                current_name: str, previous_name: str) -> dict:
    """The flow from contact to plan: two bars per step, this window and the one before."""
    labels = [wrap_label(s) for s in steps]
    layout = base_layout(title, "number")
    layout["barmode"] = "group"
    return {"data": [
        {"type": "bar", "name": previous_name, "x": labels, "y": previous, "marker": {"color": "#A0B8D0"},
         "hovertemplate": "%{y:,.0f}<extra>" + previous_name + "</extra>"},
        {"type": "bar", "name": current_name, "x": labels, "y": current, "marker": {"color": "#12436D"},
         "hovertemplate": "%{y:,.0f}<extra>" + current_name + "</extra>"},
    ], "layout": layout}


def conversion_figure(steps: list[str], series: list[tuple[str, list[float | None]]], title: str) -> dict:
    """Conversion rates of the flow (per 100 of the step before): one bar per source for each step
    (the authority's months, its published year, England, the neighbours' median), each named in the
    legend and in the hover label, and patterned as well as coloured. Horizontal, so each step's long name
    has a row of its own at any width (a column chart's labels overlap at 320 px)."""
    layout = base_layout(title, "")
    layout["hovermode"] = "closest"
    layout["barmode"] = "group"
    layout["xaxis"] = {"title": {"text": "per 100 of the step before"}, "gridcolor": "#E5E5E5",
                       "rangemode": "tozero", "automargin": True}
    layout["yaxis"] = {"type": "category", "autorange": "reversed", "automargin": True, **category_ticks(steps)}
    layout["margin"]["l"] = 8
    layout["height"] = max(340, 130 + 16 * len(steps) * max(len(series), 1))
    colours = ("#12436D", "#28A197", "#801650", "#F46A25")
    patterns = ("", "/", ".", "x")
    return {"data": [
        {"type": "bar", "orientation": "h", "name": name, "y": list(steps), "x": ys,
         "marker": {"color": colours[i % 4], "pattern": {"shape": patterns[i % 4]}},
         "hovertemplate": "%{y}: %{x:,.1f}<extra>" + name + "</extra>"} for i, (name, ys) in enumerate(series)
    ], "layout": layout}


def projection_figure(title: str, y_title: str, observed: list[tuple[str, float | None]],
                      projected: list[dict], decimals: int = 0, target: float | None = None,
                      observed_name: str = "Recorded") -> dict:
    """A monthly series and its projection: the point line with its 95% and 80% bands.

    ``observed``: (month label, value); ``projected``: dicts with ``label``, ``point``, ``lower_80``,
    ``upper_80``, ``lower_95``, ``upper_95``. A dashed line marks ``target`` when given."""
    fmt = f",.{decimals}f"
    data: list[dict] = []
    if projected:
        xs = [p["label"] for p in projected]
        for level, colour in (("95", "rgba(40,161,151,0.15)"), ("80", "rgba(40,161,151,0.30)")):
            data.append({"type": "scatter", "mode": "lines", "x": xs, "y": [p[f"upper_{level}"] for p in projected],
                         "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip", "name": f"{level}% upper"})
            data.append({"type": "scatter", "mode": "lines", "x": xs, "y": [p[f"lower_{level}"] for p in projected],
                         "line": {"width": 0}, "fill": "tonexty", "fillcolor": colour,
                         "name": f"{level}% prediction interval",
                         "hovertemplate": f"%{{y:{fmt}}}<extra>{level}% lower</extra>"})
    data.append({"type": "scatter", "mode": "lines+markers", "name": observed_name,
                 "x": [label for label, _ in observed], "y": [v for _, v in observed],
                 "line": {"color": "#12436D", "width": 2}, "marker": {"size": 5},
                 "hovertemplate": f"%{{y:{fmt}}}<extra>{observed_name}</extra>"})
    if projected:
        data.append({"type": "scatter", "mode": "lines", "name": "Projection",
                     "x": [p["label"] for p in projected], "y": [p["point"] for p in projected],
                     "line": {"color": "#28A197", "width": 2, "dash": "dot"},
                     "hovertemplate": f"%{{y:{fmt}}}<extra>Projection</extra>"})
    layout = base_layout(title, y_title, height=320)
    if target is not None:
        xs = [label for label, _ in observed] + [p["label"] for p in projected]
        data.append({"type": "scatter", "mode": "lines", "name": f"Target {target:g}", "x": xs,
                     "y": [target] * len(xs), "line": {"color": "#D4351C", "width": 1.5, "dash": "dash"},
                     "hoverinfo": "skip"})
    return {"data": data, "layout": layout}


def spc_figure(metric: Metric, result, labels: dict, title: str, *, target: float | None = None,
               styles: dict, trial_label: str) -> dict:
    """An XmR (SPC) chart from a :class:`dashboard.analysis.spc.SpcResult`: the values as a line, each
    point marked by its class with a shape and a colour (``styles``: point type -> (symbol, colour,
    legend words)), the centre line, the process limits (named ``trial_label`` when they are trial
    limits), the near limits (off until chosen in the legend) and the target. Limit groups are drawn
    apart, with a gap where the limits were rebased."""
    layout = base_layout(title, _axis_title(metric))
    layout["hovermode"] = "closest"
    layout["yaxis"]["rangemode"] = "normal"
    points = list(result.points)
    xs = [labels.get(p.period, str(p.period)) for p in points]
    layout["xaxis"]["categoryorder"] = "array"
    layout["xaxis"]["categoryarray"] = xs
    fmt = f".{metric.decimals}f"
    suffix = "%" if metric.unit is Unit.PERCENT else ""
    traces: list[dict] = [{
        "type": "scatter", "mode": "lines", "name": "Values", "x": xs, "y": [p.value for p in points],
        "line": {"color": "#B1B4B6", "width": 2}, "hoverinfo": "skip", "showlegend": False,
    }]

    def stepped(attr: str) -> tuple[list, list]:
        x, y = [], []
        for g in result.groups:
            for p in points[g.start:g.end + 1]:
                x.append(labels.get(p.period, str(p.period)))
                y.append(getattr(p, attr))
            x.append(x[-1])
            y.append(None)  # a gap between limit groups
        return x, y

    all_trial = all(g.trial for g in result.groups)
    has_limits = any(g.lower_limit is not None for g in result.groups)
    x, y = stepped("mean")
    traces.append({"type": "scatter", "mode": "lines", "name": "Centre line (mean)", "x": x, "y": y,
                   "line": {"color": "#0B0C0C", "width": 2},
                   "hovertemplate": f"Mean %{{y:{fmt}}}{suffix}<extra></extra>"})
    if has_limits:
        name = trial_label if all_trial else "Process limits"
        for i, attr in enumerate(("upper_limit", "lower_limit")):
            x, y = stepped(attr)
            traces.append({"type": "scatter", "mode": "lines", "name": name, "legendgroup": "limits",
                           "showlegend": i == 0, "x": x, "y": y,
                           "line": {"color": "#3D3D3D", "width": 2, "dash": "dash" if not all_trial else "dot"},
                           "hovertemplate": f"{'Upper' if i == 0 else 'Lower'} limit %{{y:{fmt}}}{suffix}"
                                            "<extra></extra>"})
        for i, attr in enumerate(("near_upper", "near_lower")):
            x, y = stepped(attr)
            traces.append({"type": "scatter", "mode": "lines", "name": "Near limits (two thirds of the way)",
                           "legendgroup": "near", "showlegend": i == 0, "visible": "legendonly", "x": x, "y": y,
                           "line": {"color": "#6F777B", "width": 1, "dash": "dot"}, "hoverinfo": "skip"})
    if target is not None:
        traces.append({"type": "scatter", "mode": "lines", "name": "Target", "x": [xs[0], xs[-1]],
                       "y": [target, target], "line": {"color": PALETTE["target"], "width": 2, "dash": "longdash"},
                       "hovertemplate": f"Target %{{y:{fmt}}}{suffix}<extra></extra>"})
    for point_type, (symbol, colour, words) in styles.items():
        mine = [(x_, p) for x_, p in zip(xs, points) if p.point_type == point_type]
        if not mine:
            continue
        traces.append({"type": "scatter", "mode": "markers", "name": words, "x": [x_ for x_, _ in mine],
                       "y": [p.value for _, p in mine],
                       "marker": {"size": 11, "color": colour, "symbol": symbol,
                                  "line": {"color": "#FFFFFF", "width": 1}},
                       "customdata": [[p.words] for _, p in mine],
                       "hovertemplate": f"%{{x}}: %{{y:{fmt}}}{suffix}<br>%{{customdata[0]}}<extra></extra>"})
    layout["legend"] = {"orientation": "h", "y": -0.22, "x": 0}
    layout["margin"]["b"] = 90
    return {"data": traces, "layout": layout}
def _plain(text) -> str:
    import re

    return re.sub(r"<[^>]+>", " ", str(text or "")).replace("  ", " ").strip()


def _num(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def figure_summary(figure: dict, limit: int = 6) -> str:
    """A sentence or two saying what a figure shows, from its traces alone: for each series over categories
    (periods, authorities) its first and last value, its lowest and highest; for bars the highest and the
    lowest. The text equivalent that sits beside every chart, with its table for the detail."""
    def numeric(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and not pd.isna(v)

    parts = []
    traces = [t for t in figure.get("data", []) if t.get("x") is not None and t.get("y") is not None]
    for t in traces[:limit]:
        xs, ys = list(t["x"]), list(t["y"])
        cats, vals = (ys, xs) if t.get("orientation") == "h" else (xs, ys)
        pairs = [(_plain(c), float(v)) for c, v in zip(cats, vals) if numeric(v)]
        if not pairs:
            continue
        name = _plain(t.get("name")) or "Values"
        lo, hi = min(pairs, key=lambda p: p[1]), max(pairs, key=lambda p: p[1])
        if len(pairs) == 1:
            parts.append(f"{name}: {_num(pairs[0][1])} ({pairs[0][0]})")
        elif t.get("type") == "bar":
            parts.append(f"{name}: highest {hi[0]} ({_num(hi[1])}), lowest {lo[0]} ({_num(lo[1])}), "
                         f"{len(pairs)} bars")
        else:
            parts.append(f"{name}: {_num(pairs[0][1])} in {pairs[0][0]} and {_num(pairs[-1][1])} in {pairs[-1][0]}; "
                         f"lowest {_num(lo[1])} ({lo[0]}), highest {_num(hi[1])} ({hi[0]})")
    more = len(traces) - limit
    title = _plain((figure.get("layout", {}).get("title") or {}).get("text"))
    if not parts:
        return f"{title}: no values to show." if title else "No values to show."
    return (f"{title}. " if title else "") + "; ".join(parts) + (f"; and {more} more series" if more > 0 else "") \
        + ". The table has every value."


def json_for_script(value) -> str:
    """JSON for a <script type="application/json"> block: ``<``, ``>`` and ``&`` as JSON's unicode escapes,
    so no text in a figure (a metric title, an authority's name) can close the element. Used by the meeting
    pack's page and by the first screen of every page (``web.prerender``)."""
    from plotly.utils import PlotlyJSONEncoder

    text = json.dumps(value, cls=PlotlyJSONEncoder, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
