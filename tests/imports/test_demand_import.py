"""A real-format monthly demand return (the 30-month fixture) replaces the illustrative months for
its authority, the page and the command say so, and the annual check reports where the months do
not give DfE's published year; bad monthly returns are refused with nothing changed; inspectors
get the recorded months suppressed, never the generated ones.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from dashboard import cli
from dashboard.demand_view import demand_view
from dashboard.imports import ImportRefused, import_return
from dashboard.state import parse_query
from dashboard.views import make_context
from tests.helpers import by_id, text_of

from .conftest import ROOT, dump, dump_diff

FIXTURE = ROOT / "tests" / "fixtures" / "demand_return_30_months.csv"


def _ctx(db, search="", external=False):
    mgr = db.manager()
    topics = tuple(t.id for t in mgr.registry.topics)
    return make_context(mgr.snapshot(), mgr.registry, parse_query(search, topics, mgr.settings.sn_model),
                        mgr.settings.la_code, external=external)


def _json(component) -> dict:
    """A Dash component tree as the browser receives it."""
    import plotly.utils

    return json.loads(json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder))


def _texts(node) -> str:
    return text_of(node) if node is not None else ""


def _by_id(node, element_id):
    return by_id(node, element_id)


def _fixture() -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(FIXTURE.read_text(encoding="utf-8"))))
    return rows[0], rows[1:]


def _as_csv(header, rows) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    return buf.getvalue().encode()


def test_a_real_monthly_return_replaces_the_illustrative_months(sqlite_db, registry, monkeypatch, capsys):
    eng = sqlite_db.engine
    before = demand_view(_ctx(sqlite_db))
    assert before.illustrative and before.real == []
    dry = import_return(eng, registry, FIXTURE.read_bytes(), FIXTURE.name, user="analyst-a", dry_run=True)
    report = import_return(eng, registry, FIXTURE.read_bytes(), FIXTURE.name, user="analyst-a")
    assert report.accepted and report.problems == [] and report.added == 30 * 20
    # the annual check at import: warnings in the report (the dry run's too), flags on the metrics
    assert dry.warnings == report.warnings and len(report.warnings) == len(report.details)
    rereferral = [w for w in report.warnings if "Re-referrals" in w]
    assert len(rereferral) == 1 and "310" in rereferral[0] and "302" in rereferral[0]
    assert "not an error" in rereferral[0]
    assert not any(w.split(": ", 1)[1].startswith("Referrals (monthly)") for w in report.warnings)
    flags = sqlite_db.manager().snapshot().flags_for("demand_rereferrals", "E06000034")
    assert any("302" in m for m in flags["message"]), flags

    view = demand_view(_ctx(sqlite_db))
    header, rows = _fixture()
    assert not view.illustrative and view.words == ""
    assert sorted(view.real) == sorted(h for h in header if h.startswith("demand_"))
    assert view.real_words.startswith("Recorded monthly figures for every series")
    ref = view.by_id("demand_referrals")
    assert ref.n_months == 30 and ref.latest_period == dt.date(2026, 9, 30) and not ref.illustrative
    assert ref.latest_value == float(rows[-1][header.index("demand_referrals")])
    last12 = sum(int(r[header.index("demand_referrals")]) for r in rows[-12:])
    assert ref.current == last12
    assert ref.projection.available and ref.projection.n_months == 30
    assert ref.projection.backtest is None  # 30 months: a back-test needs 36

    # the annual check: re-referrals add up to 310 against DfE's 302, plans at 31 March 2025 are 125
    # against 121; referrals (1,885) and children in need (1,404) agree, so say nothing
    warnings = " | ".join(view.quality)
    assert "Re-referrals" in warnings and "310" in warnings and "302" in warnings
    assert "125" in warnings and "121" in warnings
    assert not any(w.startswith("Referrals (monthly)") for w in view.quality)
    assert not any("Children in need" in w for w in view.quality)
    assert all("recorded months" in w for w in view.quality)

    page = staff_page(sqlite_db)
    text = _texts(page)
    assert _by_id(page, "demand-illustrative") is None
    assert "Illustrative:" not in text and "Some values in this chart are generated examples" not in text
    assert "Recorded monthly figures for every series" in _texts(_by_id(page, "demand-recorded"))
    quality = _texts(_by_id(page, "demand-quality"))
    assert "Warning" in quality and "302" in quality and "121" in quality

    # the command says the same
    monkeypatch.setenv("DATABASE_URL", sqlite_db.url)
    monkeypatch.setenv("DASHBOARD_INSTANCE_DIR", str(sqlite_db.settings.instance_dir))
    monkeypatch.delenv("DASHBOARD_LA", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    import dashboard.data

    monkeypatch.setattr(dashboard.data, "_manager", None)
    assert cli.main(["demand", "--la", "883"]) == 0
    out = capsys.readouterr().out
    assert "Illustrative" not in out.split("Flow from contact")[0]
    assert "Recorded monthly figures for every series" in out
    for w in view.quality:
        assert w in out
    assert cli.main(["demand", "--la", "883", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["illustrative"] is False and data["quality"] == view.quality


BAD = {
    "gap": ("month_gap", lambda h, rows: rows.pop(5)),
    "duplicate": ("duplicate_month", lambda h, rows: rows.insert(3, list(rows[2]))),
    "negative": ("negative", lambda h, rows: rows[7].__setitem__(h.index("demand_s47"), "-4")),
    "share_above_100": ("percent_above_100",
                        lambda h, rows: rows[0].__setitem__(h.index("demand_assessments_45d_pct"), "100.5")),
    "future": ("period_in_future", lambda h, rows: rows.append(["Dec 2099"] + rows[-1][1:])),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_monthly_return_is_refused_and_changes_nothing(sqlite_db, registry, case):
    code, spoil = BAD[case]
    header, rows = _fixture()
    spoil(header, rows)
    eng = sqlite_db.engine
    snapshot_before = dump(eng)
    with pytest.raises(ImportRefused) as exc:
        import_return(eng, registry, _as_csv(header, rows), f"demand_{case}.csv", user="analyst-a")
    rep = exc.value.report
    assert not rep.accepted and rep.version_id is None
    (detail,) = [d for d in rep.details if d["severity"] == "error"]
    assert detail["rule"] and detail["file"] == f"demand_{case}.csv" and detail["row"] and detail["column"]
    assert (code == "month_gap") == ("missing" in detail["rule"])
    assert dump_diff(snapshot_before, dump(eng)) == ""
    assert demand_view(_ctx(sqlite_db)).illustrative  # still the generated months


def test_inspectors_get_recorded_months_suppressed_and_never_generated_ones(sqlite_db, registry):
    staff_before = _ctx(sqlite_db, external=True)
    assert staff_before.registry.get("demand_placements_20mi") is None  # generated only: not shown
    import_return(sqlite_db.engine, registry, FIXTURE.read_bytes(), FIXTURE.name, user="analyst-a")
    ext = _ctx(sqlite_db, external=True)
    staff = _ctx(sqlite_db)
    assert ext.registry.get("demand_placements_20mi") is not None  # recorded now: shown, suppressed
    view, staff_view = demand_view(ext), demand_view(staff)
    assert not view.illustrative
    counts = [s for s in view.series if s.unit == "count" and s.kind != "pct"]
    assert counts
    small_seen = 0
    for s in counts:
        rows = ext.rows(s.metric_id)
        assert not rows["illustrative"].astype(bool).any(), s.metric_id  # no generated month reaches them
        staff_values = staff_view.by_id(s.metric_id).values
        small_seen += int(((staff_values >= 1) & (staff_values <= 5)).sum())
        vals = s.values.dropna()
        assert not ((vals >= 1) & (vals <= 5)).any(), s.metric_id
    assert small_seen > 0  # the fixture has small counts (placements): staff see them, inspectors do not
    placements = view.by_id("demand_placements_20mi")
    assert placements.values.isna().any() and not placements.projection.available
    assert placements.rate is None or placements.rate.value is None  # no rate built on a suppressed month
    from dashboard.views import scorecard

    row = next(r for r in scorecard(ext, all_metrics=True) if r.metric_id == "demand_placements_20mi")
    assert not row.illustrative and row.period_end == dt.date(2026, 9, 30)
    assert row.spark and not any(v is not None and 1 <= v <= 5 for _, v in row.spark)
    page = render_external(sqlite_db)
    table = _texts(_by_id(page, "demand-series-table"))
    assert "Placements" in table or "placements" in table.lower()


def staff_page(db):
    """The demand page as a signed-in staff viewer's context draws it (what the router returns)."""
    from dashboard.pages import demand as demand_page

    return _json(demand_page.layout(_ctx(db)))


def render_external(db):
    """The demand page as an inspector's context draws it."""
    from dashboard.pages import demand as demand_page

    return _json(demand_page.layout(_ctx(db, external=True)))


def test_a_return_with_some_measures_replaces_only_those(sqlite_db, registry):
    header, rows = _fixture()
    keep = [header.index(c) for c in ("month", "area", "demand_referrals", "demand_cin_open")]
    data = _as_csv([header[i] for i in keep], [[r[i] for i in keep] for r in rows])
    import_return(sqlite_db.engine, registry, data, "two_measures.csv", user="analyst-a")
    view = demand_view(_ctx(sqlite_db))
    assert sorted(view.real) == ["demand_cin_open", "demand_referrals"]
    assert view.illustrative  # the other 18 are still generated, and say so
    assert "for 2 of 20 series" in view.real_words and "still illustrative" in view.real_words
    assert not view.by_id("demand_referrals").illustrative and view.by_id("demand_s47").illustrative
    assert view.by_id("demand_referrals").n_months == 30  # never half real and half generated
    page = staff_page(sqlite_db)
    assert _by_id(page, "demand-illustrative") is not None
    assert "for 2 of 20 series" in _texts(_by_id(page, "demand-recorded"))
    rates = _texts(_by_id(page, "demand-rates-table"))
    assert rates.count("Recorded") == 2 and rates.count("Illustrative") == 1 + 18  # heading says both words
