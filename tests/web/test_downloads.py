"""CSV downloads: headers, provenance, and the same rows the chart beside them draws."""
from __future__ import annotations

import csv
import io
import math

import pytest

from dashboard.views import metric_view, scorecard

from .conftest import long_date, view_context

ALL_COMPARATORS = "?cmp=england,region,sn"
PROVENANCE = ("data_version", "authority", "data_as_at")


def _get_csv(client, url: str) -> tuple[object, list[dict], list[str]]:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:200])
    assert resp.mimetype == "text/csv", url
    disposition = resp.headers.get("Content-Disposition", "")
    assert disposition.startswith("attachment"), (url, disposition)
    assert "filename=" in disposition and ".csv" in disposition, (url, disposition)
    assert "no-store" in resp.headers.get("Cache-Control", ""), url
    reader = csv.DictReader(io.StringIO(resp.get_data(as_text=True)))
    return resp, list(reader), list(reader.fieldnames or [])


def _num(text: str) -> float | None:
    return None if text in ("", "nan", "None") else float(text)


def _same(a, b) -> bool:
    missing = lambda v: v is None or (isinstance(v, float) and math.isnan(v))  # noqa: E731
    if missing(a) or missing(b):
        return missing(a) and missing(b)
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)


def _check_provenance(rows, fields, store_facts, la_name):
    for col in PROVENANCE:
        assert col in fields, (col, fields)
    for row in rows:
        assert row["data_version"] == str(store_facts["version"])
        assert la_name in row["authority"]
        assert row["data_as_at"] == long_date(store_facts["newest"])


def test_every_metric_csv_equals_the_chart_data(client, manager, raw_metrics, store_facts):
    ctx = view_context(manager, ALL_COMPARATORS)
    with_rows = 0
    for m in raw_metrics:
        _, rows, fields = _get_csv(client, f"/download/metric/{m['id']}.csv{ALL_COMPARATORS}")
        data = metric_view(ctx, manager.registry.metric(m["id"])).data
        assert len(rows) == len(data), m["id"]
        for row, (_, want) in zip(rows, data.iterrows()):
            assert row["series"] == want["series"], m["id"]
            assert row["period"] == want["period"], m["id"]
            assert row["period_end"] == want["period_end"].isoformat(), m["id"]
            assert _same(_num(row["value"]), want["value"]), (m["id"], row, want.to_dict())
        if rows:
            with_rows += 1
            _check_provenance(rows, fields, store_facts, ctx.la_name)
    assert with_rows >= len(raw_metrics) // 2, "most metrics should have data for the default authority"


def test_metric_csv_includes_the_comparators_asked_for(client, manager):
    _, rows, _ = _get_csv(client, f"/download/metric/cp_rate_31mar.csv{ALL_COMPARATORS}")
    series = {r["series"] for r in rows}
    ctx = view_context(manager, ALL_COMPARATORS)
    assert ctx.la_name in series
    assert "England" in series
    assert ctx.region is not None and ctx.region["name"] in series
    assert any("neighbour" in s.lower() for s in series), series
    _, rows, _ = _get_csv(client, "/download/metric/cp_rate_31mar.csv?cmp=none")
    assert {r["series"] for r in rows} == {ctx.la_name}


def test_metric_csv_for_another_authority(client, manager, store_facts):
    search = "?la=202&cmp=england"
    ctx = view_context(manager, search)
    assert "Camden" in ctx.la_name
    resp, rows, fields = _get_csv(client, f"/download/metric/cp_rate_31mar.csv{search}")
    assert rows
    _check_provenance(rows, fields, store_facts, "Camden")
    assert "202" in resp.headers["Content-Disposition"]
    data = metric_view(ctx, manager.registry.metric("cp_rate_31mar")).data
    assert [(r["series"], r["period"]) for r in rows] == list(zip(data["series"], data["period"]))
    assert all(_same(_num(r["value"]), v) for r, v in zip(rows, data["value"]))


def test_metric_csv_for_a_breakdown_cell(client, manager):
    metric = manager.registry.metric("training_compliance")
    cells = [c for c in metric_view(view_context(manager), metric).cells if c[0] and c[1]]
    assert cells
    agency, dim, val = cells[-1]
    search = f"?agency={agency}&breakdown={dim}:{val}"
    _, rows, _ = _get_csv(client, f"/download/metric/training_compliance.csv{search.replace(' ', '+')}")
    view = metric_view(view_context(manager, search), metric)
    assert view.cell == (agency, dim, val)
    assert [(r["series"], r["period"]) for r in rows] == list(zip(view.data["series"], view.data["period"]))
    assert all(_same(_num(r["value"]), v) for r, v in zip(rows, view.data["value"]))


def test_scorecard_csv(client, manager, raw_metrics, store_facts):
    _, rows, fields = _get_csv(client, f"/download/scorecard.csv{ALL_COMPARATORS}")
    expected = scorecard(view_context(manager, ALL_COMPARATORS))
    assert [r["metric_id"] for r in rows] == [r.metric_id for r in expected]
    assert {r["metric_id"] for r in rows} == {m["id"] for m in raw_metrics}
    for got, want in zip(rows, expected):
        assert got["rag"] == want.rag.label, got["metric_id"]
        assert _same(_num(got["value"]), want.value), got["metric_id"]
        assert got["period"] == want.period_label, got["metric_id"]
    _check_provenance(rows, fields, store_facts, view_context(manager).la_name)


def test_scorecard_csv_follows_the_filters(client, manager):
    _, rows, _ = _get_csv(client, "/download/scorecard.csv?rag=red,amber&topic=workforce")
    expected = [r.metric_id for r in scorecard(view_context(manager))
                if r.topic == "workforce" and r.rag.status.value in ("red", "amber")]
    assert sorted(r["metric_id"] for r in rows) == sorted(expected)


@pytest.mark.parametrize("url", [
    "/download/metric/not_a_metric.csv",
    "/download/metric/not_a_metric.csv?cmp=england,region,sn",
    "/download/metric/cp_rate_31mar.csv?la=999",
    "/download/metric/cp_rate_31mar.csv?la=999&cmp=england,region,sn",
    "/download/scorecard.csv?la=999",
])
def test_unknown_metric_or_authority_is_404(client, url):
    resp = client.get(url)
    assert resp.status_code == 404, url
    assert resp.mimetype != "text/csv"


# --------------------------------------------------------------------------- inspector (published view)


def test_inspector_metric_csv_equals_the_suppressed_chart_data(inspector_client, manager, raw_metrics, store_facts):
    """An inspector's download holds the small-numbers-suppressed figures their charts show."""
    ctx = view_context(manager, ALL_COMPARATORS, external=True)
    staff = view_context(manager, ALL_COMPARATORS)
    differs = 0
    for m in raw_metrics:
        _, rows, fields = _get_csv(inspector_client, f"/download/metric/{m['id']}.csv{ALL_COMPARATORS}")
        metric = manager.registry.metric(m["id"])
        data = metric_view(ctx, metric).data
        assert [(r["series"], r["period"]) for r in rows] == list(zip(data["series"], data["period"])), m["id"]
        assert all(_same(_num(r["value"]), v) for r, v in zip(rows, data["value"])), m["id"]
        assert [r["status"] for r in rows] == [s or "" for s in data["status"]], m["id"]
        if rows:
            _check_provenance(rows, fields, store_facts, ctx.la_name)
        staff_values = list(metric_view(staff, metric).data["value"])
        if len(staff_values) != len(data) or not all(_same(a, b) for a, b in zip(staff_values, data["value"])):
            differs += 1
    # a value built on 1 to 5 is suppressed in at least one of Thurrock's series
    assert differs >= 1


def test_inspector_csv_never_shows_a_count_of_1_to_5(inspector_client, raw_metrics):
    for m in raw_metrics:
        _, rows, _ = _get_csv(inspector_client, f"/download/metric/{m['id']}.csv")
        for r in rows:
            for col in ("numerator", "denominator"):
                n = _num(r[col])
                assert n is None or not (1 <= n <= 5), (m["id"], col, r)
            if m["unit"] == "count":
                v = _num(r["value"])
                assert v is None or not (1 <= v <= 5), (m["id"], r)


@pytest.mark.parametrize("url", ["/download/metric/cp_rate_31mar.csv?la=202", "/download/scorecard.csv?la=202"])
def test_inspector_cannot_download_another_authority(inspector_client, url):
    resp = inspector_client.get(url)
    assert resp.status_code == 403, url
    assert resp.mimetype != "text/csv"
