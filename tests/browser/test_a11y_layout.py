"""WCAG 2.2 AA beyond what axe-core can see: keyboard alone, reflow at 320 CSS px, text at 200%, chart labels
that are neither clipped nor overlapping, a table and a summary for every chart, and print on A4.

One server and one browser for the module (tests/browser/conftest.py), signed in as an analyst so that the
upload flow is reachable. Keys are sent with Selenium's ActionChains (TAB, ENTER, SPACE), never clicks.
"""
from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.wait import WebDriverWait

from dashboard.config import ROOT
from tests.browser.a11y import FOCUS_STYLE_JS, OVERFLOW_JS, TICKS_JS, load, sign_in_as
from tests.browser.conftest import WINDOW

NARROW = 320
#: A4 (210 mm) less the print stylesheet's 12 mm margins, in CSS px (96 per inch)
A4_PRINTABLE_PX = round((210 - 2 * 12) / 25.4 * 96)


@pytest.fixture
def duo(product_duo, product_app, _module_browser):
    """The module's browser, signed in as an analyst (it starts as a viewer)."""
    if _module_browser.get("role") != "analyst":
        sign_in_as(product_duo, product_app, "analyst")
        _module_browser["role"] = "analyst"
    yield product_duo
    product_duo.driver.set_window_size(*WINDOW)
    product_duo.driver.execute_script("document.documentElement.style.fontSize = ''")
    try:
        product_duo.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    except Exception:  # noqa: BLE001 - the browser may already be gone
        pass


def press(duo, *keys) -> None:
    ActionChains(duo.driver).send_keys(*keys).perform()


# --------------------------------------------------------------------------- keyboard

#: every control a keyboard user must reach (as in test_interactions.py): natively interactive elements and
#: anything with tabindex >= 0, visible and enabled; Dash's hidden dropdown proxy is not one. A group of radio
#: buttons is one tab stop (the arrow keys move within it): its checked button, or its first, stands for it.
CONTROLS_JS = """
const native = 'a[href], button, input, select, textarea, summary';
const shown = el => {  // not inside a closed <details>, unless it is that details' own summary
    for (let d = el.closest('details:not([open])'); d; d = d.parentElement.closest('details:not([open])')) {
        if (!(el.tagName === 'SUMMARY' && el.parentElement === d)) return false;
    }
    return true;
};
const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'
                      && !el.closest('[hidden], [aria-hidden=true]') && shown(el);
const radioStop = el => {
    if (el.type !== 'radio' || !el.name) return true;
    const group = [...document.querySelectorAll('input[type=radio]')].filter(r => r.name === el.name);
    return el === (group.find(r => r.checked) || group[0]);
};
window.__controls = [...document.querySelectorAll(native + ', [tabindex]')].filter(el =>
    visible(el) && !el.disabled && el.type !== 'hidden' && el.tabIndex >= 0 && radioStop(el)
    && !el.classList.contains('dash-dropdown-focus-target'));
return window.__controls.length;
"""
MISSED_JS = "return window.__controls.filter(c => !window.__seen.has(c)).map(c => c.outerHTML.slice(0, 160));"


def tab_through(duo, extra: int = 10) -> list[dict]:
    """Press TAB from the top of the page once per control (and a few more), checking at each stop that the
    focused element shows a focus indicator and that focus moved (no trap); fail on a control never reached."""
    count = duo.driver.execute_script(CONTROLS_JS)
    assert count > 0
    duo.driver.execute_script("""
        window.__seen = new Set();
        document.addEventListener('focusin', e => window.__seen.add(e.target));
        window.scrollTo(0, 0); document.activeElement && document.activeElement.blur();""")
    stops, previous, stuck = [], None, 0
    for _ in range(count + count // 2 + extra):
        if duo.driver.execute_script("return window.__controls.every(c => window.__seen.has(c))"):
            break
        press(duo, Keys.TAB)
        style = duo.driver.execute_script(FOCUS_STYLE_JS)
        if style is None:  # focus left the document (the browser's own UI): start again from the top
            continue
        stops.append(style)
        assert style["outline"] or style["shadow"], f"no visible focus indicator on {style['html']}"
        assert style["visible"], f"focus on an invisible element {style['html']}"
        stuck = stuck + 1 if style["html"] == previous else 0
        assert stuck < 2, f"keyboard trap: TAB keeps focus on {style['html']}"
        previous = style["html"]
    missed = duo.driver.execute_script(MISSED_JS)
    assert missed == [], f"{len(missed)} of {count} controls never reached by TAB: {missed[:10]}"
    return stops


def focused(duo) -> str:
    return duo.driver.execute_script("return document.activeElement.outerHTML.slice(0, 200)")


def tab_to(duo, selector: str, limit: int = 400) -> None:
    """TAB forward until the element matching ``selector`` has focus."""
    duo.driver.execute_script("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur();")
    for _ in range(limit):
        press(duo, Keys.TAB)
        if duo.driver.execute_script("return document.activeElement.matches(arguments[0])", selector):
            return
    pytest.fail(f"TAB never reached {selector}")


def test_keyboard_alone_on_the_overview(duo):
    load(duo, "/")
    stops = tab_through(duo)
    assert stops[0]["html"].startswith('<a class="skip-link"')
    # a RAG chip's rule opens with ENTER
    tab_to(duo, ".rag-details summary")
    press(duo, Keys.ENTER)
    assert duo.driver.execute_script("return document.activeElement.closest('details').open")
    # the status filter ticks with SPACE and the scorecard follows
    tab_to(duo, "#rag-filter input")
    press(duo, Keys.SPACE)
    WebDriverWait(duo.driver, 15).until(lambda d: "rag=" in d.current_url)
    # a dropdown opens with ENTER, closes with ESCAPE, and focus comes back to it (no trap)
    tab_to(duo, "button#topic-filter")
    press(duo, Keys.ENTER)
    WebDriverWait(duo.driver, 5).until(lambda d: d.find_element("css selector", "#topic-filter")
                                       .get_attribute("aria-expanded") == "true")
    press(duo, Keys.ESCAPE)
    WebDriverWait(duo.driver, 5).until(lambda d: d.execute_script(
        "return document.activeElement.id === 'topic-filter'"))
    press(duo, Keys.TAB)
    assert duo.driver.execute_script("return document.activeElement.id") != "topic-filter"


def test_keyboard_alone_on_a_metric_page(duo):
    load(duo, "/metric/cp_rate_31mar")
    tab_through(duo)
    tab_to(duo, "#cmp-toggle input")
    press(duo, Keys.SPACE)
    WebDriverWait(duo.driver, 15).until(lambda d: "cmp=" in d.current_url)
    tab_to(duo, ".chart-table summary")
    press(duo, Keys.ENTER)
    assert duo.driver.execute_script("return document.activeElement.closest('details').open")
    press(duo, Keys.TAB)  # into the table's scroll region, which is focusable so it can be scrolled by keys
    assert duo.driver.execute_script("return document.activeElement.matches('.table-responsive')"), focused(duo)


# db: checking a return stages it in the database (a pending upload), which no other tier does on PostgreSQL.
@pytest.mark.db
def test_keyboard_alone_through_the_upload_flow(duo):
    load(duo, "/upload")
    tab_through(duo)
    tab_to(duo, "input#file")
    # the file chooser is the operating system's; its keyboard use is the browser's. Selenium types the path.
    duo.driver.switch_to.active_element.send_keys(str(ROOT / "data" / "templates" / "return_template.csv"))
    press(duo, Keys.TAB)
    assert duo.driver.execute_script("return document.activeElement.matches('button[type=submit]')"), focused(duo)
    press(duo, Keys.ENTER)
    WebDriverWait(duo.driver, 30).until(lambda d: d.execute_script(
        "return !!document.querySelector('#page-heading') && !document.querySelector('input#file')"))
    tab_through(duo)
    buttons = duo.driver.execute_script(
        "return [...document.querySelectorAll('main button, main a.btn')].map(b => b.textContent.trim())")
    assert buttons, "the check page offers a way on"
    # cancel with ENTER (loading would change the session's data for other tests)
    tab_to(duo, "main a[href='/upload']")
    press(duo, Keys.ENTER)
    WebDriverWait(duo.driver, 15).until(lambda d: d.find_elements("css selector", "input#file"))


# --------------------------------------------------------------------------- reflow and text size

REFLOW_PAGES = ["/", "/metric/cp_rate_31mar?cmp=england,region,sn", "/metric/cp_by_category", "/topic/training",
                "/topic/child_protection", "/compare/cp_rate_31mar", "/search?q=neglect", "/demand", "/about",
                "/upload", "/account/password", "/accessibility"]


@pytest.mark.parametrize("path", REFLOW_PAGES)
def test_reflows_at_320_css_px(duo, path):
    duo.driver.set_window_size(NARROW, WINDOW[1])
    load(duo, path)
    assert duo.driver.execute_script("return window.innerWidth") == NARROW
    got = duo.driver.execute_script(OVERFLOW_JS)
    assert got["scrollWidth"] <= got["clientWidth"] and got["out"] == [], got


#: text cut off: an element that clips its overflow and holds more text than it shows
CLIPPED_TEXT_JS = """
return [...document.querySelectorAll('main *, header *, nav *')].filter(el => {
  if (el.closest('.visually-hidden, svg, .js-plotly-plot, .table-responsive')) return false;
  const s = getComputedStyle(el);
  if (!['hidden', 'clip'].includes(s.overflowX) && !['hidden', 'clip'].includes(s.overflowY)) return false;
  if (!el.textContent.trim() || el.getClientRects().length === 0) return false;
  return el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
}).slice(0, 10).map(el => el.outerHTML.slice(0, 160));
"""


@pytest.mark.parametrize("path", ["/", "/metric/cp_rate_31mar", "/topic/training", "/compare/cp_rate_31mar",
                                  "/upload"])
def test_text_at_200_percent_is_not_cut_off(duo, path):
    load(duo, path)
    duo.driver.execute_script("document.documentElement.style.fontSize = '200%'")
    assert duo.driver.execute_script("return getComputedStyle(document.body).fontSize") == "32px"
    got = duo.driver.execute_script(OVERFLOW_JS)
    assert got["scrollWidth"] <= got["clientWidth"] and got["out"] == [], got
    assert duo.driver.execute_script(CLIPPED_TEXT_JS) == []


# --------------------------------------------------------------------------- charts

CHART_PAGES = ["/metric/cp_rate_31mar?cmp=england,region,sn", "/metric/cp_by_category", "/topic/training",
               "/topic/workforce", "/compare/cp_rate_31mar", "/demand"]


@pytest.mark.parametrize("width", [NARROW, WINDOW[0]])
@pytest.mark.parametrize("path", CHART_PAGES)
def test_chart_labels_are_not_clipped_or_overlapping(duo, path, width):
    duo.driver.set_window_size(width, WINDOW[1])
    load(duo, path)
    assert duo.driver.execute_script("return document.querySelectorAll('.js-plotly-plot g.xtick text').length") > 0
    problems = duo.driver.execute_script(TICKS_JS)
    assert problems == [], "\n".join(problems)


EVERY_CHART_JS = """
return [...document.querySelectorAll('.dash-graph')].map(g => {
  const card = g.closest('figure');
  return {id: g.id,
          caption: !!(card && card.querySelector('figcaption') && card.querySelector('figcaption').textContent.trim()),
          table: !!(card && card.querySelector('table caption')),
          summary: !!(card && card.querySelector('.chart-summary') && card.querySelector('.chart-summary').textContent.trim())};
}).filter(c => !(c.caption && c.table && c.summary));
"""


@pytest.mark.parametrize("path", CHART_PAGES + ["/topic/child_protection", "/topic/looked_after"])
def test_every_chart_has_a_caption_a_table_and_a_text_summary(duo, path):
    load(duo, path)
    assert duo.driver.execute_script("return document.querySelectorAll('.dash-graph').length") > 0
    assert duo.driver.execute_script(EVERY_CHART_JS) == []


# --------------------------------------------------------------------------- print

PRINT_JS = """
const hidden = sel => [...document.querySelectorAll(sel)].every(el => getComputedStyle(el).display === 'none');
return {
  chrome: ['.site-nav', '.metric-search', '.authority-picker', '.filters', '.user-bar', '.skip-link',
           '.modebar-container'].filter(sel => document.querySelector(sel) && !hidden(sel)),
  charts: [...document.querySelectorAll('.js-plotly-plot')].map(p => Math.round(p.getBoundingClientRect().width)),
  svgs: [...document.querySelectorAll('.js-plotly-plot svg.main-svg')].map(s => Math.round(s.getBoundingClientRect().right - document.querySelector('main').getBoundingClientRect().left)),
  rag: [...document.querySelectorAll('.rag')].filter(r => r.getClientRects().length).map(r => r.textContent.trim()),
  tables: [...document.querySelectorAll('.chart-table')].filter(d => !d.open).length,
  rowsAvoid: [...document.querySelectorAll('tr')].slice(0, 1).map(r => getComputedStyle(r).breakInside),
};
"""


@pytest.mark.parametrize("path", ["/", "/metric/cp_rate_31mar?cmp=england,region,sn", "/topic/training"])
def test_prints_on_a4_without_navigation(duo, path):
    load(duo, path)
    duo.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert duo.driver.execute_script("return matchMedia('print').matches")

    def fits(_d):
        got = duo.driver.execute_script(PRINT_JS)
        return got if all(w <= A4_PRINTABLE_PX for w in got["charts"] + got["svgs"]) else False

    try:
        got = WebDriverWait(duo.driver, 10).until(fits)
    except Exception:  # noqa: BLE001 - report what was seen
        pytest.fail(f"charts wider than A4's printable {A4_PRINTABLE_PX}px: {duo.driver.execute_script(PRINT_JS)}")
    assert got["chrome"] == [], f"navigation and controls shown in print: {got['chrome']}"
    assert got["tables"] == 0, "every chart's table is opened for print"
    assert got["rowsAvoid"] in ([], ["avoid"])
    if path == "/":
        assert got["rag"] and all(any(w in t for w in ("Green", "Amber", "Red", "Not rated", "No target",
                                                         "No data")) for t in got["rag"]), got["rag"]
