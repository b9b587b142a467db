"""Every page of the product app renders in headless Chromium without console errors.

One server and one browser serve the whole module: pages are visited with ``driver.get``.
For each page the test waits for ``#page-heading``, then checks the document title (set by a
clientside callback from the default app title to "<heading> - <app title>"), the
``html[lang=en-GB]`` attribute, that every Plotly chart has drawn its SVG, that the
"Data as at" line is shown, and that the browser logged no SEVERE message.

Expected headings, metric ids and topic ids come from ``data/metrics.yaml`` read as plain
YAML, and authority names from the built store, not from the page code.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import yaml
from dash.testing.composite import DashComposite
from sqlalchemy import select

from dashboard import store
from dashboard.config import load_settings

REGISTRY = yaml.safe_load(load_settings().registry_path.read_text(encoding="utf-8"))
METRIC_TITLES = {m["id"]: m["title"] for m in REGISTRY["metrics"]}
TOPIC_TITLES = {t["id"]: t["title"] for t in REGISTRY["topics"]}

UNKNOWN_PATH = "/no/such/page"


# --------------------------------------------------------------------------- one browser per module


from tests.browser.conftest import WAIT, console_errors, open_page, wait_for_callbacks, wait_until  # noqa: E402,F401  - shared helpers


@pytest.fixture
def dash_duo(product_duo):
    """The module's shared server and browser (tests/browser/conftest.py)."""
    return product_duo

# --------------------------------------------------------------------------- helpers


GRAPH_STATE_JS = """
return [...document.querySelectorAll('.dash-graph')].map(g => ({
    id: g.id,
    plot: !!g.querySelector('.js-plotly-plot'),
    svg: !!g.querySelector('.js-plotly-plot svg.main-svg'),
}));
"""


def wait_for_charts(duo: DashComposite) -> list[dict]:
    """Wait until every dcc.Graph on the page holds a Plotly plot that has drawn its SVG."""
    def drawn():
        graphs = duo.driver.execute_script(GRAPH_STATE_JS)
        return all(g["plot"] and g["svg"] for g in graphs), graphs

    graphs = wait_until(duo, drawn, "every chart to draw")
    plots = duo.driver.execute_script(
        "return [...document.querySelectorAll('.js-plotly-plot')]"
        ".map(p => p.querySelectorAll('svg.main-svg').length)")
    assert len(plots) == len(graphs) and all(n > 0 for n in plots), plots
    return graphs


def area_name(settings, old_code: str) -> str:
    engine = store.get_engine(settings.database_url)
    with engine.connect() as conn:
        name = conn.execute(select(store.Area.name).where(store.Area.old_code == old_code)).scalar()
    assert name, f"no area with DfE code {old_code} in the store"
    return name


# --------------------------------------------------------------------------- the pages


PAGES = (
    [pytest.param("/", "Performance scorecard", None, id="overview")]
    + [pytest.param(f"/metric/{mid}", title, None, id=f"metric-{mid}") for mid, title in METRIC_TITLES.items()]
    + [pytest.param(f"/topic/{tid}", title, None, id=f"topic-{tid}") for tid, title in TOPIC_TITLES.items()]
    + [
        pytest.param("/about", "About the data", None, id="about"),
        pytest.param("/?la=202", "Performance scorecard", "202", id="overview-la-202"),
        pytest.param("/metric/cp_rate_31mar?la=908&cmp=england,region,sn", METRIC_TITLES["cp_rate_31mar"], "908",
                     id="metric-la-908-all-comparators"),
        pytest.param("/compare/cp_rate_31mar", f"Compare authorities: {METRIC_TITLES['cp_rate_31mar']}", None,
                     id="compare-default"),
        pytest.param("/compare/icpc_15_days_pct?la=202&with=201,203", "Compare authorities: "
                     + METRIC_TITLES["icpc_15_days_pct"], "202", id="compare-la-202-chosen"),
        pytest.param("/search?q=neglect", "Search metrics", None, id="search"),
        pytest.param("/demand", "Demand pressures (monthly)", None, id="demand"),
    ]
)


@pytest.mark.parametrize(("path", "heading", "authority"), PAGES)
def test_page_renders(dash_duo, product_app, built_db, path, heading, authority):
    duo = dash_duo
    open_page(duo, path, heading)

    default_title = product_app.title
    expected_title = f"{heading} - {default_title}"
    wait_until(duo, lambda: (duo.driver.title == expected_title, duo.driver.title),
               f"document title {expected_title!r}")
    assert duo.driver.title != default_title

    assert duo.driver.execute_script("return document.documentElement.getAttribute('lang')") == "en-GB"

    graphs = wait_for_charts(duo)
    if path.startswith("/metric/"):
        assert "metric-graph" in [g["id"] for g in graphs]
    if path.startswith("/compare/"):
        assert "compare-graph" in [g["id"] for g in graphs]
    if path.startswith("/topic/"):
        assert graphs, "a topic page draws at least one chart"

    as_at = duo.find_element("#as-at")
    assert as_at.is_displayed()
    assert as_at.text.startswith("Data as at:"), as_at.text

    if authority is not None:  # the authority named in the query, not the configured one
        name = area_name(built_db, authority)
        line = duo.find_element(".authority-line").text
        assert line.startswith(name) and f"({authority}," in line, line
        assert duo.find_element("#la-select").text.startswith(name)

    if "cmp=" in path:
        ticked = duo.driver.execute_script(
            "return [...document.querySelectorAll('#cmp-toggle input:checked')].map(i => i.value)")
        assert sorted(ticked) == sorted(parse_qs(urlsplit(path).query)["cmp"][0].split(","))

    wait_for_callbacks(duo)
    assert console_errors(duo) == []


# Watches the first screen from the moment the document starts: whether it was there, inert and hidden from
# assistive technology, how many of its charts plotly.js had drawn, how many charts the live page had then.
FIRST_SCREEN_PROBE = """(function () {
  var s = window.__firstScreen = {seen: false, inert: true, drawn: 0, liveChartsWhenDrawn: null, gone: false};
  var started = Date.now();
  (function check() {
    var cover = document.getElementById('first-screen');
    if (cover) {
      s.seen = true;
      s.inert = s.inert && cover.hasAttribute('inert') && cover.getAttribute('aria-hidden') === 'true';
      var drawn = cover.querySelectorAll('.js-plotly-plot .main-svg').length ? cover.querySelectorAll('.js-plotly-plot').length : 0;
      if (drawn && s.liveChartsWhenDrawn === null) {
        s.liveChartsWhenDrawn = document.getElementById('react-entry-point').querySelectorAll('.js-plotly-plot').length;
      }
      s.drawn = Math.max(s.drawn, drawn);
    } else if (s.seen) { s.gone = true; return; }
    if (Date.now() - started < 60000) { setTimeout(check, 2); }
  })();
})();"""


def test_the_first_screen_draws_its_charts_before_the_live_page_then_gives_way(dash_duo):
    """The page as sent is drawn at once, charts included, by plotly.js, over the live page; it is inert while
    there, and gone once Dash has drawn the live page, leaving one copy of every element."""
    duo = dash_duo
    probe = duo.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FIRST_SCREEN_PROBE})
    try:
        open_page(duo, "/metric/cp_rate_31mar", METRIC_TITLES["cp_rate_31mar"])
        graphs = wait_for_charts(duo)
        seen = duo.driver.execute_script("return window.__firstScreen")
    finally:
        duo.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": probe["identifier"]})
    assert seen["seen"] and seen["inert"] and seen["gone"], seen
    assert seen["drawn"] >= 1 and seen["liveChartsWhenDrawn"] == 0, seen
    assert "metric-graph" in [g["id"] for g in graphs]
    counts = duo.driver.execute_script(
        "return {headings: document.querySelectorAll('[id=page-heading]').length,"
        " graphs: document.querySelectorAll('[id=metric-graph]').length,"
        " cover: document.querySelectorAll('#first-screen, .first-plot').length}")
    assert counts == {"headings": 1, "graphs": 1, "cover": 0}
    assert console_errors(duo) == []


def test_accessibility_statement_renders(dash_duo, product_app):
    """The statement must be readable before signing in, so an app with sign-in serves it as a
    plain server page outside Dash: its <h1> is the heading and there is no "Data as at" line.
    Title, language, skip link and a clean console are required either way."""
    duo = dash_duo
    heading = "Accessibility statement"
    duo.driver.get(urljoin(duo.server_url, "/accessibility"))
    dash_page = "accessibility" not in product_app.server.view_functions
    duo.wait_for_text_to_equal("#page-heading" if dash_page else "main h1", heading, timeout=WAIT)
    expected_title = f"{heading} - {product_app.title}"
    wait_until(duo, lambda: (duo.driver.title == expected_title, duo.driver.title),
               f"document title {expected_title!r}")
    assert duo.driver.execute_script("return document.documentElement.getAttribute('lang')") == "en-GB"
    assert duo.find_element("a.skip-link").get_attribute("href").endswith("#main")
    assert "WCAG" in duo.find_element("main").text
    if dash_page:
        assert duo.find_element("#as-at").is_displayed()
        wait_for_callbacks(duo)
    assert console_errors(duo) == []


def test_unknown_path_is_an_accessible_404_page(dash_duo, product_app):
    """A path that names no page is answered 404 by the server, before the app shell: a plain page
    with its heading, title, language, skip link and a way back, and nothing else in the console."""
    duo = dash_duo
    duo.driver.get(urljoin(duo.server_url, UNKNOWN_PATH))
    duo.wait_for_text_to_equal("#page-heading", "Page not found", timeout=WAIT)
    assert duo.driver.title == f"Page not found - {product_app.title}"
    assert duo.driver.execute_script("return document.documentElement.getAttribute('lang')") == "en-GB"
    assert duo.find_element("a.skip-link").get_attribute("href").endswith("#main")
    assert duo.find_element("main a[href='/']").is_displayed()
    assert [e for e in console_errors(duo) if "status of 404" not in str(e.get("message", e))] == []


def test_topic_page_element_ids_are_unique(dash_duo):
    open_page(dash_duo, "/topic/child_protection", TOPIC_TITLES["child_protection"])
    wait_for_charts(dash_duo)
    ids = dash_duo.driver.execute_script("return [...document.querySelectorAll('[id]')].map(e => e.id)")
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
