"""The compare page and the metric search in Chromium: drawn without console errors, an authority
added to the comparison by keyboard (the URL's ``with`` follows), and a search typed and submitted
with Enter. Names come from the built store; titles from data/metrics.yaml read as plain YAML."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from dashboard.config import load_settings
from tests.browser.conftest import WAIT, console_errors, open_page, wait_for_callbacks, wait_until

REGISTRY = yaml.safe_load(load_settings().registry_path.read_text(encoding="utf-8"))
TITLES = {m["id"]: m["title"] for m in REGISTRY["metrics"]}


@pytest.fixture
def dash_duo(product_duo):
    return product_duo


def press(duo, *keys) -> None:
    ActionChains(duo.driver).send_keys(*keys).perform()


def table_names(duo) -> list[str]:
    return duo.driver.execute_script(
        "return [...document.querySelectorAll('#compare-table tbody th')].map(t => t.textContent)")


def test_compare_page_draws_and_takes_an_authority_by_keyboard(dash_duo):
    duo = dash_duo
    open_page(duo, "/compare/cp_rate_31mar?with=882", f"Compare authorities: {TITLES['cp_rate_31mar']}", settle=True)
    wait_until(duo, lambda: (duo.driver.execute_script(
        "return !!document.querySelector('#compare-graph .js-plotly-plot svg.main-svg')"), None), "the chart")
    assert table_names(duo) == ["Thurrock", "Southend-on-Sea"]
    assert console_errors(duo) == []

    box = duo.find_element("#compare-with")
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus()", box)
    press(duo, "C")
    wait_until(duo, lambda: (duo.driver.switch_to.active_element.get_attribute("type") == "search", None),
               "the search box of the chooser")
    press(duo, "amden")
    duo.wait_for_contains_text(".dash-dropdown-content .dash-dropdown-option", "Camden", timeout=WAIT)
    press(duo, Keys.ARROW_DOWN)
    press(duo, Keys.ENTER)
    wait_until(duo, lambda: ("Camden" in table_names(duo), table_names(duo)), "Camden in the table")
    press(duo, Keys.ESCAPE)
    query = parse_qs(urlsplit(duo.driver.current_url).query)
    assert query["with"][0].split(",") == ["E06000033", "E09000007"]
    wait_for_callbacks(duo)
    assert console_errors(duo) == []


def test_metric_search_by_keyboard(dash_duo):
    duo = dash_duo
    open_page(duo, "/", "Performance scorecard", settle=True)
    box = duo.find_element("#metric-search")
    duo.driver.execute_script("arguments[0].focus()", box)
    press(duo, "dental", Keys.ENTER)
    duo.wait_for_text_to_equal("#page-heading", "Search metrics", timeout=WAIT)
    assert parse_qs(urlsplit(duo.driver.current_url).query)["q"] == ["dental"]
    link = duo.find_element("#search-results a[href^='/metric/lac_dental_checks_pct']")
    assert link.text == TITLES["lac_dental_checks_pct"]
    wait_for_callbacks(duo)
    assert console_errors(duo) == []
