"""Fifty people at once: the exact requests a browser makes, replayed for 50 simulated inspectors.

Rules:
- The server is the embedded default as ``make run`` serves it: gunicorn with ``gunicorn.conf.py``
  (2 workers, 4 threads each), SQLite, no Redis, on the benchmark instance.
- Recording: headless Chromium, signed in through an inspector link, opens each page of
  ``instance.FIFTY_PAGES`` in turn; Chromium's DevTools protocol (the performance log: ``Network.*``
  events, through chromedriver) gives every request it sent: method, URL, headers, body. Requests the
  browser answered from its own cache send nothing and are not replayed. Nothing is hand-written.
- Replay: each simulated person has their own inspector link (own session and CSRF token, put in
  the recorded requests' place), opens the pages in turn with 2 s think time, ``cycles`` times; a
  person's browser keeps static files (bundles, assets) after the first page, as the recording did.
  Within a page the requests are sent one after another on one keep-alive connection.
- A page's server work: the time from sending its first request to reading its last response (all
  its requests, one after another). Single person: one simulated inspector alone, before and after
  the crowd (its median per page). Fifty: all start within the first second.
- Budgets: no failed request (a status of 400 or more, or no answer); each page's p95 of server
  work at fifty <= 5 x its single-person median.
"""
from __future__ import annotations

import datetime as dt
import http.client
import json
import random
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dashboard.web.security import STATIC_PATH_PREFIXES

from .bench_browser import DRAWN_JS, Server, app_root, _wait_drawn
from .core import Row, median
from .instance import FIFTY_PAGES, Instance

SECTION = "fifty people at once (gunicorn 2 workers, replayed browser requests, inspector links)"
BUDGET_RATIO = 5.0
USERS = 50
THINK_S = 2.0
#: static files, as the product names them: the same for everyone, kept by the browser after the first page
STATIC_PREFIXES = STATIC_PATH_PREFIXES
DROP_HEADERS = {"cookie", "x-csrftoken", "host", "content-length", "connection"}


@dataclass
class Req:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    status: int

    @property
    def static(self) -> bool:
        return self.path.startswith(STATIC_PREFIXES)


@dataclass
class Page:
    url: str
    requests: list[Req] = field(default_factory=list)


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


# -- sessions -----------------------------------------------------------------------------------

def inspector_tokens(inst: Instance, n: int) -> list[str]:
    """``n`` new inspector links on the instance's own authority (their tokens)."""
    from dashboard import store
    from dashboard.auth import service

    engine = store.get_engine(inst.settings.database_url)
    try:
        expires = service.utcnow() + dt.timedelta(days=1)
        return [service.create_link(engine, label=f"bench inspector {i + 1}", expires_at=expires,
                                    issued_by="benchmarks", scope={"las": [inst.settings.la_code]})[1]
                for i in range(n)]
    finally:
        engine.dispose()


def _cookies_from(resp: http.client.HTTPResponse, jar: dict[str, str]) -> None:
    for name, value in resp.getheaders():
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            k, _, v = pair.partition("=")
            if v:
                jar[k.strip()] = v.strip()
            else:
                jar.pop(k.strip(), None)


def open_link(base: str, token: str) -> dict[str, str]:
    """A person's cookies after opening their inspector link (session and CSRF token)."""
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    jar: dict[str, str] = {}
    try:
        for path in (f"/share/{token}", "/healthz"):
            conn.request("GET", path, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
            resp = conn.getresponse()
            resp.read()
            _cookies_from(resp, jar)
            if resp.status >= 400:
                raise RuntimeError(f"{path}: HTTP {resp.status}")
    finally:
        conn.close()
    if "_csrf_token" not in jar or len(jar) < 2:
        raise RuntimeError(f"opening an inspector link gave cookies {sorted(jar)}")
    return jar


# -- recording ----------------------------------------------------------------------------------

def record(base: str, cookies: dict[str, str], pages=FIFTY_PAGES) -> list[Page]:
    """Open each page in turn in headless Chromium and keep every request it sent (DevTools protocol)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options

    from tests.conftest import CHROME_ARGS

    profile = Path(tempfile.mkdtemp(prefix="dashboard-bench-record-"))
    options = Options()
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.add_argument("--headless")
    options.add_argument(f"--user-data-dir={profile}")
    binary = shutil.which("chromium")
    if binary:
        options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options)
    from .bench_pages import IDLE_JS

    out: list[Page] = []
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        for name, value in cookies.items():
            driver.execute_cdp_cmd("Network.setCookie", {"name": name, "value": value, "url": base + "/"})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DRAWN_JS % 0})
        for url in pages:
            driver.get_log("performance")  # drop what came before
            driver.get(base + url)
            _wait_drawn(driver, url)
            deadline = time.monotonic() + 30
            while not driver.execute_script(IDLE_JS) and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.5)
            out.append(Page(url, _requests(driver.get_log("performance"), base, base + url)))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return out


def _requests(log: list[dict], base: str, page_url: str) -> list[Req]:
    sent: dict[str, dict] = {}
    order: list[str] = []
    cached: set[str] = set()
    status: dict[str, int] = {}
    for entry in log:
        msg = json.loads(entry["message"])["message"]
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Network.requestWillBeSent":
            rid = p["requestId"]
            key = rid if rid not in sent else f"{rid}#{len(order)}"  # a redirect reuses the id
            sent[key] = p["request"]
            order.append(key)
        elif method == "Network.requestServedFromCache":
            cached.add(p["requestId"])
        elif method == "Network.responseReceived":
            r = p["response"]
            if r.get("fromDiskCache") or r.get("fromPrefetchCache") or r.get("fromServiceWorker"):
                cached.add(p["requestId"])
            status[p["requestId"]] = int(r.get("status", 0))
    out = []
    for rid in order:
        req = sent[rid]
        if rid.split("#")[0] in cached or not req["url"].startswith(base):
            continue
        headers = {k: v for k, v in req.get("headers", {}).items() if k.lower() not in DROP_HEADERS}
        if req["url"].split("#")[0] != page_url and not any(k.lower() == "referer" for k in headers):
            headers["Referer"] = page_url
        if not any(k.lower() == "accept-encoding" for k in headers):
            headers["Accept-Encoding"] = "gzip, deflate, br, zstd"
        body = req.get("postData")
        path = req["url"][len(base):] or "/"
        out.append(Req(req["method"], path, headers, body.encode() if body is not None else None,
                       status.get(rid.split("#")[0], 0)))
    return out


# -- replay -------------------------------------------------------------------------------------

@dataclass
class Visit:
    page: str
    seconds: float
    failures: list[str]


class Person(threading.Thread):
    """One simulated inspector: their own session, the recorded pages in turn, think time between."""

    def __init__(self, base: str, cookies: dict[str, str], pages: list[Page], cycles: int, think_s: float,
                 start_delay: float = 0.0):
        super().__init__(daemon=True)
        self.base, self.jar, self.pages = base, dict(cookies), pages
        self.cycles, self.think_s, self.start_delay = cycles, think_s, start_delay
        self.visits: list[Visit] = []
        self.conn: http.client.HTTPConnection | None = None

    def _connect(self):
        u = urlsplit(self.base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)

    def _send(self, req: Req) -> int:
        headers = dict(req.headers)
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        if any(k.lower() == "x-csrftoken" for k in req.headers) or req.method == "POST":
            headers["X-CSRFToken"] = self.jar.get("_csrf_token", "")
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self._connect()
                self.conn.request(req.method, req.path, body=req.body, headers=headers)
                resp = self.conn.getresponse()
                resp.read()
                _cookies_from(resp, self.jar)
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # a keep-alive connection the server closed between pages: a browser opens another
                self.conn = None
                if attempt == 2:
                    raise
        return 0

    def run(self) -> None:
        time.sleep(self.start_delay)
        seen_static = False
        for cycle in range(self.cycles):
            for i, page in enumerate(self.pages):
                if cycle or i:
                    time.sleep(self.think_s)
                failures = []
                t0 = time.perf_counter()
                for req in page.requests:
                    if req.static and seen_static:
                        continue  # the browser keeps them (immutable), as the recording did
                    try:
                        status = self._send(req)
                    except Exception as exc:  # noqa: BLE001 - counted as a failed request
                        failures.append(f"{req.method} {req.path}: {type(exc).__name__}")
                        self.conn = None
                        continue
                    if status >= 400 or status == 0:
                        failures.append(f"{req.method} {req.path}: HTTP {status}")
                seen_static = True
                self.visits.append(Visit(page.url, time.perf_counter() - t0, failures))
        if self.conn is not None:
            self.conn.close()


def crowd(base: str, jars: list[dict[str, str]], pages: list[Page], cycles: int, think_s: float,
          spread_s: float = 1.0, seed: int = 12) -> list[Visit]:
    rng = random.Random(seed)
    people = [Person(base, jar, pages, cycles, think_s, rng.uniform(0, spread_s)) for jar in jars]
    for p in people:
        p.start()
    for p in people:
        p.join(timeout=900)
    return [v for p in people for v in p.visits]


def run(inst: Instance, cycles: int, single_rounds: int, users: int = USERS) -> tuple[list[Row], dict]:
    logs = inst.root / "logs"
    logs.mkdir(exist_ok=True)
    app = Server("app:server", inst.env, "/healthz", logs / "gunicorn-app-fifty.log", app_root())
    try:
        tokens = inspector_tokens(inst, users + 2 * single_rounds + 1)
        pages = record(app.base, open_link(app.base, tokens.pop()))
        recorded = {p.url: [f"{r.method} {r.path.split('?')[0]} {r.status}" for r in p.requests] for p in pages}
        for p in pages:
            if not any(r.method == "GET" and r.path.split("?")[0] == p.url.split("?")[0] for r in p.requests):
                raise RuntimeError(f"the recording of {p.url} has no page request: {recorded[p.url]}")
        jars = [open_link(app.base, t) for t in tokens]
        singles, crowd_jars = jars[: 2 * single_rounds], jars[2 * single_rounds:]
        single: list[Visit] = []
        for jar in singles[:single_rounds]:
            single += crowd(app.base, [jar], pages, 1, 0.5, 0)
        print(f"   single person: {len(single)} page visits; fifty ...", flush=True)
        t0 = time.perf_counter()
        many = crowd(app.base, crowd_jars, pages, cycles, THINK_S)
        took = time.perf_counter() - t0
        for jar in singles[single_rounds:]:
            single += crowd(app.base, [jar], pages, 1, 0.5, 0)
        alive = app.alive()
    finally:
        app.stop()
    failures = [f for v in many + single for f in v.failures]
    rows = [Row(SECTION, "failed requests (fifty people)", len(failures), "count", budget=0,
                note="; ".join(sorted(set(failures))[:5]) + ("" if alive else " (the server exited)"))]
    n_requests = sum(len(p.requests) for p in pages)
    for p in pages:
        one = [v.seconds * 1000 for v in single if v.page == p.url]
        fifty = [v.seconds * 1000 for v in many if v.page == p.url]
        rows.append(Row(SECTION, f"{p.url}: p95 server work at fifty vs one person's median",
                        _percentile(fifty, 0.95), "ms", floor=median(one), floor_name="one person, median",
                        budget=BUDGET_RATIO, samples=fifty, floor_samples=one,
                        note=f"{len(p.requests)} requests recorded; median at fifty {median(fifty):.0f} ms"))
    pages_served = len(many)
    meta = {"recorded_requests": recorded, "requests_per_cycle": n_requests, "users": len(crowd_jars),
            "cycles": cycles, "think_s": THINK_S, "crowd_seconds": round(took, 1),
            "page_visits": pages_served, "pages_per_second": round(pages_served / took, 2) if took else None}
    rows.append(Row(SECTION, f"page visits served ({len(crowd_jars)} people x {len(pages)} pages x {cycles})",
                    pages_served, "count", note=f"{pages_served / took:.1f} pages/s over {took:.0f} s"))
    return rows, meta
