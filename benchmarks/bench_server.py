"""Server side: the router callback of every page through the Flask test client.

Rules:
- The product is signed in as a viewer (``benchmarks.signin``): its access gate is part of
  every page's time, as it is for a person.
- A page's time is one POST to ``/_dash-update-component`` with the body the browser sends for
  the router callback (``url.pathname`` -> ``page.children``), built from the app's own
  ``/_dash-dependencies``. Each response is checked (status 200, a page heading that is not an
  error page) so a broken page cannot look fast.
- Floor: a trivial callback (returns its input) of a minimal Dash app in the same process,
  through its own test client, interleaved round by round with the pages.
- Warm: after warm-up rounds, the median of ``rounds`` requests per page. Budget: each page
  <= 400 x floor.
- Cold: a new app on a data version no process has cached (``Instance.fresh_copy``). The first
  request (the overview, which loads the snapshot) and then the first request of each other
  page on that version are timed, over ``cold_cycles`` versions. Loose budgets only: first
  request <= 10,000 x floor, first render of any other page <= 2,000 x floor.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from dash import Dash, Input, Output, dcc, html

from .core import Row, calibrate, interleaved, median, timed
from .instance import PAGES, Instance
from .signin import sign_in_test_client

SECTION_WARM = "2. server, warm (Flask test client)"
SECTION_COLD = "2b. server, cold (new data version)"
UPDATE_URL = "/_dash-update-component"
BUDGET_WARM = 400
BUDGET_COLD_FIRST = 10_000
BUDGET_COLD_PAGE = 2_000
ERROR_HEADINGS = ("Page not found", "No data yet", "Authority not found")


def floor_app() -> Dash:
    """A minimal Dash app with one trivial callback."""
    app = Dash(__name__, serve_locally=True, compress=False)
    app.layout = html.Div([dcc.Input(id="in", value="x"), html.Div(id="out")])

    @app.callback(Output("out", "children"), Input("in", "value"))
    def echo(value):
        return value

    return app


FLOOR_BODY = json.dumps({"output": "out.children", "outputs": {"id": "out", "property": "children"},
                         "inputs": [{"id": "in", "property": "value", "value": "hello"}],
                         "changedPropIds": ["in.value"]})


def router_body(dependencies: list[dict], path: str, search: str) -> str:
    """The JSON body the renderer POSTs for the router callback at ``path`` + ``search``."""
    cb = next(c for c in dependencies if c["output"] == "page.children")
    values = {"url.pathname": path, "url.search": search}

    def fill(items):
        return [{"id": i["id"], "property": i["property"], "value": values.get(f"{i['id']}.{i['property']}")}
                for i in items]

    body = {"output": cb["output"], "outputs": {"id": "page", "property": "children"}, "inputs": fill(cb["inputs"]),
            "changedPropIds": ["url.pathname"]}
    if cb.get("state"):
        body["state"] = fill(cb["state"])
    return json.dumps(body)


def _walk(node):
    if isinstance(node, dict):
        if "type" in node and "props" in node:
            yield node
            for v in node["props"].values():
                yield from _walk(v)
        else:
            for v in node.values():
                yield from _walk(v)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _text(node) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(_text(n) for n in node)
    if isinstance(node, dict) and "props" in node:
        return _text(node["props"].get("children"))
    return ""


@dataclass
class PageCheck:
    heading: str
    graphs: int
    bytes: int


def check_page(resp, label: str) -> PageCheck:
    """Fail loudly unless the router answered with a real page; return its heading and chart count."""
    if resp.status_code != 200:
        raise RuntimeError(f"{label}: HTTP {resp.status_code}: {resp.get_data(as_text=True)[:300]}")
    page = resp.get_json()["response"]["page"]["children"]
    heading = next((_text(c) for c in _walk(page) if c["props"].get("id") == "page-heading"), None)
    if heading is None or heading in ERROR_HEADINGS:
        raise RuntimeError(f"{label}: the router returned {heading!r}, not the page")
    graphs = sum(1 for c in _walk(page) if c["type"] == "Graph")
    return PageCheck(heading=heading, graphs=graphs, bytes=len(resp.get_data()))


class Client:
    """A product app and its test client, warmed up the way a browser opens it."""

    def __init__(self, settings, account):
        from dashboard.web.app import create_app

        self.app = create_app(settings)
        self.client = self.app.server.test_client()
        self.headers = sign_in_test_client(self.client, account)
        for url in ("/", "/_dash-layout"):
            self.client.get(url)
        resp = self.client.get("/_dash-dependencies")
        if resp.status_code != 200:
            raise RuntimeError(f"/_dash-dependencies: HTTP {resp.status_code} (not signed in?)")
        self.dependencies = resp.get_json()

    def post(self, body: str):
        return self.client.post(UPDATE_URL, data=body, content_type="application/json", headers=self.headers)


def page_checks(inst: Instance) -> dict[str, PageCheck]:
    """Each page's heading and chart count, as the router renders it (no timing)."""
    c = Client(inst.settings, inst.account)
    return {label: check_page(c.post(router_body(c.dependencies, path, query)), label)
            for label, path, query in PAGES}


def run(inst: Instance, rounds: int, cold_cycles: int) -> tuple[list[Row], dict[str, PageCheck]]:
    """Warm and cold rows, and each page's check (heading, number of charts) for the browser run."""
    fa = floor_app()
    fclient = fa.server.test_client()
    fclient.get("/")
    fclient.get("/_dash-dependencies")

    def floor():
        r = fclient.post(UPDATE_URL, data=FLOOR_BODY, content_type="application/json")
        if r.status_code != 200:
            raise RuntimeError(f"floor callback failed: HTTP {r.status_code}")

    c = Client(inst.settings, inst.account)
    bodies = {label: router_body(c.dependencies, path, query) for label, path, query in PAGES}
    checks = {label: check_page(c.post(body), label) for label, body in bodies.items()}
    fns = {"floor": floor}
    fns.update({label: (lambda body=body: c.post(body)) for label, body in bodies.items()})
    samples = interleaved(fns, rounds, warmup=2, numbers={"floor": calibrate(floor)})
    floor_ms = [x * 1000 for x in samples["floor"]]
    f = median(floor_ms)
    rows = [Row(SECTION_WARM, "trivial callback (the floor)", f, "ms", samples=floor_ms)]
    for label, path, query in PAGES:
        ms = [x * 1000 for x in samples[label]]
        rows.append(Row(SECTION_WARM, f"{label} (router)", median(ms), "ms", floor=f, floor_name="floor",
                        budget=BUDGET_WARM, samples=ms, floor_samples=floor_ms,
                        note=f"{path}{query}: {checks[label].graphs} charts, {checks[label].bytes:,} bytes of JSON"))

    first: list[float] = []
    cold: dict[str, list[float]] = {label: [] for label, _, _ in PAGES[1:]}
    for _ in range(cold_cycles):
        cc = Client(inst.fresh_copy(), inst.account)
        cbodies = {label: router_body(cc.dependencies, path, query) for label, path, query in PAGES}
        label0 = PAGES[0][0]
        secs, resp = timed(lambda cc=cc, cbodies=cbodies, label0=label0: cc.post(cbodies[label0]))
        check_page(resp, label0)
        first.append(secs * 1000)
        for label, _, _ in PAGES[1:]:
            secs, resp = timed(lambda label=label, cc=cc, cbodies=cbodies: cc.post(cbodies[label]))
            check_page(resp, label)
            cold[label].append(secs * 1000)
    rows.append(Row(SECTION_COLD, f"first request: {PAGES[0][0]} (loads the snapshot)", median(first), "ms",
                    floor=f, floor_name="floor", budget=BUDGET_COLD_FIRST, samples=first))
    for label, ms in cold.items():
        rows.append(Row(SECTION_COLD, f"first render: {label}", median(ms), "ms", floor=f, floor_name="floor",
                        budget=BUDGET_COLD_PAGE, samples=ms))
    return rows, checks
