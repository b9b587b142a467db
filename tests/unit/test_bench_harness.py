"""The benchmark harness's logic, without timing anything (``make bench`` does the timing).

Ratios and verdicts, the budget table, the page list taken from the route table, the static copy of
a page, the percentile and the parsing of Chromium's performance log into replayable requests.
"""
from __future__ import annotations

import json

from benchmarks import core
from benchmarks.bench_fifty import _percentile, _requests
from benchmarks.bench_pages import SECTION as PAGES, static_page
from benchmarks.instance import budget_pages

FIFTY = "fifty"


def test_ratio_and_verdict():
    assert core.Row("s", "m", 130.0, "ms", floor=100.0, budget=1.3).verdict == core.OK
    assert core.Row("s", "m", 131.0, "ms", floor=100.0, budget=1.3).verdict == core.OVER
    assert core.Row("s", "m", 131.0, "ms", floor=100.0, budget=1.3).ratio == 1.31
    assert core.Row("s", "m", float("nan"), "ms", floor=100.0, budget=1.3).verdict == core.OVER  # must run
    assert core.Row("s", "failed", 0, "count", budget=0).verdict == core.OK
    assert core.Row("s", "failed", 1, "count", budget=0).verdict == core.OVER
    assert core.Row("s", "m", 5.0, "ms").verdict == core.INFO


def page_rows(label: str, warm: float, cold: float, size: float) -> list[core.Row]:
    return [core.Row(PAGES, f"{label}, warm", warm, "ms", floor=100.0, budget=1.3),
            core.Row(PAGES, f"{label}, cold", cold, "ms", floor=100.0, budget=1.5),
            core.Row(PAGES, f"{label}, bytes moved cold", size, "bytes", budget=1_000_000)]


def test_budget_table_one_line_per_page_and_the_fifty_line():
    rows = page_rows("/", 120.0, 140.0, 600_000) + page_rows("/metric/x", 140.0, 140.0, 600_000)
    rows += [core.Row(FIFTY, "failed requests (fifty people)", 0, "count", budget=0),
             core.Row(FIFTY, "/: p95", 300.0, "ms", floor=100.0, budget=5.0),
             core.Row(FIFTY, "/metric/x: p95", 450.0, "ms", floor=100.0, budget=5.0)]
    text = core.budget_table(rows, PAGES, FIFTY)
    lines = text.splitlines()
    assert lines[0].split() == ["page", "warm", "cold", "cold", "bytes", "budget", "result"]
    first = lines[2].split()
    assert first[:5] == ["/", "1.20x", "1.40x", "600.0", "kB"] and first[-1] == "pass"
    assert lines[3].split()[1] == "1.40x" and lines[3].split()[-1] == "FAIL"  # warm over 1.3x
    assert lines[4].startswith("50 people at once") and "p95 4.50x" in lines[4] and "0 failed" in lines[4]
    assert lines[4].split()[-1] == "pass"


def test_budget_table_fails_the_fifty_line_on_a_failed_request():
    rows = [core.Row(FIFTY, "failed requests (fifty people)", 2, "count", budget=0),
            core.Row(FIFTY, "/: p95", 300.0, "ms", floor=100.0, budget=5.0)]
    assert core.budget_table(rows, PAGES, FIFTY).splitlines()[-1].split()[-1] == "FAIL"


def test_every_route_is_a_budget_page():
    routes = (("/", "overview"), ("/metric/<metric>", "metric"), ("/topic/<topic>", "topic"),
              ("/search", "search"), ("/spc", "spc"))
    assert [u for _, u in budget_pages(routes)] == ["/", "/metric/cp_rate_31mar", "/topic/child_protection",
                                                    "/search?q=neglect", "/spc"]


def test_percentile():
    assert _percentile(list(range(1, 101)), 0.95) == 95.05
    assert _percentile([3.0], 0.95) == 3.0


def test_the_static_copy_redraws_the_same_figures_with_the_same_plotly():
    cap = {"html": '<div id="react-entry-point"><h1 id="page-heading">T</h1><div data-floor-chart="0"></div></div>',
           "figures": json.dumps([{"data": [{"y": [1, 2]}], "layout": {"title": "</script>"}, "config": {}}]),
           "css": ["/assets/style.css?m=1"], "plotly": "/assets/plotly-basic-4.1.1.min.js?m=1", "title": "T",
           "charts": 1}
    html = static_page(cap)
    assert '<link rel="stylesheet" href="/assets/style.css?m=1">' in html
    assert '<script src="/assets/plotly-basic-4.1.1.min.js?m=1"></script>' in html
    assert "Plotly.newPlot" in html and "</script>\"" not in html  # a figure cannot close the script
    assert "plotly" not in static_page({**cap, "charts": 0, "figures": "[]"}).lower()  # no chart: no plotly.js


def test_performance_log_to_requests():
    base, page = "http://127.0.0.1:9", "http://127.0.0.1:9/"

    def ev(method, **params):
        return {"message": json.dumps({"message": {"method": method, "params": params}})}

    log = [
        ev("Network.requestWillBeSent", requestId="1", request={"url": page, "method": "GET", "headers": {}}),
        ev("Network.responseReceived", requestId="1", response={"status": 200}),
        ev("Network.requestWillBeSent", requestId="2",
           request={"url": base + "/_dash-update-component", "method": "POST", "postData": '{"output":"x"}',
                    "headers": {"X-CSRFToken": "theirs", "Content-Type": "application/json"}}),
        ev("Network.responseReceived", requestId="2", response={"status": 200}),
        ev("Network.requestWillBeSent", requestId="3", request={"url": base + "/assets/a.js", "method": "GET",
                                                               "headers": {}}),
        ev("Network.requestServedFromCache", requestId="3"),
        ev("Network.requestWillBeSent", requestId="4", request={"url": "data:image/png;base64,xx", "method": "GET",
                                                               "headers": {}}),
    ]
    reqs = _requests(log, base, page)
    assert [(r.method, r.path) for r in reqs] == [("GET", "/"), ("POST", "/_dash-update-component")]
    assert reqs[1].body == b'{"output":"x"}'
    assert "X-CSRFToken" not in reqs[1].headers  # each person sends their own
    assert reqs[1].headers["Referer"] == page
