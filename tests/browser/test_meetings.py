"""Meetings in Chromium, as an analyst: create a meeting, add an action, write and publish commentary,
then meeting mode with the keyboard.

Each step is a plain form the browser submits (POST with the CSRF token, then a 303 to the page);
no console errors anywhere.
"""
from __future__ import annotations

import io
import re
import uuid
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from pypdf import PdfReader
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.browser.conftest import WAIT, console_errors, open_page, wait_until
from tests.helpers import browser_sign_in

METRIC = "lac_placed_20_miles"


@pytest.fixture
def dash_duo(product_duo):
    return product_duo


def sign_in_as_analyst(duo, product_app) -> None:
    open_page(duo, "/about", "About the data")
    duo.find_element(".user-bar form button[type=submit]").click()  # sign out (a POST with the token)
    wait_until(duo, lambda: ("/login" in duo.driver.current_url, duo.driver.current_url), "the sign-in page")
    browser_sign_in(duo, product_app.server.config["DASHBOARD_MANAGER"].engine, "analyst", timeout=WAIT)


def fill(duo, selector: str, text: str) -> None:
    el = duo.find_element(selector)
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
    el.clear()
    el.send_keys(text)


def click(duo, selector: str) -> None:
    # scrolled to and clicked by script: Selenium's own click was refused here ("element click intercepted")
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()",
                              duo.find_element(selector))


def submit(duo, form_selector: str) -> None:
    btn = duo.find_element(f"{form_selector} button[type=submit]")
    # the browser's own submission (fields, CSRF token, POST, 303); clicked by script, as Selenium's own
    # click was refused here ("element click intercepted")
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", btn)


def test_analyst_creates_a_meeting_an_action_and_published_commentary(dash_duo, product_app):
    duo = dash_duo
    sign_in_as_analyst(duo, product_app)
    title = f"Panel {uuid.uuid4().hex[:6]}"

    open_page(duo, "/meetings", "Panel meetings")
    fill(duo, "#meeting-date", "2026-01-15")
    fill(duo, "#meeting-title", title)
    submit(duo, "form[aria-label='Add a meeting']")
    duo.wait_for_text_to_equal("#page-heading", f"{title} (2026-01-15)", timeout=WAIT)
    assert "/meeting/" in duo.driver.current_url and "la=883" in duo.driver.current_url
    meeting_path = urlsplit(duo.driver.current_url).path
    assert console_errors(duo) == []

    action = f"Review placements {uuid.uuid4().hex[:6]}"
    Select(duo.find_element("#action-metric")).select_by_value(METRIC)
    fill(duo, "#action-text", action)
    fill(duo, "#action-agency", "Council")
    fill(duo, "#action-due", "2026-01-20")
    submit(duo, "form[aria-label='Add an action']")
    duo.wait_for_contains_text("#meeting-actions", action, timeout=WAIT)
    assert "Overdue: due 2026-01-20" in duo.find_element("#meeting-actions").text
    assert console_errors(duo) == []

    click(duo, f"#exception-{METRIC} h2 a")  # the chart, one click away
    wait_until(duo, lambda: (f"/metric/{METRIC}" in duo.driver.current_url, duo.driver.current_url), "metric page")
    says = f"Fewer children placed far away {uuid.uuid4().hex[:6]}"
    click(duo, "#write-commentary summary")
    fill(duo, "#new-comment-says", says)
    submit(duo, "#write-commentary form")
    duo.wait_for_contains_text("#commentary", says, timeout=WAIT)
    assert "Draft (not published)" in duo.find_element("#commentary").text
    # publish this comment, not another test's draft: the publish button inside the entry that holds our words
    mine = duo.driver.find_element(By.XPATH, f"//*[@id='commentary']//article[contains(., '{says}')]")
    duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()",
                              mine.find_element(By.CSS_SELECTOR, "form[aria-label^='Publish comment'] "
                                                                 "button[type=submit]"))

    def entries() -> list[str]:
        """The commentary's entries, each from its heading ("Published commentary on ..." or "Draft (not
        published) commentary on ...") to the next; other tests may have left comments of their own."""
        text = duo.find_element("#commentary").text
        return re.split(r"\n(?=Published commentary on |Draft \(not published\) commentary on )", "\n" + text)

    def published() -> tuple[bool, list[str]]:
        mine = [e for e in entries() if says in e]
        return (bool(mine) and all(e.startswith("Published commentary") for e in mine)), mine

    wait_until(duo, published, "the published comment")
    assert says in duo.find_element("#commentary").text
    assert console_errors(duo) == []

    # meeting mode: one exception per screen, the arrow keys go next and back
    open_page(duo, f"{meeting_path}/present?la=883", f"{title}: meeting mode", settle=True)
    position = duo.find_element("#present-position").text
    assert position.startswith("1 of "), position
    total = int(position.split(" of ")[1])
    assert total >= 2, "the 2026 meeting lists several exceptions for Thurrock"
    ActionChains(duo.driver).send_keys(Keys.ARROW_RIGHT).perform()
    duo.wait_for_text_to_equal("#present-position", f"2 of {total}", timeout=WAIT)
    assert urlsplit(duo.driver.current_url).path == f"{meeting_path}/present/2"
    ActionChains(duo.driver).send_keys(Keys.ARROW_LEFT).perform()
    duo.wait_for_text_to_equal("#present-position", f"1 of {total}", timeout=WAIT)
    assert duo.find_element("#present-graph .js-plotly-plot") is not None
    assert console_errors(duo) == []

    # the meeting pack, as the browser downloads it: a PDF whose text has every exception's title
    open_page(duo, f"{meeting_path}?la=883", f"{title} (2026-01-15)", settle=True)
    titles = [e.text for e in duo.driver.find_elements(By.CSS_SELECTOR, ".exception-item h2 a")]
    assert len(titles) == total
    link = duo.driver.find_element(By.PARTIAL_LINK_TEXT, "Meeting pack (PDF)")
    href = duo.driver.execute_script("return arguments[0].getAttribute('href')", link)
    http = requests.Session()
    for cookie in duo.driver.get_cookies():  # the browser's own session: the pack is the reader's
        http.cookies.set(cookie["name"], cookie["value"])
    resp = http.get(urljoin(duo.server_url, href), timeout=240)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/pdf", resp.text[:300]
    text = "".join("".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(resp.content)).pages)
    for t in titles:
        assert "".join(t.split()) in text, t
    assert "".join(says.split()) in text  # the commentary published above, on its metric's page of the pack
