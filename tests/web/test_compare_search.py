"""Benchmarks on the pages, the compare page and its CSV, the metric search, and the category-of-abuse
series on the child-protection topic page: through the Flask test client, as a browser drives the app."""
from __future__ import annotations

import csv
import io

from dashboard.views import category_view, compare_view, comparison_view, scorecard, search_metrics
from tests.web.conftest import (all_text, by_id, callback_body, graphs, links, post_callback, render_page,
                                text_of, view_context, walk)

THURROCK = "E06000034"


def test_overview_shows_rank_and_band_in_words(client, dependencies, manager):
    page = render_page(client, dependencies, "/")
    rows = {r.metric_id: r for r in scorecard(view_context(manager))}
    ranked = [r for r in rows.values() if r.rank is not None]
    assert ranked, "some framework metric has a national rank"
    for r in ranked:
        cell = text_of(by_id(page, f"row-{r.metric_id}"))
        assert f"{r.rank} of {r.rank_of}" in cell and f"Band {r.quartile_band}" in cell, r.metric_id
    neutral = text_of(by_id(page, "row-cp_rate_31mar"))
    assert "Not ranked" in neutral
    headers = [text_of(c) for c in walk(page) if c["type"] == "Th" and c["props"].get("scope") == "col"]
    assert "National rank and band" in headers


def test_metric_page_says_how_the_authority_compares(client, dependencies, manager):
    page = render_page(client, dependencies, "/metric/assessments_45_days_pct")
    ctx = view_context(manager)
    cv = comparison_view(ctx, ctx.registry.metric("assessments_45_days_pct"))
    assert text_of(by_id(page, "compares-heading")) == "How Thurrock compares"
    assert text_of(by_id(page, "compares-summary")) == cv.summary
    assert "ranks" in cv.summary and f"of {cv.row.rank_of}" in cv.summary
    ids = [g["props"]["id"] for g in graphs(page)]
    assert "distribution-graph" in ids
    # the table equivalent names the marked authorities with their value and rank
    table = text_of(by_id(page, "compares-table"))
    for name in ("Thurrock", "Statistical neighbours"):
        assert name in table
    assert "/compare/assessments_45_days_pct" in " ".join(links(page))


def test_metric_page_of_a_neutral_metric_says_it_is_not_ranked(client, dependencies):
    page = render_page(client, dependencies, "/metric/cp_rate_31mar")
    assert "Not ranked: neutral measure" in text_of(by_id(page, "compares"))


def test_compare_page_defaults_to_the_neighbours(client, dependencies, manager):
    page = render_page(client, dependencies, "/compare/cp_rate_31mar")
    ctx = view_context(manager)
    view = compare_view(ctx, ctx.registry.metric("cp_rate_31mar"))
    assert view.default_set and len(view.codes) == 1 + min(14, len(ctx.neighbours))
    table = text_of(by_id(page, "compare-table"))
    for code in view.codes:
        assert view.names[code] in table
    chooser = by_id(page, "compare-with")
    assert chooser["props"]["multi"] is True and chooser["props"]["value"] == view.codes[1:]
    assert any(g["props"]["id"] == "compare-graph" for g in graphs(page))
    assert "/download/compare/cp_rate_31mar.csv" in " ".join(links(page))


def test_compare_page_takes_the_set_from_the_url(client, dependencies):
    page = render_page(client, dependencies, "/compare/cp_rate_31mar", "?with=882,884")
    table = text_of(by_id(page, "compare-table"))
    assert "Southend-on-Sea" in table and "Herefordshire" in table
    assert by_id(page, "compare-with")["props"]["value"] == ["E06000033", "E06000019"]


def test_compare_callback_puts_the_set_in_the_url(client, dependencies):
    body = callback_body(dependencies, "compare-body.children",
                         {"compare-with.value": ["E06000033", "E06000019"], "url.pathname": "/compare/cp_rate_31mar",
                          "url.search": ""}, ["compare-with.value"])
    resp = post_callback(client, body)
    assert resp.status_code == 200
    out = resp.get_json()["response"]
    assert out["url"]["search"] == "?with=E06000033%2CE06000019"
    assert "Southend-on-Sea" in all_text(out["compare-body"]["children"])
    # malformed values are dropped, not passed on (and never a 500)
    for bad in (["<x>", 3, None], "882", {"a": 1}):
        body = callback_body(dependencies, "compare-body.children",
                             {"compare-with.value": bad, "url.pathname": "/compare/cp_rate_31mar", "url.search": ""},
                             ["compare-with.value"])
        assert post_callback(client, body).status_code in (200, 204)


def test_compare_csv(client, manager):
    resp = client.get("/download/compare/cp_rate_31mar.csv?with=882")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    ctx = view_context(manager, "?with=882")
    view = compare_view(ctx, ctx.registry.metric("cp_rate_31mar"))
    assert [(r["area_code"], r["period"]) for r in rows] == list(zip(view.data["code"], view.data["period"]))
    assert {r["area_name"] for r in rows} == {"Thurrock", "Southend-on-Sea"}
    assert client.get("/download/compare/not_a_metric.csv").status_code == 404


def test_every_page_has_the_metric_search(client, dependencies):
    for path in ("/", "/metric/cp_rate_31mar", "/topic/workforce", "/about", "/compare/cp_rate_31mar", "/search"):
        page = render_page(client, dependencies, path)
        box = by_id(page, "metric-search")
        assert box is not None and box["props"]["name"] == "q", path
        form = next(c for c in walk(page) if c["type"] == "Form" and c["props"].get("action") == "/search")
        assert form["props"]["method"] == "get"


def test_search_page_lists_matching_metrics_as_links(client, dependencies, manager):
    page = render_page(client, dependencies, "/search", "?q=dental")
    hrefs = links(page)
    assert "/metric/lac_dental_checks_pct" in hrefs
    assert "1 metric match" in text_of(by_id(page, "search-status"))
    page = render_page(client, dependencies, "/search", "?q=neglect")
    want = search_metrics(view_context(manager).registry, "neglect")
    assert len(want) > 1
    for m in want:
        assert f"/metric/{m.id}" in hrefs or f"/metric/{m.id}" in links(page)
    page = render_page(client, dependencies, "/search", "?q=zzzz+nothing")
    assert "No metric matches" in text_of(by_id(page, "search-status"))


def test_search_keeps_the_authority(client, dependencies):
    page = render_page(client, dependencies, "/search", "?la=202&q=dental")
    assert "/metric/lac_dental_checks_pct?la=202" in links(page)


def test_child_protection_topic_shows_categories_of_abuse_over_time(client, dependencies, manager):
    page = render_page(client, dependencies, "/topic/child_protection", "?cmp=england,region,sn")
    graph = next(g for g in graphs(page) if g["props"]["id"] == "graph-cp_by_category-over-time")
    xs = {x for t in graph["props"]["figure"]["data"] for x in t["x"]}
    assert {f"31 Mar {y}" for y in range(2013, 2023)} <= xs
    names = {t["name"] for t in graph["props"]["figure"]["data"]}
    assert {"Thurrock", "England", "East of England", "Statistical neighbours, median"} <= names
    ctx = view_context(manager, "?cmp=england,region,sn")
    view = category_view(ctx, ctx.registry.metric("cp_by_category"), "category_of_abuse")
    assert len(view.data) > 0
    text = all_text(by_id(page, "panel-cp_by_category"))
    assert "Neglect" in text and "Emotional abuse" in text


def test_overview_topic_filter_offers_only_the_frameworks_topics(client, dependencies, raw_registry, raw_metrics):
    page = render_page(client, dependencies, "/")
    offered = [o["value"] for o in by_id(page, "topic-filter")["props"]["options"]]
    topic_of = {m["id"]: m["topic"] for m in raw_metrics}
    want = {topic_of[m] for m in raw_registry["frameworks"][0]["metrics"]}
    assert set(offered) == want | {"all"}
    assert "care_leavers" not in offered  # no care-leaver measure is on the default framework
    assert "Care leavers" in all_text(page)  # but its topic page is in the navigation
