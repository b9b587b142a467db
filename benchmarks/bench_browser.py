"""In the browser: time to "all charts drawn" in headless Chromium, against a static floor page.

Rules:
- The product runs under gunicorn with ``gunicorn.conf.py`` (bind overridden to a free loopback
  port) on the benchmark instance; the floor page (``benchmarks.floor_app``) runs the same way
  on another port. The browser is signed in as a viewer by cookie (``benchmarks.signin``), set
  through the DevTools protocol before the first navigation, so no asset is cached beforehand.
- "All charts drawn": the page heading (``#page-heading``) exists, as many ``.js-plotly-plot``
  as the page has charts (the router's own count, from the server benchmark) exist, and each
  has its ``.main-svg``. A script injected before any page script checks this every few
  milliseconds and records ``performance.now()`` (milliseconds since navigation start) the
  first time it holds, so polling from Python adds nothing to the time. The heading text is
  then checked against the server's, so a sign-in or error page cannot pass.
- Cold: a new browser with a new profile (empty cache) per sample. Warm: reloads in that same
  browser. Pages are visited round-robin, the floor among them, so background load is shared.
- Budgets: each page <= 3 x the floor cold and <= 3 x the floor warm; live charts per page
  <= 12; JavaScript transferred on a cold load <= 1 x the full ``plotly.min.js``.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from dashboard.config import ROOT
from tests.conftest import CHROME_ARGS  # the test tier's Chromium flags (headless container, no network)

from .bench_server import PageCheck, router_body
from .core import Row, median
from .instance import PAGES, Instance
from .signin import CSRF_COOKIE, CSRF_HEADER, sign_in_http

SECTION = "3. browser, all charts drawn (headless Chromium, gunicorn)"
BUDGET_COLD = 3.0
BUDGET_WARM = 3.0
BUDGET_CHARTS = 12
BUDGET_JS_VS_FULL_PLOTLY = 1.0
FLOOR_LABEL = "floor: static page, 12 charts"
DRAW_TIMEOUT_S = 60.0


def app_root() -> Path:
    """The checkout the product is served from: this one, or ``$BENCH_APP_ROOT`` (a before/after run)."""
    return Path(os.environ.get("BENCH_APP_ROOT") or ROOT)


DRAWN_JS = """(function () {
  var expected = %d;
  function drawn() {
    if (window.__benchDrawn) { return true; }
    var h = document.getElementById('page-heading');
    if (!h) { return false; }
    if (window.__benchHeading === undefined) { window.__benchHeading = performance.now(); }
    var plots = document.querySelectorAll('.js-plotly-plot');
    var n = 0;
    for (var i = 0; i < plots.length; i++) { if (plots[i].querySelector('.main-svg')) { n++; } }
    if (plots.length >= expected && n === plots.length) {
      window.__benchDrawn = {t: performance.now(), charts: plots.length, heading: window.__benchHeading};
      return true;
    }
    return false;
  }
  // Looked at on every change to the document (at the end of the script or parsing step that made it) and every
  // 4 ms: a timer alone is late by however long the page's next script keeps it busy, which has nothing to do
  // with when the heading and the charts were drawn.
  var seen = new MutationObserver(function () { if (drawn()) { seen.disconnect(); } });
  seen.observe(document, {childList: true, subtree: true});
  (function poll() { if (drawn()) { seen.disconnect(); } else { setTimeout(poll, 4); } })();
})();"""

ROUTER_MS_JS = """return performance.getEntriesByType('resource')
  .filter(function (e) { return e.name.indexOf('/_dash-update-component') >= 0; })
  .reduce(function (m, e) { return Math.max(m, e.responseEnd - e.startTime); }, 0);"""

RESOURCES_JS = """return performance.getEntriesByType('resource')
  .filter(function (e) { return e.initiatorType === 'script' || /\\.js(\\?|$)/.test(e.name); })
  .map(function (e) { return {name: e.name, transfer: e.transferSize, encoded: e.encodedBodySize}; });"""


def missing_executables() -> list[str]:
    return [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]


def full_plotly_size() -> int:
    return Path(str(files("plotly") / "package_data" / "plotly.min.js")).stat().st_size


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn process with the product's config, bound to a free loopback port.

    ``root``: the checkout it runs from (its ``app.py``, ``dashboard/`` and ``gunicorn.conf.py``); another
    checkout (``BENCH_APP_ROOT``) measures an earlier version of the product with the same harness."""

    def __init__(self, wsgi: str, env: dict[str, str], ready_path: str, log_path: Path, root: Path = ROOT):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full_env = dict(os.environ)
        full_env.update(env)
        full_env.update({"HOST": "127.0.0.1", "PORT": str(self.port)})
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            # Options first: the command line then never contains "gunicorn app:server", so a
            # developer's `pkill -f "gunicorn app:server"` for their own server leaves this one alone.
            [sys.executable, "-m", "gunicorn", "-c", str(root / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", wsgi],
            cwd=str(root), env=full_env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn {wsgi} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + ready_path, timeout=10) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn {wsgi} did not answer {ready_path} within 90 s:\n{self.log_tail()}")
            time.sleep(0.2)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 1500) -> str:
        if not self.log.closed:
            self.log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return text[-chars:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@dataclass
class Target:
    label: str
    url: str
    expected_charts: int
    heading: str
    cookies: list[dict] = field(default_factory=list)


@dataclass
class Visit:
    cold_ms: float
    warm_ms: list[float]
    charts: int
    js_transfer: int
    js_encoded: int
    console_errors: list[str]
    router_ms: list[float]  # the longest callback request of each load, as the browser timed it
    heading_ms: list[float]  # when the page heading appeared, each load


def _driver(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.add_argument("--headless")
    options.add_argument(f"--user-data-dir={profile}")
    binary = os.environ.get("DASH_TEST_CHROMEPATH") or shutil.which("chromium")
    if binary:
        options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    return webdriver.Chrome(options=options)


def _wait_drawn(driver, label: str) -> dict:
    deadline = time.monotonic() + DRAW_TIMEOUT_S
    while True:
        got = driver.execute_script("return window.__benchDrawn || null")
        if got:
            return got
        if time.monotonic() > deadline:
            heading = driver.execute_script(
                "var h = document.querySelector('h1'); return h ? h.textContent : null")
            raise RuntimeError(f"{label}: charts not drawn within {DRAW_TIMEOUT_S:.0f} s "
                               f"(url {driver.current_url}, first h1 {heading!r})")
        time.sleep(0.02)


def _check_heading(driver, target: Target) -> None:
    text = driver.execute_script("var h = document.getElementById('page-heading'); return h ? h.textContent : null")
    if text != target.heading:
        raise RuntimeError(f"{target.label}: page heading {text!r}, expected {target.heading!r}")


def visit(target: Target, warm_reloads: int, settle: bool = True) -> Visit:
    """One cold load in a new browser, then ``warm_reloads`` reloads in it.

    ``settle`` waits a moment after the cold load so that late script chunks are counted in the
    JavaScript bytes (the same on every cold load, so one settled visit per page is enough).
    """
    profile = Path(tempfile.mkdtemp(prefix="dashboard-bench-chromium-"))
    driver = _driver(profile)
    try:
        for c in target.cookies:
            driver.execute_cdp_cmd("Network.setCookie", {**c, "url": target.url})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DRAWN_JS % target.expected_charts})
        driver.get(target.url)
        got = _wait_drawn(driver, target.label)
        _check_heading(driver, target)
        cold, charts = float(got["t"]), int(got["charts"])
        if settle:
            time.sleep(0.3)
        js = driver.execute_script(RESOURCES_JS)
        router = [float(driver.execute_script(ROUTER_MS_JS))]
        heading = [float(got["heading"])]
        warm = []
        for _ in range(warm_reloads):
            driver.refresh()
            got = _wait_drawn(driver, target.label)
            _check_heading(driver, target)
            warm.append(float(got["t"]))
            router.append(float(driver.execute_script(ROUTER_MS_JS)))
            heading.append(float(got["heading"]))
            charts = max(charts, int(got["charts"]))
        errors = [e.get("message", "") for e in driver.get_log("browser")]
        return Visit(cold_ms=cold, warm_ms=warm, charts=charts, js_transfer=sum(int(e["transfer"]) for e in js),
                     js_encoded=sum(int(e["encoded"]) for e in js), console_errors=errors,
                     router_ms=router, heading_ms=heading)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _warm_server(base: str, cookies: list[dict], rounds: int = 2) -> None:
    """Render every page a few times over HTTP from two threads, so both workers hold the data."""
    header = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    csrf = next((c["value"] for c in cookies if c["name"] == CSRF_COOKIE), None)
    headers = {"Content-Type": "application/json", "Cookie": header}
    if csrf:
        headers[CSRF_HEADER] = csrf
    req = urllib.request.Request(base + "/_dash-dependencies", headers={"Cookie": header})
    with urllib.request.urlopen(req, timeout=120) as r:
        deps = json.load(r)
    bodies = [router_body(deps, path, query).encode() for _, path, query in PAGES]
    errors: list[str] = []

    def work():
        for _ in range(rounds):
            for body in bodies:
                try:
                    with urllib.request.urlopen(urllib.request.Request(base + "/_dash-update-component", data=body,
                                                                       headers=headers), timeout=120) as r:
                        r.read()
                except OSError as exc:
                    errors.append(str(exc))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"warming the server failed: {errors[0]}")


def run(inst: Instance, checks: dict[str, PageCheck], reps: int, warm_reloads: int) -> list[Row]:
    logs = inst.root / "logs"
    logs.mkdir(exist_ok=True)
    app_server = Server("app:server", inst.env, "/healthz", logs / "gunicorn-app.log")
    try:
        floor_server = Server("benchmarks.floor_app:server", inst.env, "/ping", logs / "gunicorn-floor.log")
    except Exception:
        app_server.stop()
        raise
    try:
        cookies = sign_in_http(app_server.base, inst.account)
        _warm_server(app_server.base, cookies)
        from .floor_app import N_CHARTS

        targets = [Target(FLOOR_LABEL, floor_server.base + "/", N_CHARTS, "Floor")]
        targets += [Target(label, app_server.base + path + query, checks[label].graphs, checks[label].heading,
                           cookies)
                    for label, path, query in PAGES]
        visit(targets[0], 1)  # warm-up: browser binary and OS file cache
        visits: dict[str, list[Visit]] = {t.label: [] for t in targets}
        for rep in range(reps):
            print(f"   round {rep + 1}/{reps}:", end="", flush=True)
            for t in targets:
                try:
                    v = visit(t, warm_reloads, settle=rep == 0)
                except Exception as exc:
                    servers = {"app": app_server, "floor": floor_server}
                    state = "; ".join(f"{n} server {'running' if s.alive() else 'exited'}" for n, s in servers.items())
                    tails = "\n".join(f"--- gunicorn {n} log ---\n{s.log_tail()}" for n, s in servers.items())
                    raise RuntimeError(f"{t.label}: {str(exc).splitlines()[0]} ({state})\n{tails}") from exc
                visits[t.label].append(v)
                print(f" {v.cold_ms / 1000:.1f}s", end="", flush=True)
            print(flush=True)
    finally:
        floor_server.stop()
        app_server.stop()
    return _rows(visits)


def _rows(visits: dict[str, list[Visit]]) -> list[Row]:
    floor = visits[FLOOR_LABEL]
    f_cold = [v.cold_ms for v in floor]
    f_warm = [w for v in floor for w in v.warm_ms]
    fc, fw = median(f_cold), median(f_warm)
    full = full_plotly_size()
    rows = [Row(SECTION, f"{FLOOR_LABEL}, cold", fc, "ms", samples=f_cold),
            Row(SECTION, f"{FLOOR_LABEL}, warm", fw, "ms", samples=f_warm)]
    for label, vs in visits.items():
        if label == FLOOR_LABEL:
            continue
        cold = [v.cold_ms for v in vs]
        warm = [w for v in vs for w in v.warm_ms]
        errors = sorted({e for v in vs for e in v.console_errors})
        note = f"console errors: {errors[:3]}" if errors else ""
        rows.append(Row(SECTION, f"{label}, cold", median(cold), "ms", floor=fc, floor_name="floor cold",
                        budget=BUDGET_COLD, samples=cold, floor_samples=f_cold, note=note))
        heading = [w for v in vs for w in v.heading_ms[1:]]
        rows.append(Row(SECTION, f"{label}, warm", median(warm), "ms", floor=fw, floor_name="floor warm",
                        budget=BUDGET_WARM, samples=warm, floor_samples=f_warm,
                        note=f"page heading shown at {median(heading):.0f} ms (median), charts drawn after that"))
        router = [v.router_ms[0] for v in vs] + [w for v in vs for w in v.router_ms[1:]]
        rows.append(Row(SECTION, f"{label}, its callback request in the browser (info)", median(router), "ms",
                        samples=router, note="longest /_dash-update-component request of each load (cold and warm), "
                                             "from the browser's Resource Timing"))
    for label, vs in visits.items():
        rows.append(Row(SECTION, f"{label}, JS transferred (cold)", vs[0].js_transfer, "bytes",
                        floor=full, floor_name="full plotly.min.js",
                        budget=None if label == FLOOR_LABEL else BUDGET_JS_VS_FULL_PLOTLY,
                        samples=[v.js_transfer for v in vs],
                        note=f"first cold load (settled); encoded body {vs[0].js_encoded:,} bytes"))
    for label, vs in visits.items():
        if label == FLOOR_LABEL:
            continue
        rows.append(Row(SECTION, f"{label}, live charts", max(v.charts for v in vs), "count", budget=BUDGET_CHARTS))
    return rows
