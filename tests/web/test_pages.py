"""Every page through the router callback, and the two interactive callbacks, over HTTP.

Dash serves one index page for every path; the page itself comes from the router callback
(``url.pathname`` -> ``page.children``). Each test sends the body the browser would send,
built from ``/_dash-dependencies``.
"""
from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.state import SN_MODELS, parse_query
from dashboard.views import metric_view, scorecard

from .conftest import (
    all_text, by_id, callback_body, class_has, graphs, links, long_date, output_ids, post_callback,
    render_page, router_body, text_of, view_context, walk,
)

MAX_GRAPHS = 12
NEWEST_SN = max(SN_MODELS)  # the newest statistical-neighbour model: a valid value to send
STATIC_PATHS = ["/", "/about"]
NOT_PAGES = ["/no-such-page", "/metric/not_a_metric", "/topic/not_a_topic"]  # 404 before the shell is served
RAG_WORDS = ("Red", "Amber", "Green")


def _page_paths(raw_metrics, raw_topics) -> list[str]:
    return STATIC_PATHS + [f"/metric/{m['id']}" for m in raw_metrics] + [f"/topic/{t['id']}" for t in raw_topics]


def _heading(page: dict) -> str:
    h1 = by_id(page, "page-heading")
    assert h1 is not None, "page has no H1 with id page-heading"
    return text_of(h1)


def _authority_line(page: dict) -> str:
    line = next((c for c in walk(page) if class_has(c, "authority-line")), None)
    assert line is not None, "page has no authority line"
    return text_of(line)


# --------------------------------------------------------------------------- 1. index HTML


def test_every_page_path_serves_the_accessible_index(client, raw_metrics, raw_topics):
    for path in _page_paths(raw_metrics, raw_topics) + ["/?la=202", "/?la=999"]:
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.mimetype == "text/html", path
        html = resp.get_data(as_text=True)
        assert '<html lang="en-GB">' in html, path
        assert '<a class="skip-link" href="#main">' in html, path
        assert '<script id="_dash-config" type="application/json">' in html, path
    for path in NOT_PAGES:
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert '<html lang="en-GB">' in resp.get_data(as_text=True)  # an accessible page, without the app
        assert "_dash-config" not in resp.get_data(as_text=True)


# --------------------------------------------------------------------------- 2. layout and callback graph


def test_layout_and_dependencies_are_json(client, dependencies):
    resp = client.get("/_dash-layout")
    assert resp.status_code == 200
    layout = resp.get_json()
    ids = {c["props"].get("id") for c in walk(layout)}
    assert {"url", "page"} <= ids
    assert isinstance(dependencies, list) and dependencies
    outputs = [o for cb in dependencies for o in output_ids(cb)]
    for needed in ("page.children", "scorecard-body.children", "trend-container.children"):
        assert needed in outputs, outputs


def test_router_callback_is_wired_to_the_url(dependencies):
    body = router_body(dependencies, "/about", "?la=883")
    assert body["inputs"] == [{"id": "url", "property": "pathname", "value": "/about"}]
    assert body["state"] == [{"id": "url", "property": "search", "value": "?la=883"}]
    assert body["outputs"] == {"id": "page", "property": "children"}


# --------------------------------------------------------------------------- 3. pages via the router


def test_overview_lists_the_frameworks_metrics_with_as_at_and_rag(client, dependencies, raw_metrics, raw_registry,
                                                                   manager, store_facts):
    page = render_page(client, dependencies, "/")
    text = all_text(page)
    framework = raw_registry["frameworks"][0]["metrics"]
    for m in raw_metrics:
        if m["id"] in framework:
            assert m["short_title"] in text, m["id"]
        else:  # the others are on their topic pages and in the search, not on the overview
            assert by_id(page, f"row-{m['id']}") is None, m["id"]
    as_at = by_id(page, "as-at")
    assert as_at is not None
    line = text_of(as_at)
    assert "as at" in line.lower()
    assert long_date(store_facts["newest"]) in line
    assert f"data version {store_facts['version']}" in line
    for word in RAG_WORDS:
        assert word in text
    # each metric's row carries the status word the scorecard computes for it
    expected = {r.metric_id: r.rag.label for r in scorecard(view_context(manager))}
    assert list(expected) == framework
    for metric_id, label in expected.items():
        row = by_id(page, f"row-{metric_id}")
        assert row is not None, metric_id
        assert label in all_text(row), (metric_id, label)
    assert len(graphs(page)) <= MAX_GRAPHS


def test_every_metric_page(client, dependencies, raw_metrics):
    for m in raw_metrics:
        page = render_page(client, dependencies, f"/metric/{m['id']}")
        text = all_text(page)
        assert _heading(page) == m["title"], m["id"]
        assert m["definition"].strip() in text, m["id"]
        assert "Download CSV" in text, m["id"]
        assert "View as table" in text, m["id"]
        assert any(h.startswith(f"/download/metric/{m['id']}.csv") for h in links(page)), m["id"]
        n = len(graphs(page))
        assert 1 <= n <= MAX_GRAPHS, (m["id"], n)
        assert by_id(page, "trend-container") is not None, m["id"]


def test_every_topic_page(client, dependencies, raw_metrics, raw_topics):
    for t in raw_topics:
        page = render_page(client, dependencies, f"/topic/{t['id']}")
        assert _heading(page) == t["title"], t["id"]
        text = all_text(page)
        hrefs = links(page)
        members = [m for m in raw_metrics if m["topic"] == t["id"]]
        assert members, t["id"]
        for m in members:
            assert m["title"] in text, (t["id"], m["id"])
            assert any(h.split("?")[0] == f"/metric/{m['id']}" for h in hrefs), (t["id"], m["id"])
        # a metric left out for the chart budget is still reachable from a "More metrics" link
        if "More metrics in this topic" in text:
            more = [c for c in walk(page) if c["type"] == "P" and "More metrics" in all_text(c)]
            assert more
        assert len(graphs(page)) <= MAX_GRAPHS, t["id"]


def test_about_page(client, dependencies):
    page = render_page(client, dependencies, "/about")
    assert _heading(page) == "About the data"
    assert "Open Government Licence" in all_text(page)


def test_accessibility_statement_is_public(dash_app):
    """The statement is a plain server page that anybody may read, signed in or not."""
    resp = dash_app.server.test_client().get("/accessibility")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert '<html lang="en-GB">' in html
    assert 'class="skip-link" href="#main"' in html
    assert "<title>Accessibility statement" in html
    # the statement names the standard as "Web Content Accessibility Guidelines (WCAG) 2.2 at level AA"
    assert re.search(r"WCAG\)? 2\.2\b", html), "accessibility statement does not name WCAG 2.2"
    assert re.search(r"\bAA\b", html)


@pytest.mark.parametrize("path", ["/no-such-page", "/metric/not_a_metric", "/topic/not_a_topic", "/metric",
                                  "/metric/cp_rate_31mar/extra"])
def test_unknown_path_says_page_not_found(client, dependencies, path):
    page = render_page(client, dependencies, path)
    assert _heading(page) == "Page not found"
    assert len(graphs(page)) == 0


def test_default_authority_is_thurrock(client, dependencies):
    page = render_page(client, dependencies, "/")
    assert "Thurrock" in _authority_line(page)


def test_la_query_switches_authority(client, dependencies):
    page = render_page(client, dependencies, "/", "?la=202")
    line = _authority_line(page)
    assert "Camden" in line and "Thurrock" not in line
    page = render_page(client, dependencies, "/metric/cp_rate_31mar", "?la=202")
    assert "Camden" in _authority_line(page)


def test_unknown_authority(client, dependencies):
    page = render_page(client, dependencies, "/", "?la=999")
    assert _heading(page) == "Authority not found"
    assert "999" in all_text(page)
    assert len(graphs(page)) == 0


# --------------------------------------------------------------------------- 4a. scorecard filter


def _filter_body(dependencies, topic, rag, search=""):
    return callback_body(dependencies, "scorecard-body.children",
                         {"topic-filter.value": topic, "rag-filter.value": rag, "url.search": search},
                         ["rag-filter.value"])


def _filter_response(client, dependencies, topic, rag, search=""):
    resp = post_callback(client, _filter_body(dependencies, topic, rag, search))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp.get_json()["response"]


def test_filter_with_the_urls_own_values_does_no_work(client, dependencies):
    """The filters fire as the page is drawn; with the URL's own values they change nothing (204)."""
    resp = post_callback(client, _filter_body(dependencies, "all", ["red"], "?rag=red"))
    assert resp.status_code == 204


def _row_ids(tree) -> list[str]:
    return [c["props"]["id"][len("row-"):] for c in walk(tree)
            if c["type"] == "Tr" and str(c["props"].get("id", "")).startswith("row-")]


@pytest.mark.parametrize("rag", [["red"], ["amber"], ["green"], ["neutral"], ["no_target"], ["red", "amber"], []])
def test_rag_filter_returns_only_matching_rows(client, dependencies, manager, rag):
    # clearing the filter is a change only from a URL that had one
    out = _filter_response(client, dependencies, "all", rag, "" if rag else "?rag=red")
    rows = scorecard(view_context(manager))
    expected = [r.metric_id for r in rows if not rag or r.rag.status.value in rag]
    got = _row_ids(out["scorecard-body"]["children"])
    assert sorted(got) == sorted(expected)
    for c in walk(out["scorecard-body"]["children"]):
        if c["type"] == "Tr" and str(c["props"].get("id", "")).startswith("row-") and rag:
            assert any(class_has(c, f"rag-row-{v}") for v in rag)
    if not expected:
        assert "No metrics match these filters." in all_text(out["scorecard-body"])
    href = out["scorecard-download"]["href"]
    assert urlsplit(href).path == "/download/scorecard.csv"
    sent = parse_qs(urlsplit(href).query).get("rag", [""])[0]
    assert sorted(filter(None, sent.split(","))) == sorted(rag)
    assert parse_query(out["url"]["search"]).rag == tuple(rag)


def test_red_filter_is_not_vacuous(manager):
    statuses = {r.rag.status.value for r in scorecard(view_context(manager))}
    assert "red" in statuses or "amber" in statuses, statuses


def test_topic_filter(client, dependencies, manager, raw_metrics):
    out = _filter_response(client, dependencies, "workforce", [])
    expected = [m["id"] for m in raw_metrics if m["topic"] == "workforce"]
    assert sorted(_row_ids(out["scorecard-body"]["children"])) == sorted(expected)
    assert parse_query(out["url"]["search"], ("workforce",)).topic == "workforce"


def test_filter_keeps_the_authority_from_the_url(client, dependencies, manager):
    out = _filter_response(client, dependencies, "all", ["green"], "?la=202")
    rows = scorecard(view_context(manager, "?la=202"))
    expected = [r.metric_id for r in rows if r.rag.status.value == "green"]
    assert sorted(_row_ids(out["scorecard-body"]["children"])) == sorted(expected)
    assert parse_query(out["url"]["search"]).la == "202"


@pytest.mark.parametrize("topic,rag,search", [
    pytest.param("all", 5, "", id="rag-number"),
    pytest.param("all", [{"status": "red"}], "", id="rag-list-of-dicts"),
    pytest.param("all", "red", "", id="rag-string"),
    pytest.param(5, [], "", id="topic-number"),
    pytest.param([{"id": "workforce"}], [], "", id="topic-list-of-dicts"),
    pytest.param("all", [], 5, id="search-number"),
    pytest.param("all", [], ["?la=202"], id="search-list"),
])
def test_filter_malformed_values_do_not_500(client, dependencies, topic, rag, search):
    resp = post_callback(client, _filter_body(dependencies, topic, rag, search))
    assert resp.status_code < 500, resp.status_code


# --------------------------------------------------------------------------- 4b. metric callback


def _metric_body(dependencies, path, cmp, sn, cell, search=""):
    return callback_body(dependencies, "trend-container.children",
                         {"cmp-toggle.value": cmp, "sn-model.value": sn, "cell-select.value": cell,
                          "url.pathname": path, "url.search": search},
                         ["cmp-toggle.value"])


def _same(a, b) -> bool:
    missing = lambda v: v is None or (isinstance(v, float) and math.isnan(v))  # noqa: E731
    if missing(a) or missing(b):
        return missing(a) and missing(b)
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def _check_trend_matches_view(trend, view):
    g = graphs(trend)
    assert len(g) == 1
    traces = {t["name"]: t for t in g[0]["props"]["figure"]["data"] if t.get("name") != "Target"}
    data = view.data
    assert set(traces) == set(data["series"])
    for name, df in data.groupby("series", sort=False):
        t = traces[name]
        assert list(t["x"]) == list(df["period"]), name
        assert len(t["y"]) == len(df)
        assert all(_same(a, b) for a, b in zip(t["y"], df["value"])), name


@pytest.mark.parametrize("metric_id", ["cp_rate_31mar", "lac_placed_20_miles", "sw_agency_rate", "referral_rate"])
@pytest.mark.parametrize("sn", SN_MODELS)
def test_metric_callback_comparators(client, dependencies, manager, metric_id, sn):
    path = f"/metric/{metric_id}"
    resp = post_callback(client, _metric_body(dependencies, path, ["england", "region", "sn"], sn, None))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    out = resp.get_json()["response"]
    search = out["url"]["search"]
    state = parse_query(search)
    assert state.cmp == ("england", "region", "sn") and state.sn == sn
    ctx = view_context(manager, search)
    view = metric_view(ctx, manager.registry.metric(metric_id))
    assert "England" in view.comparators_shown
    _check_trend_matches_view(out["trend-container"]["children"], view)


def test_counts_are_not_compared_with_other_areas(client, dependencies, manager):
    """A count (referrals) is not set beside England's: areas differ in size. Its rate is."""
    resp = post_callback(client, _metric_body(dependencies, "/metric/referrals", ["england", "region", "sn"], NEWEST_SN,
                                              None))
    assert resp.status_code == 200
    out = resp.get_json()["response"]
    view = metric_view(view_context(manager, out["url"]["search"]), manager.registry.metric("referrals"))
    assert view.comparators_shown == []
    assert set(view.data["series"]) == {"Thurrock"}
    _check_trend_matches_view(out["trend-container"]["children"], view)


def _store_neighbour_median(settings, la_old_code: str, model: str, metric_id: str, decimals: int):
    """(period_end, median) of the neighbours' latest whole-area values, read from the store."""
    from sqlalchemy import func, select

    from dashboard import store

    engine = store.get_engine(settings.database_url)
    with engine.connect() as conn:
        la = conn.execute(select(store.Area.code).where(store.Area.old_code == la_old_code)).scalar_one()
        codes = list(conn.execute(select(store.StatNeighbour.neighbour_code).where(
            store.StatNeighbour.la_code == la, store.StatNeighbour.model == model)).scalars())
        cell = (store.Observation.metric_id == metric_id, store.Observation.area_code.in_(codes),
                store.Observation.agency == "", store.Observation.breakdown == "",
                store.Observation.value.is_not(None))
        latest = conn.execute(select(func.max(store.Observation.period_end)).where(*cell)).scalar_one()
        values = list(conn.execute(select(store.Observation.value).where(
            *cell, store.Observation.period_end == latest)).scalars())
    assert len(codes) >= 5 and len(values) * 2 >= len(codes), (model, codes, values)
    values.sort()
    mid = len(values) // 2
    median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
    q = Decimal(1).scaleb(-decimals)
    return latest, float(Decimal(repr(median)).quantize(q, rounding=ROUND_HALF_UP))


@pytest.mark.parametrize("sn", SN_MODELS)
def test_metric_callback_neighbour_median_matches_the_store(client, dependencies, web_settings, raw_metrics, sn):
    metric_id = "cp_rate_31mar"
    decimals = next(m["decimals"] for m in raw_metrics if m["id"] == metric_id)
    resp = post_callback(client, _metric_body(dependencies, f"/metric/{metric_id}", ["sn"], sn, None))
    assert resp.status_code == 200
    fig = graphs(resp.get_json()["response"]["trend-container"]["children"])[0]["props"]["figure"]
    sn_traces = [t for t in fig["data"] if "neighbour" in t["name"].lower()]
    assert len(sn_traces) == 1, [t["name"] for t in fig["data"]]
    assert sn in sn_traces[0]["name"]
    latest, median = _store_neighbour_median(web_settings, "883", sn, metric_id, decimals)
    assert sn_traces[0]["y"][-1] == pytest.approx(median, abs=1e-9), (sn, latest)


def test_metric_callback_no_comparators(client, dependencies, manager):
    resp = post_callback(client, _metric_body(dependencies, "/metric/cp_rate_31mar", [], NEWEST_SN, None))
    assert resp.status_code == 200
    out = resp.get_json()["response"]
    assert parse_query(out["url"]["search"]).cmp == ()
    view = metric_view(view_context(manager, out["url"]["search"]), manager.registry.metric("cp_rate_31mar"))
    assert view.comparators_shown == []
    _check_trend_matches_view(out["trend-container"]["children"], view)
    names = {t["name"] for t in graphs(out["trend-container"]["children"])[0]["props"]["figure"]["data"]}
    assert "England" not in names


def test_metric_callback_cell_select(client, dependencies, manager):
    metric = manager.registry.metric("training_compliance")
    base = metric_view(view_context(manager), metric)
    others = [c for c in base.cells if c != base.cell and c[1]]
    assert others, "training_compliance should have several agency/level cells"
    cell = others[0]
    resp = post_callback(client, _metric_body(dependencies, "/metric/training_compliance", ["england"], NEWEST_SN,
                                              "|".join(cell)))
    assert resp.status_code == 200
    out = resp.get_json()["response"]
    state = parse_query(out["url"]["search"])
    assert (state.agency or "", *(state.breakdown or "").split(":")) == cell
    view = metric_view(view_context(manager, out["url"]["search"]), metric)
    assert view.cell == cell
    _check_trend_matches_view(out["trend-container"]["children"], view)


def test_metric_callback_on_a_non_metric_path_changes_nothing(client, dependencies):
    resp = post_callback(client, _metric_body(dependencies, "/about", ["england"], NEWEST_SN, None))
    assert resp.status_code in (200, 204)
    if resp.status_code == 200:
        assert "trend-container" not in (resp.get_json() or {}).get("response", {})


@pytest.mark.parametrize("cmp,sn,cell", [
    pytest.param(5, NEWEST_SN, None, id="cmp-number"),
    pytest.param([{"value": "england"}], NEWEST_SN, None, id="cmp-list-of-dicts"),
    pytest.param(["england"], 2021, None, id="sn-number"),
    pytest.param(["england"], [{"m": "2021"}], None, id="sn-list-of-dicts"),
    pytest.param(["england"], NEWEST_SN, 5, id="cell-number"),
    pytest.param(["england"], NEWEST_SN, [{"a": 1}], id="cell-list-of-dicts"),
    pytest.param(["england"], NEWEST_SN, "NELFT|nope|<script>", id="cell-bad-text"),
])
def test_metric_callback_malformed_values_do_not_500(client, dependencies, cmp, sn, cell):
    resp = post_callback(client, _metric_body(dependencies, "/metric/training_compliance", cmp, sn, cell))
    assert resp.status_code < 500, resp.status_code


# --------------------------------------------------------------------------- router with forged values


@pytest.mark.parametrize("path,search", [
    pytest.param(5, "", id="pathname-number"),
    pytest.param([{"p": "/"}], "", id="pathname-list-of-dicts"),
    pytest.param("/", 5, id="search-number"),
    pytest.param("/", ["?la=202"], id="search-list"),
])
def test_router_malformed_values_do_not_500(client, dependencies, path, search):
    resp = post_callback(client, router_body(dependencies, path, search))
    assert resp.status_code < 500, resp.status_code


# --------------------------------------------------------------------------- inspector (published view)


def test_inspector_sees_the_published_view(inspector_client, dependencies, manager):
    page = render_page(inspector_client, dependencies, "/")
    banner = by_id(page, "view-banner")
    assert banner is not None and class_has(banner, "external")
    expected = {r.metric_id: r.rag.label for r in scorecard(view_context(manager, external=True))}
    for metric_id, label in expected.items():
        row = by_id(page, f"row-{metric_id}")
        assert row is not None and label in all_text(row), metric_id


def test_inspector_cannot_open_another_authority(inspector_client, dependencies):
    page = render_page(inspector_client, dependencies, "/", "?la=202")
    assert _heading(page) == "Not available"
    assert "Camden" not in _authority_line_or_empty(page)


def _authority_line_or_empty(page: dict) -> str:
    line = next((c for c in walk(page) if class_has(c, "authority-line")), None)
    return text_of(line) if line else ""


def _seed_note(metric_id: str) -> str:
    import csv

    from dashboard.config import DEFAULT_DATA_DIR

    with open(DEFAULT_DATA_DIR / "local" / "thurrock_lscb_2016_17.csv", encoding="utf-8", newline="") as f:
        (rec,) = [r for r in csv.DictReader(f) if r["metric_id"] == metric_id]
    assert rec["note"]
    return rec["note"]


def test_the_metric_page_shows_each_rows_note(client, dependencies):
    """Issue 13: a row's note is shown beside its value: in the table behind the chart and on hover."""
    note = _seed_note("cin_cases_local")
    page = render_page(client, dependencies, "/metric/cin_cases_local")
    assert note in all_text(page)  # the table: as text, which Dash escapes
    hovers = [cd[2] for g in graphs(page) for trace in g["props"]["figure"]["data"]
              for cd in (trace.get("customdata") or []) if len(cd) > 2]
    assert "<br>Note: " + note.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in hovers
