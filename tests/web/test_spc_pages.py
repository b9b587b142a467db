"""The SPC screens over HTTP: /spc (the Making Data Count grid), the metric page's SPC section, the
scorecard's SPC column and CSV, for staff and for inspector links (suppressed, scoped)."""
from __future__ import annotations

import csv
import io

from dashboard.analysis.series import cell_series
from dashboard.spc_view import GRID_COLUMNS, GRID_ROWS, TRIAL_LABEL, metric_spc, spc_grid, variation_icon
from dashboard.views import scorecard
from tests.helpers import create_inspector_link, open_inspector_link

from .conftest import (
    CITY_OF_LONDON, all_text, by_id, callback_body, graphs, links, post_callback, render_page, text_of,
    view_context, walk,
)


def _grid_links(page) -> dict[str, list[str]]:
    """cell id -> the metric ids it links to, read from the page."""
    out = {}
    for r, _ in GRID_ROWS:
        for c, _ in GRID_COLUMNS:
            cell = by_id(page, f"spc-cell-{r}-{c}")
            assert cell is not None, (r, c)
            out[f"{r}-{c}"] = [h.split("/metric/")[1].split("?")[0] for h in links(cell) if "/metric/" in h]
    return out


def test_spc_path_is_a_page(client):
    resp = client.get("/spc")
    assert resp.status_code == 200 and "_dash-config" in resp.get_data(as_text=True)


def test_spc_page_grid_matches_the_view(client, dependencies, manager):
    page = render_page(client, dependencies, "/spc")
    assert "SPC summary" in text_of(by_id(page, "page-heading"))
    grid = spc_grid(view_context(manager))
    found = _grid_links(page)
    for (r, c), entries in grid.cells.items():
        assert found[f"{r}-{c}"] == [e.metric_id for e in entries], (r, c)
    every = sorted(m for ids in found.values() for m in ids)
    assert every == sorted(r.metric_id for r in scorecard(view_context(manager)))
    text = all_text(page)
    for _, label in GRID_ROWS + GRID_COLUMNS:
        assert label in text
    # the nav offers the page on every page
    assert any(h.startswith("/spc") for h in links(render_page(client, dependencies, "/about")))


def test_spc_page_follows_the_url_state(client, dependencies, manager):
    page = render_page(client, dependencies, "/spc", "?la=383&as_of=2019-03-31")
    assert "Leeds" in all_text(page)
    metric_links = [h for h in links(by_id(page, "spc-grid")) if "/metric/" in h]
    assert metric_links and all("la=383" in h and "as_of=2019-03-31" in h for h in metric_links)
    grid = spc_grid(view_context(manager, "?la=383&as_of=2019-03-31"))
    found = _grid_links(page)
    for (r, c), entries in grid.cells.items():
        assert found[f"{r}-{c}"] == [e.metric_id for e in entries], (r, c)


def test_metric_page_has_the_spc_chart_legend_summary_and_table(client, dependencies, manager):
    page = render_page(client, dependencies, "/metric/rereferral_pct")
    section = by_id(page, "spc")
    assert section is not None
    (g,) = [x for x in graphs(section) if x["props"]["id"] == "spc-graph"]
    names = {t["name"] for t in g["props"]["figure"]["data"]}
    assert "Centre line (mean)" in names and "Target" in names
    view = metric_spc(view_context(manager), manager.registry.metric("rereferral_pct"))
    table = by_id(section, "spc-table")
    body_rows = [c for c in walk(table) if c["type"] == "Tr"][1:]
    assert len(body_rows) == len(view.result.points)
    text = all_text(section)
    assert "View as table" in text
    assert variation_icon(view.result.variation.key)[1] in text_of(by_id(section, "spc-icons"))
    for words in ("Common cause (circle)", "Improvement (triangle)", "Concern (diamond)", "Neither (square)"):
        assert words in text_of(by_id(section, "spc-legend")), words
    assert text_of(by_id(section, "spc-summary"))


def test_metric_page_trial_limits_are_labelled(client, dependencies):
    page = render_page(client, dependencies, "/metric/sw_caseload")
    section = by_id(page, "spc")
    assert TRIAL_LABEL in all_text(section)


def test_cell_choice_redraws_the_spc_chart(client, dependencies, manager):
    metric = manager.registry.metric("training_compliance")
    base = metric_spc(view_context(manager), metric)
    cell = ("NELFT", "training_level", "L1")
    assert cell != base.cell
    body = callback_body(dependencies, "trend-container.children",
                         {"cmp-toggle.value": ["england"], "sn-model.value": "2025", "cell-select.value": "|".join(cell),
                          "url.pathname": "/metric/training_compliance", "url.search": ""}, ["cell-select.value"])
    resp = post_callback(client, body)
    assert resp.status_code == 200
    out = resp.get_json()["response"]
    ctx = view_context(manager, out["url"]["search"])
    exp = metric_spc(ctx, metric)
    assert exp.cell == cell
    table = by_id(out["spc-container"]["children"], "spc-table")
    periods = [text_of(c) for c in walk(table) if c["type"] == "Th" and c["props"].get("scope") == "row"]
    assert periods == [exp.labels[p.period] for p in exp.result.points]
    # a comparator toggle leaves the SPC chart as it is
    body = callback_body(dependencies, "trend-container.children",
                         {"cmp-toggle.value": ["england", "region"], "sn-model.value": "2025", "cell-select.value": None,
                          "url.pathname": "/metric/cp_rate_31mar", "url.search": ""}, ["cmp-toggle.value"])
    resp = post_callback(client, body)
    assert resp.status_code == 200 and "spc-container" not in resp.get_json()["response"]


def test_scorecard_has_an_spc_column_and_csv(client, dependencies, manager):
    page = render_page(client, dependencies, "/")
    rows = scorecard(view_context(manager))
    for r in rows:
        row = by_id(page, f"row-{r.metric_id}")
        cell = next(c for c in walk(row) if "spc-cell" in (c["props"].get("className") or ""))
        shape, words = variation_icon(r.spc_variation)
        assert shape in all_text(cell) and words in all_text(cell), r.metric_id
    resp = client.get("/download/scorecard.csv")
    recs = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [x["spc_variation"] for x in recs] == [r.spc_variation or "" for r in rows]
    assert [x["spc_assurance"] for x in recs] == [r.spc_assurance or "" for r in rows]


# --------------------------------------------------------------------------- inspectors


def test_inspector_spc_uses_the_published_view(inspector_client, dependencies, manager):
    page = render_page(inspector_client, dependencies, "/spc")
    grid = spc_grid(view_context(manager, external=True))
    found = _grid_links(page)
    for (r, c), entries in grid.cells.items():
        assert found[f"{r}-{c}"] == [e.metric_id for e in entries], (r, c)
    other = render_page(inspector_client, dependencies, "/spc", "?la=202")
    assert text_of(by_id(other, "page-heading")) == "Not available"
    assert by_id(other, "spc-grid") is None


def test_city_inspector_spc_never_shows_a_suppressed_value(city_inspector_client, dependencies, manager):
    """The City of London's suppressed counts are not points of its SPC chart, nor behind its limits."""
    search = f"?la={CITY_OF_LONDON}"
    ctx = view_context(manager, search, external=True)
    checked = 0
    for metric in ctx.registry.metrics:
        s = cell_series(ctx.rows(metric.id), *metric_spc(ctx, metric).cell) if not ctx.rows(metric.id).empty else None
        if s is None or not (s["status"].fillna("") != "").any():
            continue
        page = render_page(city_inspector_client, dependencies, f"/metric/{metric.id}", search)
        section = by_id(page, "spc")
        hidden = {lab for lab, st in zip(s["period_label"], s["status"].fillna("")) if st}
        table = by_id(section, "spc-table")
        if table is None:
            continue
        periods = {text_of(c) for c in walk(table) if c["type"] == "Th" and c["props"].get("scope") == "row"}
        assert not periods & hidden, metric.id
        checked += 1
        if checked >= 3:
            break
    assert checked, "expected a City of London SPC chart with suppressed periods left out"


def test_metric_scoped_link_sees_only_its_metrics_on_spc(dash_app, engine, dependencies):
    allowed = ["rereferral_pct", "cp_rate_31mar"]
    _link, token = create_inspector_link(engine, {"las": ["883"], "metrics": allowed})
    c = open_inspector_link(dash_app.server.test_client(), token)
    page = render_page(c, dependencies, "/spc")
    found = sorted(m for ids in _grid_links(page).values() for m in ids)
    assert found == sorted(allowed)
