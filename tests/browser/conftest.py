"""Helpers for the browser tier (dash.testing + headless Chromium).

Every test in this folder is marked ``browser`` by tests/conftest.py, which also supplies
the Chromium options and the skip/fail rule when Chromium is missing.
"""
from __future__ import annotations

import contextlib
from urllib.parse import urljoin

import pytest
from dash.testing.application_runners import ThreadedRunner
from dash.testing.composite import DashComposite
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.support.wait import WebDriverWait

from tests.helpers import LIVE_PAGE_JS, browser_sign_in


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


# -- one product server and browser per test module (pages and interactions) ---------------------

WAIT = 15
WINDOW = (1366, 900)  # tests/conftest.py CHROME_ARGS


def sign_in_if_required(duo: DashComposite, app) -> None:
    """Sign the browser in through the product's form as a viewer, when the app has one."""
    if not any(rule.rule == "/login" for rule in app.server.url_map.iter_rules()):
        return
    browser_sign_in(duo, app.server.config["DASHBOARD_MANAGER"].engine, "viewer", base_url=duo.server.url,
                    timeout=WAIT)


@pytest.fixture(scope="module")
def _module_browser():
    """Holds the module's server and browser; they start on first use and stop with the module."""
    with contextlib.ExitStack() as stack:
        yield {"stack": stack}


@pytest.fixture
def product_duo(_require_browser, _module_browser, request, built_db, product_app, tmp_path_factory):
    """dash.testing's composite (server + Chromium), shared by every test in the module.

    Starting it here rather than at module scope lets the harness skip the test first when
    Chromium is missing. Each test starts with the default window size and an empty log.
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
            # and has replaced the first screen (the page as sent) with the live page
            WebDriverWait(duo.driver, 30).until(
                lambda d: d.execute_script(f"return {LIVE_PAGE_JS} && !!window.store"))
        except TimeoutException:
            _module_browser["broken"] = (
                f"the app at {server.url} never rendered a page; console: "
                f"{[e['message'] for e in duo.get_logs() or []]}")
            pytest.fail(_module_browser["broken"], pytrace=False)
        _module_browser["duo"] = duo
    duo.driver.set_window_size(*WINDOW)
    duo.driver.get_log("browser")
    return duo


def console_errors(duo: DashComposite) -> list[dict]:
    """SEVERE browser log entries since the last call."""
    return duo.get_logs() or []


def wait_until(duo: DashComposite, probe, describe: str, timeout: float = WAIT):
    """Poll ``probe()``, which returns ``(done, value)``, until done; return the value or fail
    with the last value seen. An element the page replaced while the probe read it (stale) is "not yet":
    the probe runs again."""
    last = {}

    def check(_driver):
        done, last["value"] = probe()
        return done

    try:
        WebDriverWait(duo.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(check)
    except TimeoutException:
        pytest.fail(f"timed out waiting for {describe}; last seen: {last.get('value')!r}")
    return last["value"]


def wait_for_callbacks(duo: DashComposite) -> None:
    def idle():
        pending = duo.redux_state_rqs if duo.window_store else []
        return pending == [], pending

    wait_until(duo, idle, "Dash callbacks to finish")


def open_page(duo: DashComposite, path: str, heading: str, settle: bool = False) -> None:
    """Load ``path`` and wait for its heading (and, with ``settle``, for the callbacks the load starts);
    on timeout, fail with what the browser logged."""
    duo.driver.get(urljoin(duo.server_url, path))
    try:
        duo.wait_for_text_to_equal("#page-heading", heading, timeout=WAIT)
    except TimeoutException as exc:
        pytest.fail(f"{path}: {exc.msg}; console: {[e['message'] for e in duo.get_logs() or []]}")
    # the first screen (the page as sent, drawn over the live page) is gone once Dash has drawn the page
    wait_until(duo, lambda: (duo.driver.execute_script(f"return {LIVE_PAGE_JS}"), None),
               f"{path}: the live page to replace the first screen")
    if settle:
        wait_for_callbacks(duo)
