"""The browser floors: a static HTML page with 12 Plotly line charts, and each page saved as static
HTML (``bench_pages``, files in ``$BENCH_FLOOR_DIR`` served at ``/floor/<name>``), served like the product.

Rules:
- Same plotly.js as the product (the one ``assets/plotly-*.min.js`` bundle), the same two
  stylesheets, and charts of the same shape as a trend chart (four lines with markers over ten
  categorical periods, 320 px high, no template); no Dash, no callbacks. The page heading has
  the product's id (``page-heading``) so the same "all charts drawn" test applies.
- Served by a tiny Flask app (``server``) under gunicorn with the product's ``gunicorn.conf.py``,
  with assets sent the way Dash sends them (``send_from_directory``), so both sides pay the same
  server, headers and caching.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, Response, abort, send_from_directory

from dashboard.config import ROOT
from dashboard.web.speed import install_compression

ASSETS = ROOT / "assets"
N_CHARTS = 12
PERIODS = [f"{y}-{str(y + 1)[2:]}" for y in range(2015, 2025)]
COLOURS = ["#12436D", "#3D3D3D", "#28A197", "#801650"]


def plotly_bundle_name() -> str:
    """File name of the plotly.js bundle in ``assets/`` (exactly one is expected)."""
    found = sorted(p.name for p in ASSETS.glob("plotly-*.min.js"))
    if len(found) != 1:
        raise RuntimeError(f"expected one assets/plotly-*.min.js, found {found}")
    return found[0]


def stylesheets() -> list[str]:
    return sorted(p.name for p in ASSETS.glob("*.css"))


def chart(i: int) -> dict:
    """A trend-shaped figure: four series over ten periods, values that differ per chart."""
    traces = []
    for s in range(4):
        y = [round(40 + 10 * s + ((i * 7 + s * 3 + k * 5) % 17) - 8, 1) for k in range(len(PERIODS))]
        traces.append({"type": "scatter", "mode": "lines+markers", "name": f"Series {s + 1}", "x": PERIODS, "y": y,
                       "line": {"color": COLOURS[s], "width": 3 if s == 0 else 2},
                       "marker": {"size": 11 if s == 0 else 6}})
    layout = {"title": {"text": f"Chart {i + 1}", "x": 0, "xanchor": "left"}, "height": 320,
              "margin": {"l": 56, "r": 16, "t": 56, "b": 48}, "hovermode": "x unified",
              "legend": {"orientation": "h", "y": -0.18, "x": 0},
              "xaxis": {"type": "category"}, "yaxis": {"rangemode": "tozero"}}
    return {"data": traces, "layout": layout}


def page_html() -> str:
    figures = [chart(i) for i in range(N_CHARTS)]
    links = "".join(f'<link rel="stylesheet" href="/assets/{name}">' for name in stylesheets())
    divs = "".join(f'<figure class="chart-card"><div id="chart-{i}" class="chart"></div></figure>'
                   for i in range(N_CHARTS))
    script = ("var FIGS = " + json.dumps(figures) + ";\n"
              "FIGS.forEach(function (f, i) {\n"
              "  Plotly.newPlot('chart-' + i, f.data, f.layout, {displaylogo: false, responsive: true});\n"
              "});")
    return ("<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Floor: {N_CHARTS} Plotly charts</title>{links}</head><body>"
            "<main class=\"container-xl\"><h1 id=\"page-heading\">Floor</h1>"
            f"{divs}</main><script src=\"/assets/{plotly_bundle_name()}\"></script>"
            f"<script>{script}</script></body></html>")


server = Flask(__name__)
_PAGE = page_html()


@server.get("/")
def index() -> Response:
    return Response(_PAGE, mimetype="text/html")


@server.get("/assets/<path:name>")
def assets(name: str):
    return send_from_directory(ASSETS, name)


@server.get("/floor/<name>")
def saved_page(name: str) -> Response:
    """A page saved as static HTML; no-store, like the product's pages."""
    folder = os.environ.get("BENCH_FLOOR_DIR")
    path = Path(folder) / name if folder else None
    if path is None or not name.endswith(".html") or "/" in name or not path.is_file():
        abort(404)
    resp = Response(path.read_bytes(), mimetype="text/html")
    resp.headers["Cache-Control"] = "no-store"
    return resp


# Compression and caching of static files as the product does them (brotli or gzip; a stamped file
# cached for a year), so both sides of a ratio pay the same for plotly.js and the stylesheets.
install_compression(server, {"assets": "assets"})


@server.get("/ping")
def ping() -> Response:
    return Response("ok", mimetype="text/plain")


@server.get("/favicon.ico")
def favicon() -> Response:
    return Response(status=204)
