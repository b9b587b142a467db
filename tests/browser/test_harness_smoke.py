"""The browser harness works: a tiny Dash app (not the product) runs in headless Chromium.

The second test checks how charts get plotly.js: dcc.Graph uses ``window.Plotly`` when a
script has already defined it, so the partial bundle in ``assets/`` (loaded by Dash as a
plain <script> before the renderer) replaces the full plotly.js that Dash would otherwise
fetch on demand from ``_dash-component-suites/plotly/package_data/plotly.min.js``.
"""
from __future__ import annotations

import dash
from dash import Input, Output, dcc, html
from plotly.offline import get_plotlyjs_version

from dashboard.config import ROOT

FULL_BUNDLE_PATH = "/plotly/package_data/plotly.min.js"


def test_click_runs_callback_without_console_errors(dash_duo):
    app = dash.Dash(__name__)
    app.layout = html.Div(
        [
            html.Button("Add one", id="add", n_clicks=0),
            html.Div(id="count"),
        ]
    )

    @app.callback(Output("count", "children"), Input("add", "n_clicks"))
    def show_count(n_clicks):
        return f"clicked {n_clicks} times"

    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#count", "clicked 0 times")

    dash_duo.find_element("#add").click()
    dash_duo.wait_for_text_to_equal("#count", "clicked 1 times")
    dash_duo.find_element("#add").click()
    dash_duo.wait_for_text_to_equal("#count", "clicked 2 times")

    assert dash_duo.get_logs() == []


def test_partial_bundle_from_assets_replaces_full_plotly(dash_duo, resource_urls):
    app = dash.Dash(__name__, assets_folder=str(ROOT / "assets"))
    app.layout = html.Div(
        dcc.Graph(
            id="chart",
            figure={
                "data": [
                    {"type": "bar", "x": ["a", "b", "c"], "y": [3, 1, 2]},
                    {"type": "scatter", "mode": "lines+markers", "x": ["a", "b", "c"], "y": [2, 2, 3]},
                ],
                "layout": {"title": {"text": "bundle check"}},
            },
        )
    )

    dash_duo.start_server(app)
    dash_duo.wait_for_element("#chart .main-svg .barlayer .trace .point")
    dash_duo.wait_for_element("#chart .main-svg .scatterlayer .trace .js-line")

    urls = resource_urls()
    expected_version = get_plotlyjs_version()
    assert any(f"/assets/plotly-basic-{expected_version}.min.js" in url for url in urls), urls
    assert not any(FULL_BUNDLE_PATH in url for url in urls), (
        "the full plotly.js bundle was downloaded as well as the partial one", urls
    )
    assert dash_duo.driver.execute_script("return window.Plotly.version") == expected_version
    assert dash_duo.get_logs() == []
