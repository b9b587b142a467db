"""The SPC screens in headless Chromium: /spc draws its grid, a metric link opens the metric page,
whose SPC chart draws its points (by class, with their shapes) and opens as a table; no console errors."""
from __future__ import annotations

import pytest
import yaml
from selenium.webdriver.common.by import By

from dashboard.config import load_settings
from tests.browser.conftest import console_errors, open_page, wait_for_callbacks, wait_until

REGISTRY = yaml.safe_load(load_settings().registry_path.read_text(encoding="utf-8"))
TITLES = {m["id"]: m["title"] for m in REGISTRY["metrics"]}
SPC_HEADING = "SPC summary: is it changing, and will it meet its target?"


@pytest.fixture
def dash_duo(product_duo):
    return product_duo


def test_spc_summary_then_a_metrics_spc_chart(dash_duo):
    duo = dash_duo
    open_page(duo, "/spc", SPC_HEADING)
    grid = duo.find_element("#spc-grid")
    assert grid.is_displayed()
    heads = [th.text for th in grid.find_elements(By.CSS_SELECTOR, "thead th")]
    assert len(heads) == 4 and heads[0].startswith("✗ Fail"), heads
    rows = [th.text for th in grid.find_elements(By.CSS_SELECTOR, "tbody th[scope=row]")]
    assert rows == ["Special cause: concern", "Common cause", "Special cause: improvement",
                    "Neutral measure, or no SPC"]
    wait_for_callbacks(duo)
    assert console_errors(duo) == []

    # follow a metric from the grid: a client-side link to its page, where the SPC chart is drawn
    link = duo.find_element("#spc-link-rereferral_pct")
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", link)
    link.click()
    duo.wait_for_text_to_equal("#page-heading", TITLES["rereferral_pct"], timeout=15)
    probe = ("const g = document.querySelector('#spc-graph .js-plotly-plot');"
             "return g ? g.querySelectorAll('.scatterlayer .point').length : 0;")
    points = wait_until(duo, lambda: ((n := duo.driver.execute_script(probe)) > 0, n), "the SPC chart's points")
    assert points >= 12
    legend = duo.driver.execute_script(
        "return [...document.querySelectorAll('#spc-graph .legendtext')].map(e => e.textContent)")
    assert "Centre line (mean)" in legend and any(t.startswith("Common cause (circle)") for t in legend), legend
    assert "Variation:" in duo.find_element("#spc-icons").text
    # the chart's table equivalent opens
    summary = duo.driver.find_element(By.XPATH, "//*[@id='spc']//details[contains(@class,'chart-table')]/summary")
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", summary)
    summary.click()
    assert duo.find_element("#spc-table").is_displayed()
    wait_for_callbacks(duo)
    assert console_errors(duo) == []
