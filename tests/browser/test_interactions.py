"""What a reader does in the browser: filter the scorecard, switch comparators and the
statistical-neighbour model, open a chart's table, download its CSV, change authority, move by
keyboard, open a RAG rule, and read the overview at 320 px wide.

One server and one browser serve the whole module. Expected values come from outside the page
code: the scorecard from ``dashboard.views.scorecard`` for the same URL state, names from the
built store, titles from ``data/metrics.yaml``, and chart points from the figure the browser drew.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
import yaml
from dash.testing.composite import DashComposite
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sqlalchemy import select

from dashboard import store
from dashboard.config import load_settings
from dashboard.data import DataManager
from dashboard.state import SN_MODELS, parse_query
from dashboard.views import make_context, scorecard

REGISTRY = yaml.safe_load(load_settings().registry_path.read_text(encoding="utf-8"))
METRIC_TITLES = {m["id"]: m["title"] for m in REGISTRY["metrics"]}
TOPIC_TITLES = {t["id"]: t["title"] for t in REGISTRY["topics"]}
OVERVIEW_HEADING = "Performance scorecard"

REFLOW_WIDTH = 320
REFLOW_TOLERANCE = 2  # px: sub-pixel rounding only

# The comparator callback listens to the cell chooser too, which a metric page hides when
# the authority has only one cell: check a page of each kind.
COMPARATOR_PAGES = ["cp_rate_31mar", "lac_new_placements_20_miles"]


# --------------------------------------------------------------------------- one browser per module


# --------------------------------------------------------------------------- expectations


@pytest.fixture(scope="module")
def manager(built_db) -> DataManager:
    return DataManager(built_db)


def python_scorecard(manager: DataManager, search: str = ""):
    """dashboard.views.scorecard for a URL query, in the staff (unsuppressed) view a viewer gets."""
    topics = tuple(t.id for t in manager.registry.topics)
    ctx = make_context(manager.snapshot(), manager.registry, parse_query(search, topics), manager.settings.la_code)
    return scorecard(ctx)


def store_area(settings, **where) -> dict:
    """One area row from the built store, e.g. ``store_area(s, name="Camden", level="la")``."""
    engine = store.get_engine(settings.database_url)
    query = select(store.Area).where(*(getattr(store.Area, k) == v for k, v in where.items()))
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    assert row, f"no area {where} in the store"
    return dict(row)


def home_area(settings) -> dict:
    code = settings.la_code
    return store_area(settings, **({"code": code} if code.upper().startswith("E") else {"old_code": code}))


from tests.browser.conftest import WAIT, WINDOW, console_errors, wait_for_callbacks, wait_until  # noqa: E402
from tests.browser.conftest import open_page as shared_open_page  # noqa: E402,F401  - shared helpers


@pytest.fixture
def dash_duo(product_duo):
    """The module's shared server and browser (tests/browser/conftest.py)."""
    return product_duo


# --------------------------------------------------------------------------- browser helpers


def open_page(duo: DashComposite, path: str, heading: str) -> None:
    """Load ``path``, wait for its heading and for the callbacks the load starts."""
    shared_open_page(duo, path, heading, settle=True)


def query(duo: DashComposite) -> dict[str, list[str]]:
    return parse_qs(urlsplit(duo.driver.current_url).query)


def click(duo: DashComposite, element) -> None:
    """Scroll ``element`` to the middle of the window and click it. The scroll is instant:
    Bootstrap's reboot sets ``scroll-behavior: smooth``, and a click during the animation lands
    off screen."""
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    element.click()


def tick(duo: DashComposite, container: str, label: str) -> None:
    """Click the option labelled ``label`` of a dcc.Checklist or dcc.RadioItems."""
    options = duo.find_elements(f"{container} label")
    matches = [o for o in options if o.text.strip() == label]
    assert len(matches) == 1, [o.text for o in options]
    click(duo, matches[0])


def checked_values(duo: DashComposite, container: str) -> list[str]:
    return duo.driver.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' input:checked')].map(i => i.value)", container)


def press(duo: DashComposite, *keys) -> None:
    ActionChains(duo.driver).send_keys(*keys).perform()


ACTIVE_OPTION_JS = """
const a = document.activeElement;
return a && a.matches('.dash-dropdown-content input[type=radio]') ? a.value : null;
"""


def choose_with_keyboard(duo: DashComposite, dropdown_id: str, value: str, search: str | None = None) -> None:
    """Pick ``value`` in a Dash 4 dcc.Dropdown by keyboard.

    In Dash 4 the dropdown is a ``button#<id>`` (opened by Enter, or by typing when searchable)
    with a popover listbox whose options are radio inputs; arrow keys move focus between them
    and Enter chooses the focused one.
    """
    def active_option():
        current = duo.driver.execute_script(ACTIVE_OPTION_JS)
        return current is not None, current

    button = duo.find_element(f"#{dropdown_id}")
    duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'}); arguments[0].focus()", button)
    if search:
        press(duo, search[0])
        wait_until(duo, lambda: (duo.driver.switch_to.active_element.get_attribute("type") == "search", None),
                   f"the search box of #{dropdown_id}")
        press(duo, search[1:])
        duo.wait_for_contains_text(".dash-dropdown-content .dash-dropdown-option", search, timeout=WAIT)
        press(duo, Keys.ARROW_DOWN)
    else:
        press(duo, Keys.ENTER)
    current = wait_until(duo, active_option, f"keyboard focus on an option of #{dropdown_id}")
    seen = []
    while current != value:
        assert current not in seen, f"{value!r} is not an option of #{dropdown_id}: {seen}"
        seen.append(current)
        press(duo, Keys.ARROW_DOWN)
        current = wait_until(duo, lambda: (duo.driver.execute_script(ACTIVE_OPTION_JS) not in (None, seen[-1]),
                                           duo.driver.execute_script(ACTIVE_OPTION_JS)),
                             f"focus to move down the options of #{dropdown_id}")
    press(duo, Keys.ENTER)


def scorecard_row_ids(duo: DashComposite) -> list[str]:
    return duo.driver.execute_script(
        "return [...document.querySelectorAll('#scorecard-body tbody tr')].map(r => r.id)")


def trend_traces(duo: DashComposite) -> list[dict]:
    """The traces the trend chart drew: name, x and y, read from the Plotly graph div."""
    return duo.driver.execute_script("""
        const gd = document.querySelector('#metric-graph .js-plotly-plot');
        return gd && gd.data ? gd.data.map(t => ({name: t.name, x: t.x, y: t.y})) : null;
    """)


def wait_for_trend(duo: DashComposite) -> list[dict]:
    def drawn():
        traces = trend_traces(duo)
        svg = duo.driver.execute_script("return !!document.querySelector('#metric-graph svg.main-svg')")
        return bool(traces) and svg, traces

    return wait_until(duo, drawn, "the trend chart")


def trace_names(duo: DashComposite) -> list[str]:
    return [t["name"] for t in trend_traces(duo) or []]


def chart_points(traces: list[dict]) -> list[tuple[str, str, float | None]]:
    """(series, period, value) for every point of every series the chart draws (not the target line)."""
    return [(t["name"], x, y) for t in traces if t["name"] != "Target" for x, y in zip(t["x"], t["y"])]


def number(text: str | float | None) -> float | None:
    return None if text in (None, "") else round(float(text), 9)


# --------------------------------------------------------------------------- scorecard


def test_scorecard_filters_by_topic_and_red_and_keeps_them_in_the_url(dash_duo, manager):
    duo = dash_duo
    rows = python_scorecard(manager)
    reds = Counter(r.topic for r in rows if r.rag.status.value == "red")
    topic = max(TOPIC_TITLES, key=lambda t: reds[t])  # the first topic with the most red rows
    in_topic = [r.metric_id for r in rows if r.topic == topic]
    expected = [r.metric_id for r in rows if r.topic == topic and r.rag.status.value == "red"]
    assert expected, "the built data has no red metric, so the filter cannot be told from an empty table"

    open_page(duo, "/", OVERVIEW_HEADING)
    assert [i.removeprefix("row-") for i in scorecard_row_ids(duo)] == [r.metric_id for r in rows]

    choose_with_keyboard(duo, "topic-filter", topic)
    duo.wait_for_text_to_equal("#topic-filter .dash-dropdown-value", TOPIC_TITLES[topic], timeout=WAIT)
    wait_until(duo, lambda: (scorecard_row_ids(duo) == [f"row-{m}" for m in in_topic], scorecard_row_ids(duo)),
               f"only {topic} rows")

    tick(duo, "#rag-filter", "Red")
    wait_until(duo, lambda: (scorecard_row_ids(duo) == [f"row-{m}" for m in expected], scorecard_row_ids(duo)),
               "only red rows of the topic")
    wait_until(duo, lambda: (query(duo).get("rag") == ["red"], duo.driver.current_url), "rag=red in the URL")
    assert query(duo)["topic"] == [topic]
    assert checked_values(duo, "#rag-filter") == ["red"]

    duo.driver.refresh()
    duo.wait_for_text_to_equal("#page-heading", OVERVIEW_HEADING, timeout=WAIT)
    wait_for_callbacks(duo)
    assert scorecard_row_ids(duo) == [f"row-{m}" for m in expected]
    assert duo.find_element("#topic-filter .dash-dropdown-value").text == TOPIC_TITLES[topic]
    assert checked_values(duo, "#rag-filter") == ["red"]
    assert query(duo)["topic"] == [topic] and query(duo)["rag"] == ["red"]
    assert console_errors(duo) == []


def test_rag_chip_opens_its_rule(dash_duo, manager):
    duo = dash_duo
    rules = {r.metric_id: r.rag.rule for r in python_scorecard(manager)}
    open_page(duo, "/", OVERVIEW_HEADING)
    details = duo.find_element("#scorecard-body tbody tr details.rag-details")
    metric_id = duo.driver.execute_script("return arguments[0].closest('tr').id", details).removeprefix("row-")
    rule = details.find_element(By.CSS_SELECTOR, ".rag-rule")
    assert details.get_property("open") is False and not rule.is_displayed()

    click(duo, details.find_element(By.CSS_SELECTOR, "summary"))
    wait_until(duo, lambda: (details.get_property("open") is True, details.get_property("open")), "the rule to open")
    assert rule.is_displayed()
    assert rule.text == rules[metric_id]
    assert console_errors(duo) == []


# --------------------------------------------------------------------------- metric page


@pytest.mark.parametrize("metric_id", COMPARATOR_PAGES)
def test_comparator_toggles_change_the_traces_and_the_url(dash_duo, built_db, metric_id):
    duo = dash_duo
    la = home_area(built_db)
    region = store_area(built_db, code=la["region_code"])["name"]
    open_page(duo, f"/metric/{metric_id}", METRIC_TITLES[metric_id])
    wait_for_trend(duo)
    assert console_errors(duo) == []
    assert "England" in trace_names(duo) and la["name"] in trace_names(duo)

    tick(duo, "#cmp-toggle", "England")
    tick(duo, "#cmp-toggle", "Region")
    tick(duo, "#cmp-toggle", "Statistical neighbours (median)")

    def switched():
        names = trace_names(duo)
        sn = [n for n in names if n.startswith("Statistical neighbours")]
        return ("England" not in names and region in names and len(sn) == 1 and la["name"] in names), names

    names = wait_until(duo, switched, "the region and SN traces instead of England")
    assert built_db.sn_model in [n for n in names if n.startswith("Statistical neighbours")][0]
    wait_until(duo, lambda: (query(duo).get("cmp") == ["region,sn"], duo.driver.current_url), "cmp=region,sn")
    assert sorted(checked_values(duo, "#cmp-toggle")) == ["region", "sn"]
    assert console_errors(duo) == []


@pytest.mark.parametrize("metric_id", COMPARATOR_PAGES)
def test_sn_model_switch_renames_the_neighbour_trace(dash_duo, metric_id):
    duo = dash_duo
    old, new = min(SN_MODELS), max(SN_MODELS)  # the models the product offers, not pinned here
    open_page(duo, f"/metric/{metric_id}?cmp=sn&sn={new}", METRIC_TITLES[metric_id])
    wait_for_trend(duo)
    assert console_errors(duo) == []
    before = [n for n in trace_names(duo) if n.startswith("Statistical neighbours")]
    assert len(before) == 1 and new in before[0], trace_names(duo)

    tick(duo, "#sn-model", f"DfE {old} model")

    def renamed():
        sn = [n for n in trace_names(duo) if n.startswith("Statistical neighbours")]
        return len(sn) == 1 and old in sn[0] and new not in sn[0], sn

    wait_until(duo, renamed, f"the SN trace to name the {old} model")
    wait_until(duo, lambda: (query(duo).get("sn") == [old], duo.driver.current_url), f"sn={old} in the URL")
    assert console_errors(duo) == []


def test_view_as_table_shows_a_row_per_point(dash_duo):
    duo = dash_duo
    open_page(duo, "/metric/cp_rate_31mar?cmp=england,region", METRIC_TITLES["cp_rate_31mar"])
    traces = wait_for_trend(duo)
    table = duo.find_element("#metric-table")
    assert not table.is_displayed()

    click(duo, duo.find_element("#trend-container details.chart-table > summary"))
    wait_until(duo, lambda: (table.is_displayed(), None), "the chart's table to show")
    cells = duo.driver.execute_script("""
        return [...document.querySelectorAll('#metric-table tbody tr')]
            .map(r => [r.querySelector('td').textContent, r.querySelector('th').textContent]);
    """)
    expected = [(name, x) for name, x, _ in chart_points(traces)]
    assert len(cells) == len(expected)
    assert Counter(map(tuple, cells)) == Counter(expected)
    assert len({name for name, _ in expected}) == 3  # the authority, England and the region


def test_download_csv_holds_the_chart_points(dash_duo):
    duo = dash_duo
    open_page(duo, "/metric/cp_rate_31mar?cmp=england,region,sn", METRIC_TITLES["cp_rate_31mar"])
    traces = wait_for_trend(duo)
    link = duo.find_element("#trend-container a.download-link")
    assert link.text == "Download CSV of this chart"
    href = duo.driver.execute_script("return arguments[0].getAttribute('href')", link)
    assert href.startswith("/download/"), href

    http = requests.Session()
    for cookie in duo.driver.get_cookies():  # the browser's session, so the download is the reader's
        http.cookies.set(cookie["name"], cookie["value"])
    resp = http.get(urljoin(duo.server_url, href), timeout=30)
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))

    got = sorted((r["series"], r["period"], number(r["value"])) for r in rows)
    want = sorted((name, x, number(y)) for name, x, y in chart_points(traces))
    assert got == want
    target = [t for t in traces if t["name"] == "Target"]
    csv_targets = sorted((r["period"], number(r["target"])) for r in rows if r["target"] not in ("", None))
    assert csv_targets == (sorted(zip(target[0]["x"], map(number, target[0]["y"]))) if target else [])
    assert len({r["series"] for r in rows}) == 4  # the authority, England, the region and the SN median


# --------------------------------------------------------------------------- authority


def test_authority_picker_reloads_the_page_for_camden(dash_duo, built_db):
    duo = dash_duo
    camden = store_area(built_db, name="Camden", level="la")
    open_page(duo, "/about", "About the data")
    duo.driver.execute_script("window.__sameDocument = true")

    choose_with_keyboard(duo, "la-select", camden["code"], search="Camden")

    wait_until(duo, lambda: (query(duo).get("la", [""])[0] in (camden["code"], camden["old_code"]),
                             duo.driver.current_url), "?la= naming Camden")
    wait_until(duo, lambda: (duo.driver.execute_script("return window.__sameDocument") is None, None),
               "a full page load")
    duo.wait_for_contains_text(".authority-line", "Camden", timeout=WAIT)
    assert duo.find_element("#page-heading").text == "About the data"
    assert duo.find_element("#la-select").text.startswith("Camden")
    wait_for_callbacks(duo)
    assert console_errors(duo) == []


# --------------------------------------------------------------------------- keyboard


def test_first_tab_reaches_the_skip_link_which_moves_focus_to_main(dash_duo):
    duo = dash_duo
    open_page(duo, "/about", "About the data")
    press(duo, Keys.TAB)
    active = duo.driver.switch_to.active_element
    assert active.text == "Skip to main content"
    assert active.get_attribute("href").endswith("#main")
    assert duo.driver.execute_script("return arguments[0].getBoundingClientRect().left >= 0", active), \
        "the skip link is on screen when focused"

    press(duo, Keys.ENTER)
    wait_until(duo, lambda: (duo.driver.switch_to.active_element.get_attribute("id") == "main",
                             duo.driver.switch_to.active_element.get_attribute("outerHTML")[:120]),
               "focus on #main")


# The controls a keyboard user must reach: every natively interactive element (whatever its
# tabindex says) and anything else made focusable with tabindex >= 0. A Dash 4 dropdown is
# reached through a hidden proxy input that hands focus to its button, so the button is
# counted and the proxy is not.
FOCUSABLE_JS = """
const native = 'a[href], button, input, select, textarea, summary, iframe, [contenteditable=""], [contenteditable=true]';
const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
const controls = [...document.querySelectorAll(native + ', [tabindex]')].filter(el =>
    visible(el) && !el.disabled && el.type !== 'hidden'
    && !el.classList.contains('dash-dropdown-focus-target')
    && (el.matches(native) || el.tabIndex >= 0));
const positive = [...document.querySelectorAll('[tabindex]')].filter(el => el.tabIndex > 0);
const label = el => el.outerHTML.slice(0, 120);
return {controls: controls.map(label), positive: positive.map(label)};
"""


def test_every_control_on_the_overview_is_reachable_by_tab(dash_duo, manager):
    duo = dash_duo
    open_page(duo, "/", OVERVIEW_HEADING)
    found = duo.driver.execute_script(FOCUSABLE_JS)
    assert found["positive"] == []
    assert len(found["controls"]) > len(manager.registry.metrics)  # at least a link per scorecard row

    duo.driver.execute_script("""
        window.__focused = new Set();
        document.addEventListener('focusin', e => window.__focused.add(e.target));
        document.activeElement && document.activeElement.blur();
    """)
    press(duo, *([Keys.TAB] * (len(found["controls"]) + 5)))
    missed = duo.driver.execute_script(FOCUSABLE_JS.replace(
        "return {controls", "const seen = window.__focused; return {missed: controls.filter(c => !seen.has(c)).map(label), controls"))
    assert missed["missed"] == []
    assert console_errors(duo) == []


# --------------------------------------------------------------------------- reflow


# What sticks out past the viewport without a scroll region of its own to contain it
# (absolutely positioned elements escape an overflow container that is not positioned).
OVERFLOW_JS = """
const W = document.documentElement.clientWidth;
const scroller = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
};
return [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > W + 1
                  && (!scroller(el) || ['absolute', 'fixed'].includes(getComputedStyle(el).position)))
    .slice(0, 10).map(el => el.outerHTML.slice(0, 100) + ' right=' + Math.round(el.getBoundingClientRect().right));
"""


def test_overview_reflows_at_320_px(dash_duo):
    duo = dash_duo
    try:
        duo.driver.set_window_size(REFLOW_WIDTH, WINDOW[1])
        open_page(duo, "/", OVERVIEW_HEADING)
        assert duo.driver.execute_script("return window.innerWidth") == REFLOW_WIDTH
        width = duo.driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= REFLOW_WIDTH + REFLOW_TOLERANCE, duo.driver.execute_script(OVERFLOW_JS)
    finally:
        duo.driver.set_window_size(*WINDOW)
