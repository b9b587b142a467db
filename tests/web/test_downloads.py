"""CSV downloads: headers, provenance, and the same rows the chart beside them draws."""
from __future__ import annotations

import csv
import io
import math

import pytest

from dashboard.analysis.suppression import SUPPRESSED_NOTE
from dashboard.views import illustrative_counts, metric_view, scorecard

from .conftest import CITY_OF_LONDON, long_date, view_context

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


def test_scorecard_csv(client, manager, raw_registry, store_facts):
    _, rows, fields = _get_csv(client, f"/download/scorecard.csv{ALL_COMPARATORS}")
    expected = scorecard(view_context(manager, ALL_COMPARATORS))
    assert [r["metric_id"] for r in rows] == [r.metric_id for r in expected]
    # the overview's metrics: the default framework's (the first in the registry), in its order
    assert [r["metric_id"] for r in rows] == raw_registry["frameworks"][0]["metrics"]
    for got, want in zip(rows, expected):
        assert got["rank"] == ("" if want.rank is None else str(want.rank)), got["metric_id"]
        assert got["quartile_band"] == (want.quartile_band or ""), got["metric_id"]
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


INSPECTORS = {  # fixture -> the query it asks with (its link covers that authority only)
    "inspector_client": ALL_COMPARATORS,
    "city_inspector_client": f"?la={CITY_OF_LONDON}&cmp=england,region,sn",
}


@pytest.mark.parametrize("who", sorted(INSPECTORS))
def test_inspector_metric_csv_equals_the_suppressed_chart_data(request, who, manager, raw_metrics, store_facts):
    """An inspector's download holds the small-numbers-suppressed figures their charts show."""
    client, search = request.getfixturevalue(who), INSPECTORS[who]
    ctx = view_context(manager, search, external=True)
    hidden = illustrative_counts(manager.snapshot(), manager.registry)
    assert {m["id"] for m in raw_metrics if m["id"].startswith("demand_") and m["suppression"]["rule"] != "none"} \
        <= hidden  # the illustrative monthly demand counts
    for m in raw_metrics:
        if m["id"] in hidden:
            _hidden_from_inspectors(client, f"/download/metric/{m['id']}.csv{search}")
            continue
        _, rows, fields = _get_csv(client, f"/download/metric/{m['id']}.csv{search}")
        data = metric_view(ctx, manager.registry.metric(m["id"])).data
        assert [(r["series"], r["period"]) for r in rows] == list(zip(data["series"], data["period"])), m["id"]
        assert all(_same(_num(r["value"]), v) for r, v in zip(rows, data["value"])), m["id"]
        assert [r["status"] for r in rows] == [s or "" for s in data["status"]], m["id"]
        if rows:
            _check_provenance(rows, fields, store_facts, ctx.la_name)


def _hidden_from_inspectors(client, url: str) -> None:
    """Illustrative counts under the small-numbers rule are not suppressed, so an inspector cannot ask for them."""
    resp = client.get(url)
    assert resp.status_code == 404, (url, resp.status_code)
    assert resp.mimetype != "text/csv", url


def _small_counts(rows: list[dict], series: str, unit: str) -> list[dict]:
    """Rows of ``series`` that show a count of 1 to 5 (as numerator, denominator or a count value)."""
    out = []
    for r in rows:
        if r["series"] != series:
            continue
        counts = [_num(r["numerator"]), _num(r["denominator"])] + ([_num(r["value"])] if unit == "count" else [])
        if any(n is not None and 1 <= n <= 5 for n in counts):
            out.append(r)
    return out


def test_inspector_csv_never_shows_a_count_of_1_to_5(small_numbers_db):
    """A local return with small counts: staff see them, an inspector's every CSV shows c instead."""
    from dashboard.web.app import create_app
    from tests.conftest import SMALL_NUMBERS_LA
    from tests.helpers import sign_in

    app = create_app(small_numbers_db)
    engine = app.server.config["DASHBOARD_MANAGER"].engine
    staff = sign_in(app.server.test_client(), engine, "viewer")
    inspector = sign_in(app.server.test_client(), engine, "inspector", las=(SMALL_NUMBERS_LA,))
    registry = app.server.config["DASHBOARD_MANAGER"].registry
    search = f"?la={SMALL_NUMBERS_LA}"
    staff_small = suppressed = 0
    hidden = illustrative_counts(app.server.config["DASHBOARD_MANAGER"].snapshot(), registry)
    assert hidden
    for m in registry.metrics:
        if m.suppression.rule == "none":  # staff FTE and agency percentages: not child counts
            continue
        if m.id in hidden:
            _hidden_from_inspectors(inspector, f"/download/metric/{m.id}.csv{search}")
            continue
        agency_cells = [""]
        for cell in {"category_of_abuse": ["NEG", "EMO", "PHY", "SAB"], "age_band": ["0-4", "5-11", "12-16", "17"]}.get(
                (m.breakdowns or [""])[0], [""]):
            agency_cells.append(f"&breakdown={m.breakdowns[0]}:{cell}" if cell else "")
        for extra in agency_cells:
            url = f"/download/metric/{m.id}.csv{search}{extra}"
            _, staff_rows, _ = _get_csv(staff, url)
            _, rows, _ = _get_csv(inspector, url)
            name = staff_rows[0]["series"] if staff_rows else ""
            small = _small_counts(staff_rows, name, m.unit.value)
            staff_small += len(small)
            assert _small_counts(rows, name, m.unit.value) == [], (m.id, extra)
            # a suppressed row's note is the fixed text, never the staff note (a note can quote the figure)
            by_period = {r["period"]: r for r in rows if r["series"] == name}
            for r in small:
                assert by_period[r["period"]]["note"] == SUPPRESSED_NOTE, (m.id, extra, r["period"])
            suppressed += sum(1 for r in rows if r["series"] == name and r["status"] == "c" and r["value"] == "")
    # the staff view of the same authority does show small counts, so the check above bites
    assert staff_small >= 3
    assert suppressed >= staff_small


@pytest.mark.parametrize("url", ["/download/metric/cp_rate_31mar.csv?la=202", "/download/scorecard.csv?la=202"])
def test_inspector_cannot_download_another_authority(inspector_client, url):
    resp = inspector_client.get(url)
    assert resp.status_code == 403, url
    assert resp.mimetype != "text/csv"


def test_scorecard_csv_neutralises_formula_text(client, monkeypatch):
    """The web scorecard download uses the same export rule as every CSV: formula text gets a leading quote."""
    from dashboard.analysis.scorecard import ScorecardRow

    original = ScorecardRow.as_record

    def record(self):
        return original(self) | {"agency": "=1+1", "target_source": "@SUM(A1)"}

    monkeypatch.setattr(ScorecardRow, "as_record", record)
    _, rows, _ = _get_csv(client, "/download/scorecard.csv")
    assert rows
    assert {r["agency"] for r in rows} == {"'=1+1"}
    assert {r["target_source"] for r in rows} == {"'@SUM(A1)"}


def test_metric_csv_has_each_rows_note(client, manager):
    """Issue 13: the metric CSV carries the row's note (the seed return's, for cin_cases_local 2017)."""
    from dashboard.config import DEFAULT_DATA_DIR

    with open(DEFAULT_DATA_DIR / "local" / "thurrock_lscb_2016_17.csv", encoding="utf-8", newline="") as f:
        (seed,) = [r for r in csv.DictReader(f) if r["metric_id"] == "cin_cases_local"]
    _, rows, fields = _get_csv(client, "/download/metric/cin_cases_local.csv")
    assert "note" in fields
    name = view_context(manager).la_name
    assert [r["note"] for r in rows if r["series"] == name and r["period_end"] == seed["period_end"]] == [seed["note"]]
