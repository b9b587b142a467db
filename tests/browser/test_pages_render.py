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

import contextlib
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import yaml
from dash.testing.application_runners import ThreadedRunner
from dash.testing.composite import DashComposite
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import select

from dashboard import store
from dashboard.config import load_settings
from tests.conftest import ROLE_PASSWORD, ensure_user

REGISTRY = yaml.safe_load(load_settings().registry_path.read_text(encoding="utf-8"))
METRIC_TITLES = {m["id"]: m["title"] for m in REGISTRY["metrics"]}
TOPIC_TITLES = {t["id"]: t["title"] for t in REGISTRY["topics"]}

UNKNOWN_PATH = "/no/such/page"
WAIT = 15


# --------------------------------------------------------------------------- one browser per module


def sign_in_if_required(duo: DashComposite, app) -> None:
    """Sign the browser in through the product's form as a viewer, when the app has one."""
    if "login" not in app.server.view_functions:
        return
    engine = app.server.config["DASHBOARD_MANAGER"].engine
    name = ensure_user(engine, "viewer")
    duo.driver.get(urljoin(duo.server.url, "/login"))
    duo.wait_for_element("#username").send_keys(name)
    duo.find_element("#password").send_keys(ROLE_PASSWORD)
    duo.find_element("form.signin button[type=submit]").click()
    WebDriverWait(duo.driver, WAIT).until(lambda d: "/login" not in d.current_url)


@pytest.fixture(scope="module")
def _module_browser():
    """Holds the module's server and browser; they start on first use and stop with the module."""
    with contextlib.ExitStack() as stack:
        yield {"stack": stack}


@pytest.fixture
def dash_duo(_require_browser, _module_browser, request, built_db, product_app, tmp_path_factory):
    """dash.testing's composite (server + Chromium), shared by every test in the module.

    Starting it here rather than at module scope lets the harness skip the test first when
    Chromium is missing. Logs from earlier tests are drained so ``get_logs`` is per test.
    """
    if "broken" in _module_browser:
        pytest.fail(_module_browser["broken"], pytrace=False)
    duo = _module_browser.get("duo")
    if duo is None:
        stack, opt = _module_browser["stack"], request.config.getoption
        server = stack.enter_context(ThreadedRunner())
        duo = stack.enter_context(DashComposite(
            server=server, browser=opt("webdriver"), remote=opt("remote"), remote_url=opt("remote_url"),
            headless=opt("headless"), options=request.config.hook.pytest_setup_options(),
            download_path=str(tmp_path_factory.mktemp("download")), percy_assets_root=opt("percy_assets"),
            percy_finalize=opt("nopercyfinalize"), pause=opt("pause"),
        ))
        duo.start_server(product_app, navigate=False)
        sign_in_if_required(duo, product_app)
        duo.server_url = server.url  # opens "/" and waits for the Dash renderer
        try:  # the renderer must draw a page, or every test would wait out its timeout
            duo.wait_for_element("#page-heading", timeout=30)
        except TimeoutException:
            _module_browser["broken"] = (
                f"the app at {server.url} never rendered a page; console: "
                f"{[e['message'] for e in duo.get_logs() or []]}")
            pytest.fail(_module_browser["broken"], pytrace=False)
        _module_browser["duo"] = duo
    duo.driver.get_log("browser")
    return duo


# --------------------------------------------------------------------------- helpers


def console_errors(duo: DashComposite) -> list[dict]:
    """SEVERE browser log entries since the last call."""
    return duo.get_logs() or []


def wait_until(duo: DashComposite, probe, describe: str, timeout: float = WAIT):
    """Poll ``probe()``, which returns ``(done, value)``, until done; return the value or fail
    with the last value seen."""
    last = {}

    def check(_driver):
        done, last["value"] = probe()
        return done

    try:
        WebDriverWait(duo.driver, timeout).until(check)
    except TimeoutException:
        pytest.fail(f"timed out waiting for {describe}; last seen: {last.get('value')!r}")
    return last["value"]


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


def wait_for_callbacks(duo: DashComposite) -> None:
    def idle():
        pending = duo.redux_state_rqs if duo.window_store else []
        return pending == [], pending

    wait_until(duo, idle, "Dash callbacks to finish")


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
        pytest.param(UNKNOWN_PATH, "Page not found", None, id="unknown-path"),
        pytest.param("/?la=202", "Performance scorecard", "202", id="overview-la-202"),
        pytest.param("/metric/cp_rate_31mar?la=908&cmp=england,region,sn", METRIC_TITLES["cp_rate_31mar"], "908",
                     id="metric-la-908-all-comparators"),
    ]
)


def open_page(duo: DashComposite, path: str, heading: str) -> None:
    """Load ``path`` and wait for its heading; on timeout, fail with what the browser logged."""
    duo.driver.get(urljoin(duo.server_url, path))
    try:
        duo.wait_for_text_to_equal("#page-heading", heading, timeout=WAIT)
    except TimeoutException as exc:
        pytest.fail(f"{path}: {exc.msg}; console: {[e['message'] for e in duo.get_logs() or []]}")


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
    if path.startswith("/topic/"):
        assert graphs, "a topic page draws at least one chart"

    if path != UNKNOWN_PATH:  # see test_unknown_path_shows_as_at
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


def test_unknown_path_shows_as_at(dash_duo):
    open_page(dash_duo, UNKNOWN_PATH, "Page not found")
    assert dash_duo.find_element("#as-at").is_displayed()


def test_topic_page_element_ids_are_unique(dash_duo):
    open_page(dash_duo, "/topic/child_protection", TOPIC_TITLES["child_protection"])
    wait_for_charts(dash_duo)
    ids = dash_duo.driver.execute_script("return [...document.querySelectorAll('[id]')].map(e => e.id)")
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
