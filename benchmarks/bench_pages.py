"""Page budgets: each page against the very same page saved as static HTML, side by side in one run.

Rules:
- The product runs under gunicorn with ``gunicorn.conf.py`` (2 workers, as ``make run``) on the
  benchmark instance, signed in as a viewer. The pages are every route of ``dashboard.routes.PAGES``
  with example values (``instance.BUDGET_PAGES``): a new route is measured without a new line here.
- The floor of a page is that page saved as static HTML: a signed-in browser draws the page, the
  rendered DOM is saved with each chart's figure (``data``, ``layout``) taken from the drawn chart,
  and the saved page redraws the charts with the same plotly.js bundle (``/assets``), the same
  stylesheets, from a plain Flask app under the same gunicorn settings, with the same compression
  and caching of static files (``dashboard.web.speed``). Both HTML documents are ``no-store``.
- Loaded: the page heading is there, as many ``.js-plotly-plot`` as the page has charts, each with
  its ``.main-svg`` (``bench_browser.DRAWN_JS``), timed from navigation start in the page itself, looked at
  on every change to the document (a MutationObserver) and every 4 ms, the same on both sides: a timer alone
  was late by as long as the page's next script kept it busy (on the product, Dash starting after the
  first paint), which is not when the page was drawn.
  For the product, also "interactive": Dash's renderer has no request pending (informational).
- Cold: a new browser with an empty profile per sample; warm: reloads in the same browser, each from a
  settled page (the product's renderer idle; a reload in the middle of Dash starting left its requests
  in flight on the server, which the static page never has) and 0.3 s at rest on both sides. Each page
  and its floor are visited one after the other, round by round, so background load is shared.
- Budgets (issue 12): warm <= 1.3 x floor warm, cold <= 1.5 x floor cold, bytes moved on a cold load
  (document and every resource, as the browser's Resource Timing counts them) <= 1 MB.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .bench_browser import DRAWN_JS, Server, app_root, _driver, _wait_drawn
from .core import Row, median
from .instance import BUDGET_PAGES, Instance
from .signin import sign_in_http

SECTION = "pages: each against itself saved as static HTML (headless Chromium, gunicorn 2 workers)"
BUDGET_WARM = 1.3
BUDGET_COLD = 1.5
BUDGET_BYTES = 1_000_000

BYTES_JS = """var nav = performance.getEntriesByType('navigation')[0];
var total = nav ? (nav.transferSize || 0) : 0, body = nav ? (nav.decodedBodySize || 0) : 0;
performance.getEntriesByType('resource').forEach(function (e) { total += e.transferSize || 0;
  body += e.decodedBodySize || 0; });
return {transfer: total, decoded: body,
        requests: performance.getEntriesByType('resource').length + 1};"""

# The drawn page, as static HTML: the DOM of the app, each chart emptied and its figure kept.
CAPTURE_JS = """var root = document.getElementById('react-entry-point') || document.body;
var copy = root.cloneNode(true);
var live = root.querySelectorAll('.js-plotly-plot');
var dead = copy.querySelectorAll('.js-plotly-plot');
var figs = [];
for (var i = 0; i < live.length; i++) {
  var gd = live[i];
  figs.push({data: gd.data, layout: gd.layout, config: {displaylogo: false, responsive: true}});
  var d = dead[i];
  while (d.firstChild) { d.removeChild(d.firstChild); }
  d.classList.remove('js-plotly-plot');
  d.setAttribute('data-floor-chart', String(i));
}
copy.querySelectorAll('script').forEach(function (s) { s.remove(); });
var css = [];
document.querySelectorAll('link[rel=stylesheet]').forEach(function (l) { css.push(l.getAttribute('href')); });
var plotly = null;
document.querySelectorAll('script[src]').forEach(function (s) {
  if (/plotly.*\\.js/.test(s.getAttribute('src'))) { plotly = s.getAttribute('src'); } });
return {html: copy.outerHTML, figures: JSON.stringify(figs), css: css, plotly: plotly,
        title: document.title, charts: live.length,
        heading: (document.getElementById('page-heading') || {}).textContent};"""

# Dash's renderer has finished: the layout is in, no callback is pending, nothing is loading and the
# first screen (the page as sent, drawn over the live page until that is ready) is gone.
IDLE_JS = """if (!window.store || !window.store.getState) { return false; }
var s = window.store.getState();
if (s.isLoading || !document.getElementById('page-heading')) { return false; }
if (document.getElementById('first-screen')) { return false; }
var cbs = Object.assign({}, s.callbacks || {}); delete cbs.stored; delete cbs.completed;
var pending = Array.prototype.concat.apply([], Object.values(cbs)).length;
var graphs = document.querySelectorAll('.dash-graph').length, drawn = 0;
document.querySelectorAll('.js-plotly-plot').forEach(function (p) { if (p.querySelector('.main-svg')) { drawn++; } });
return pending === 0 && drawn === graphs;"""


def static_page(capture: dict) -> str:
    """The saved page: same stylesheets, the drawn DOM, the same plotly.js redrawing the same figures."""
    css = "".join(f'<link rel="stylesheet" href="{href}">' for href in capture["css"])
    script = ("<script>var FIGS = " + capture["figures"].replace("</", "<\\/") + ";\n"
              "document.querySelectorAll('[data-floor-chart]').forEach(function (el) {\n"
              "  var f = FIGS[+el.getAttribute('data-floor-chart')];\n"
              "  Plotly.newPlot(el, f.data, f.layout, f.config);\n"
              "});</script>") if capture["charts"] else ""
    plotly = f'<script src="{capture["plotly"]}"></script>' if capture["charts"] and capture["plotly"] else ""
    return ("<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{capture['title']}</title>{css}</head><body>{capture['html']}{plotly}{script}</body></html>")


@dataclass
class Target:
    label: str
    url: str
    charts: int
    heading: str
    cookies: list[dict] = field(default_factory=list)
    product: bool = True


@dataclass
class Load:
    cold_ms: float
    warm_ms: list[float]
    transfer: int
    decoded: int
    requests: int
    interactive_ms: float | None = None


def _interactive_ms(driver) -> float | None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if driver.execute_script(IDLE_JS):
            return float(driver.execute_script("return performance.now()"))
        time.sleep(0.01)
    return None


def load(target: Target, warm_reloads: int) -> Load:
    """One cold load in a new browser (empty profile), then ``warm_reloads`` reloads."""
    profile = Path(tempfile.mkdtemp(prefix="dashboard-bench-pages-"))
    driver = _driver(profile)
    try:
        for c in target.cookies:
            driver.execute_cdp_cmd("Network.setCookie", {**c, "url": target.url})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DRAWN_JS % target.charts})
        driver.get(target.url)
        got = _wait_drawn(driver, target.label)
        _check(driver, target)
        cold = float(got["t"])
        interactive = _interactive_ms(driver) if target.product else None
        time.sleep(0.3)  # late chunks (lazy bundles) count in the bytes
        moved = driver.execute_script(BYTES_JS)
        warm = []
        for _ in range(warm_reloads):
            driver.refresh()
            got = _wait_drawn(driver, target.label)
            _check(driver, target)
            warm.append(float(got["t"]))
            if target.product:
                _interactive_ms(driver)  # settled, as a person's page is before they reload it
            time.sleep(0.3)  # both sides: the page at rest (layout, garbage collection) before the next reload
        return Load(cold, warm, int(moved["transfer"]), int(moved["decoded"]), int(moved["requests"]), interactive)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _check(driver, target: Target) -> None:
    text = driver.execute_script("var h = document.getElementById('page-heading'); return h ? h.textContent : null")
    if text != target.heading:
        raise RuntimeError(f"{target.label}: page heading {text!r}, expected {target.heading!r}")


def capture(url: str, cookies: list[dict]) -> dict:
    """Draw the page in a signed-in browser and keep it as static HTML with its figures."""
    profile = Path(tempfile.mkdtemp(prefix="dashboard-bench-capture-"))
    driver = _driver(profile)
    try:
        for c in cookies:
            driver.execute_cdp_cmd("Network.setCookie", {**c, "url": url})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DRAWN_JS % 0})
        driver.get(url)
        _wait_drawn(driver, url)
        if _interactive_ms(driver) is None:
            raise RuntimeError(f"{url}: the page did not settle")
        time.sleep(0.5)
        if _interactive_ms(driver) is None:  # still settled, every chart drawn
            raise RuntimeError(f"{url}: the page did not settle")
        got = driver.execute_script(CAPTURE_JS)
        if not got.get("heading"):
            raise RuntimeError(f"{url}: no page heading (not signed in, or an error page)")
        return got
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def run(inst: Instance, reps: int, warm_reloads: int) -> tuple[list[Row], dict]:
    logs = inst.root / "logs"
    logs.mkdir(exist_ok=True)
    floors = inst.root / "floors"
    floors.mkdir(exist_ok=True)
    app = Server("app:server", inst.env, "/healthz", logs / "gunicorn-app-pages.log", app_root())
    floor = None
    try:
        cookies = sign_in_http(app.base, inst.account)
        targets: list[tuple[Target, Target]] = []
        for label, url in BUDGET_PAGES:
            cap = capture(app.base + url, cookies)
            name = f"floor-{len(targets)}.html"
            (floors / name).write_text(static_page(cap), encoding="utf-8")
            targets.append((Target(label, app.base + url, cap["charts"], cap["heading"], cookies),
                            Target(f"{label} (static)", f"/floor/{name}", cap["charts"], cap["heading"],
                                   product=False)))
        floor = Server("benchmarks.floor_app:server", {**inst.env, "BENCH_FLOOR_DIR": str(floors)}, "/ping",
                       logs / "gunicorn-floor-pages.log")
        for _, f in targets:
            f.url = floor.base + f.url
        load(targets[0][1], 1)  # warm-up: the browser binary and the OS file cache
        results: dict[str, tuple[list[Load], list[Load]]] = {t.label: ([], []) for t, _ in targets}
        for rep in range(reps):
            print(f"   round {rep + 1}/{reps}:", end="", flush=True)
            for page, static in targets:
                mine, theirs = results[page.label]
                for t, out in ((page, mine), (static, theirs)) if rep % 2 == 0 else ((static, theirs), (page, mine)):
                    try:
                        out.append(load(t, warm_reloads))
                    except Exception as exc:
                        raise RuntimeError(f"{t.label}: {str(exc).splitlines()[0]}\n"
                                           f"--- app log ---\n{app.log_tail()}") from exc
                print(f" {page.label} {mine[-1].cold_ms / 1000:.2f}/{theirs[-1].cold_ms / 1000:.2f}s",
                      end="", flush=True)
            print(flush=True)
    finally:
        if floor is not None:
            floor.stop()
        app.stop()
    return rows(results), {label: {"charts": p.charts, "url": p.url.split("//", 1)[-1].split("/", 1)[-1]}
                           for (p, _) in targets for label in [p.label]}


@dataclass
class PageResult:
    """One page's figures, as ``summary`` prints them."""

    label: str
    warm_ms: float
    floor_warm_ms: float
    cold_ms: float
    floor_cold_ms: float
    cold_bytes: int
    floor_bytes: int


def rows(results: dict[str, tuple[list[Load], list[Load]]]) -> list[Row]:
    out = []
    for label, (mine, theirs) in results.items():
        warm = [w for x in mine for w in x.warm_ms]
        f_warm = [w for x in theirs for w in x.warm_ms]
        cold = [x.cold_ms for x in mine]
        f_cold = [x.cold_ms for x in theirs]
        inter = [x.interactive_ms for x in mine if x.interactive_ms is not None]
        out.append(Row(SECTION, f"{label}, warm", median(warm), "ms", floor=median(f_warm),
                       floor_name="static warm", budget=BUDGET_WARM, samples=warm, floor_samples=f_warm))
        out.append(Row(SECTION, f"{label}, cold", median(cold), "ms", floor=median(f_cold),
                       floor_name="static cold", budget=BUDGET_COLD, samples=cold, floor_samples=f_cold,
                       note=f"interactive (Dash idle) at {median(inter):.0f} ms (median)" if inter else ""))
        out.append(Row(SECTION, f"{label}, bytes moved cold", mine[0].transfer, "bytes", budget=BUDGET_BYTES,
                       samples=[x.transfer for x in mine],
                       note=f"static page {theirs[0].transfer:,} bytes; {mine[0].requests} requests, "
                            f"{mine[0].decoded:,} bytes decoded"))
    return out


def results_from_rows(rs: list[Row]) -> list[PageResult]:
    """The per-page figures back from the rows (for the summary table)."""
    by = {r.measure: r for r in rs if r.section == SECTION}
    labels = [m[: -len(", warm")] for m in by if m.endswith(", warm")]
    out = []
    for label in labels:
        w, c, b = by[f"{label}, warm"], by[f"{label}, cold"], by[f"{label}, bytes moved cold"]
        out.append(PageResult(label, w.value, w.floor or float("nan"), c.value, c.floor or float("nan"),
                              int(b.value) if b.value == b.value else 0, 0))
    return out
