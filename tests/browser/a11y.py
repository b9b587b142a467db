"""Shared helpers for the accessibility browser tests: axe-core, the page list, focus and layout probes.

axe-core is vendored from npm (``tests/browser/vendor/axe-core``, MPL-2.0, its LICENSE beside it): the
PyPI packages that bundle it for Selenium carry axe 3.x, which has no WCAG 2.2 rules.
"""
from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from urllib.parse import urljoin

from dashboard import routes
from tests.helpers import LIVE_PAGE_JS

AXE_DIR = Path(__file__).parent / "vendor" / "axe-core"
AXE_SOURCE = (AXE_DIR / "axe.min.js").read_text(encoding="utf-8")
AXE_VERSION = re.search(r"axe v(\d+\.\d+\.\d+)", AXE_SOURCE[:200]).group(1)
#: WCAG 2.0, 2.1 and 2.2, levels A and AA (2.2 adds no level A rule to axe; wcag22aa is its AA set)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

RUN_AXE_JS = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
  .then(r => done({version: r.testEngine.version, violations: r.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary}))}))}))
  .catch(e => done({error: String(e)}));
"""


def run_axe(driver) -> dict:
    """axe-core's WCAG 2.x A and AA violations on the current document."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE_SOURCE)
    driver.set_script_timeout(120)
    result = driver.execute_async_script(RUN_AXE_JS, AXE_TAGS)
    assert "error" not in result, result
    return result


def describe_violations(path: str, violations: list[dict], limit: int = 5) -> str:
    lines = [f"{path}: {sum(len(v['nodes']) for v in violations)} nodes violate "
             f"{[v['id'] for v in violations]} (axe-core {AXE_VERSION})"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}, {len(v['nodes'])} nodes")
        for n in v["nodes"][:limit]:
            lines.append(f"    {json.dumps(n['target'])}: {n['html'][:300]}")
            lines.append("      " + (n["summary"] or "").replace("\n", "\n      ")[:400])
    return "\n".join(lines)


# -- the pages ----------------------------------------------------------------------------------------

#: sample values for each placeholder of a path in the route table. A pattern with a placeholder missing
#: here is reported by the tests (add a sample) rather than silently left out.
#: stands for a meeting's id in a path until the test has made the meeting
MEETING = "{meeting}"


def placeholder_samples(registry) -> dict[str, list[str]]:
    with_breakdown = next(m.id for m in registry.metrics if m.breakdowns)
    return {
        "metric": ["cp_rate_31mar", with_breakdown],
        "topic": [t.id for t in registry.topics],
        # a meeting is made by the test itself (tests/browser/test_axe.py: meeting_id); its id goes in then
        "meeting": [MEETING],
        "item": ["1", "2"],
    }


#: query strings that show a page at its fullest (every comparator, a search with results)
PAGE_QUERIES = {"metric": "?cmp=england,region,sn", "search": "?q=neglect", "compare": "?with=882,884"}


def dash_page_paths(registry) -> list[tuple[str, str | None]]:
    """(path, problem) for every page of the route table, placeholders filled from placeholder_samples.
    ``problem`` names a placeholder with no sample (the path is then the pattern itself)."""
    samples = placeholder_samples(registry)
    out = []
    for pattern, page in routes.PAGES:
        names = re.findall(r"<(\w+)>", pattern)
        missing = [n for n in names if n not in samples]
        if missing:
            out.append((pattern, f"no sample value for <{'>, <'.join(missing)}> in tests/browser/a11y.py"))
            continue
        for combo in itertools.product(*(samples[n] for n in names)):
            path = pattern
            for n, v in zip(names, combo):
                path = path.replace(f"<{n}>", v, 1)
            out.append((path + PAGE_QUERIES.get(page, ""), None))
    return out


#: GET routes with no parameters that are not pages
NOT_PAGES = {"healthz", "favicon", "links.session_status", "static"}


def server_page_paths(server) -> list[str]:
    """Every GET route of the Flask server outside Dash with no parameters: the Jinja pages (sign-in,
    password change, upload, versions, administration, audit, the accessibility statement, and any added
    later). Downloads (``.csv``) are not pages."""
    paths = []
    for rule in server.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint.startswith("/") \
                or rule.endpoint.startswith("_dash") or rule.endpoint in NOT_PAGES \
                or re.search(r"\.\w+$", rule.rule):
            continue
        paths.append(rule.rule)
    return sorted(set(paths))


# -- probes -------------------------------------------------------------------------------------------

#: the focused element's focus indicator: an outline or a box-shadow, and how it differs when not focused
FOCUS_STYLE_JS = """
const el = document.activeElement;
if (!el || el === document.body) return null;
const s = getComputedStyle(el);
const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 ? s.outlineWidth + ' ' + s.outlineColor : '';
const shadow = s.boxShadow && s.boxShadow !== 'none' ? s.boxShadow : '';
const r = el.getBoundingClientRect();
return {html: el.outerHTML.slice(0, 160), outline: outline, shadow: shadow, tag: el.tagName,
        visible: r.width > 0 && r.height > 0};
"""

#: horizontal overflow of the document, with what sticks out past the viewport and is not inside a
#: scroll region of its own
OVERFLOW_JS = """
const W = document.documentElement.clientWidth;
const inScroller = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
};
const out = [...document.querySelectorAll('body *')].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > W + 1 && !inScroller(el) && getComputedStyle(el).position !== 'fixed'
        && !el.closest('.visually-hidden, .skip-link');
}).slice(0, 10).map(el => el.outerHTML.slice(0, 120) + ' right=' + Math.round(el.getBoundingClientRect().right));
return {scrollWidth: document.documentElement.scrollWidth, clientWidth: W, out: out};
"""

#: every Plotly chart's tick and category labels: clipped by the chart's SVG, or overlapping a neighbour on
#: the same axis. Each label is taken as the quadrilateral it really covers on screen (its box through its
#: screen transform, so rotated labels are compared as drawn, not by their axis-aligned bounding boxes).
TICKS_JS = """
const quad = t => {
  const b = t.getBBox(), m = t.getScreenCTM();
  return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
    .map(([x, y]) => { const p = new DOMPoint(x, y).matrixTransform(m); return [p.x, p.y]; });
};
const overlap = (a, b) => {  // separating axis test of two convex quadrilaterals, with 1px of slack
  for (const poly of [a, b]) for (let i = 0; i < 4; i++) {
    const [x1, y1] = poly[i], [x2, y2] = poly[(i + 1) % 4];
    const nx = y2 - y1, ny = x1 - x2, len = Math.hypot(nx, ny) || 1;
    const proj = p => p.map(([x, y]) => (x * nx + y * ny) / len);
    const pa = proj(a), pb = proj(b);
    if (Math.max(...pa) - 1 <= Math.min(...pb) || Math.max(...pb) - 1 <= Math.min(...pa)) return false;
  }
  return true;
};
const res = [];
for (const plot of document.querySelectorAll('.js-plotly-plot')) {
  const svg = plot.querySelector('svg.main-svg');
  if (!svg) continue;
  const box = svg.getBoundingClientRect();
  if (box.width === 0) continue;
  const graphId = (plot.closest('.dash-graph') || plot).id;
  for (const axis of ['xtick', 'ytick']) {
    const groups = {};
    for (const t of plot.querySelectorAll('g.' + axis + ' text')) {
      if (!t.textContent.trim() || t.getBoundingClientRect().width === 0) continue;
      const q = quad(t);
      const sub = t.closest('g.subplot');
      const key = sub ? sub.getAttribute('class') : 'plot';
      (groups[key] = groups[key] || []).push({text: t.textContent, q: q});
      const xs = q.map(p => p[0]), ys = q.map(p => p[1]);
      if (Math.min(...xs) < box.left - 1 || Math.max(...xs) > box.right + 1
          || Math.min(...ys) < box.top - 1 || Math.max(...ys) > box.bottom + 1)
        res.push(graphId + ': ' + axis + ' "' + t.textContent + '" clipped (label ' + [Math.min(...xs), Math.min(...ys),
                 Math.max(...xs), Math.max(...ys)].map(Math.round) + ' chart ' + [box.left, box.top, box.right,
                 box.bottom].map(Math.round) + ')');
    }
    for (const labels of Object.values(groups)) {
      for (let i = 0; i < labels.length; i++) for (let j = i + 1; j < labels.length; j++) {
        if (overlap(labels[i].q, labels[j].q))
          res.push(graphId + ': ' + axis + ' "' + labels[i].text + '" overlaps "' + labels[j].text + '"');
      }
    }
  }
}
return res;
"""


def url(duo, path: str) -> str:
    return urljoin(duo.server_url, path)


# Every chart drawn, and the first screen (the page as sent, drawn over the live one) gone.
CHARTS_DRAWN_JS = """
const graphs = [...document.querySelectorAll('.dash-graph')];
return """ + LIVE_PAGE_JS + """
    && graphs.every(g => g.querySelector('.js-plotly-plot svg.main-svg'));
"""


def load(duo, path: str, timeout: float = 30) -> None:
    """Open ``path`` and wait for its heading, and on a Dash page for its callbacks and charts."""
    from selenium.webdriver.support.wait import WebDriverWait

    duo.driver.get(url(duo, path))
    duo.wait_for_element("#page-heading", timeout=timeout)
    if duo.driver.execute_script("return !!window.dash_clientside || !!document.getElementById('react-entry-point')"):
        WebDriverWait(duo.driver, timeout).until(
            lambda d: (not duo.window_store or duo.redux_state_rqs == [])
            and d.execute_script(CHARTS_DRAWN_JS))


def sign_in_as(duo, app, role: str) -> None:
    """Sign the shared browser out (its cookies dropped) and in again as ``role``."""
    from tests.helpers import browser_sign_in

    duo.driver.delete_all_cookies()
    browser_sign_in(duo, app.server.config["DASHBOARD_MANAGER"].engine, role, base_url=duo.server_url)
