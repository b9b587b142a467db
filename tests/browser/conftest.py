"""Helpers for the browser tier (dash.testing + headless Chromium).

Every test in this folder is marked ``browser`` by tests/conftest.py, which also supplies
the Chromium options and the skip/fail rule when Chromium is missing.
"""
from __future__ import annotations

import pytest


def loaded_resources(driver) -> list[str]:
    """URLs of every resource the current page has fetched (Resource Timing API)."""
    return driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )


@pytest.fixture
def resource_urls(dash_duo):
    """A callable returning the URLs the page in ``dash_duo`` has fetched so far."""
    return lambda: loaded_resources(dash_duo.driver)


@pytest.fixture(scope="session")
def product_app():
    """The product's Dash app from ``app.py`` (skips while it cannot be imported)."""
    module = pytest.importorskip("app")
    return module.app
