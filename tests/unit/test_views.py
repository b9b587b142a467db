"""The data manager's snapshot and the views computed from it, checked against the DfE files."""
from __future__ import annotations

import csv
import datetime as dt
import io
import statistics

import pandas as pd
import pytest

from dashboard import views
from dashboard.state import ViewState, parse_query

THURROCK = "E06000034"
SN_NAME_2025 = "Statistical neighbours, median (2025 model)"
MARCH_2017 = dt.date(2017, 3, 31)


def ctx_for(snap, registry, search="", default_la="883"):
    return views.make_context(snap, registry, parse_query(search), default_la)


# --------------------------------------------------------------------------- snapshot


def test_area_by_either_code(snap, dfe):
    # the DfE files give Thurrock's two codes and its region on every row
    r = dfe.la_rows(dfe.F_CP, "883")[2017]
    assert (r["new_la_code"], r["la_name"], r["region_name"]) == (THURROCK, "Thurrock", "East of England")
    for code in ("883", THURROCK, "e06000034", " 883 "):
        a = snap.area(code)
        assert a is not None, code
        assert (a["code"], a["old_code"], a["name"], a["level"]) == (THURROCK, "883", "Thurrock", "la")
        assert a["region_code"] == r["region_code"]
    assert snap.region_of("883")["name"] == "East of England"


@pytest.mark.parametrize("code", ["999", "", "nan", "NaN", "None", "E06999999"])
def test_unknown_codes_name_no_area(snap, code):
    assert snap.area(code) is None


def test_regions_have_no_old_code_and_no_parent(snap):
    region = snap.area("E12000006")
    assert region["level"] == "regional" and region["old_code"] is None
    assert snap.region_of("E12000006") is None  # a region is not inside another region
    assert snap.region_of("E92000001") is None


def _sn_old_codes(dfe, filename, la_column, prefix):
    rows = dfe.read_csv_rows(dfe.dir / filename)
    (row,) = [r for r in rows if r[la_column].strip() == "883"]
    return [row[f"{prefix}{i}"].strip() for i in range(1, 11)]


@pytest.mark.parametrize(
    "model, filename, la_column, prefix",
    [("2021", "New_Statistical_Neighbour_Groupings_April_2021.csv", "LA num", "SN"),
     ("2025", "sn_model_2025_wide.csv", "old_la_code", "SN_")],
)
def test_neighbour_codes_for_thurrock(snap, dfe, model, filename, la_column, prefix):
    expected_old = _sn_old_codes(dfe, filename, la_column, prefix)
    got = snap.neighbour_codes(THURROCK, model)
    assert len(got) == 10 == len(set(got))
    assert THURROCK not in got
    assert [snap.area(c)["old_code"] for c in got] == expected_old  # in rank order
    assert all(snap.area(c)["level"] == "la" for c in got)


def test_the_two_models_differ(snap):
    assert snap.neighbour_codes(THURROCK, "2021") != snap.neighbour_codes(THURROCK, "2025")


# --------------------------------------------------------------------------- make_context


@pytest.mark.parametrize("la", ["999", "E12000006", "E92000001", "E13000001"])
def test_make_context_refuses_non_authorities(snap, registry, la):
    with pytest.raises(views.UnknownArea):
        views.make_context(snap, registry, ViewState(la=la), "883")


def test_make_context_refuses_a_bad_default(snap, registry):
    with pytest.raises(views.UnknownArea):
        views.make_context(snap, registry, ViewState(), "E12000006")


def test_make_context_default_and_given(snap, registry):
    ctx = views.make_context(snap, registry, ViewState(), "883")
    assert (ctx.la_code, ctx.la_name, ctx.region["code"]) == (THURROCK, "Thurrock", "E12000006")
    assert ctx.neighbours == snap.neighbour_codes(THURROCK, "2025")
    ctx = views.make_context(snap, registry, parse_query("?la=202&sn=2021"), "883")
    assert ctx.la_name == "Camden"
    assert ctx.region["name"] == "London"
    assert ctx.neighbours == snap.neighbour_codes(ctx.la_code, "2021")


# --------------------------------------------------------------------------- metric_view


def _sn_median_from_files(dfe, old_codes, year):
    """The median of the neighbours' CP rates at 31 March ``year``, computed from the DfE files."""
    rates = []
    for code in old_codes:
        cp = dfe.la_rows(dfe.F_CP, code).get(year)
        pop = dfe.la_rows(dfe.F_POP, code).get(year - 1)
        if cp and pop and dfe.is_number(cp["CPP_At31"]) and dfe.is_number(pop["population_estimate"]):
            rates.append(dfe.rate(cp["CPP_At31"], pop["population_estimate"]))
    if len(rates) * 2 < len(old_codes):
        return None, len(rates)
    from decimal import Decimal

    return dfe.half_up(Decimal(repr(statistics.median(rates))), 1), len(rates)


def test_metric_view_cp_rate_with_all_comparators(snap, registry, dfe):
    ctx = ctx_for(snap, registry, "?cmp=england,region,sn")
    view = views.metric_view(ctx, registry.metric("cp_rate_31mar"))
    data = view.data
    assert list(dict.fromkeys(data["series"])) == ["Thurrock", "England", "East of England", SN_NAME_2025]
    assert view.comparators_shown == ["England", "East of England", SN_NAME_2025]
    assert view.comparators_unavailable == []

    def at(series, when=MARCH_2017):
        got = data[(data["series"] == series) & (data["period_end"] == when)]["value"].tolist()
        assert len(got) == 1, (series, when)
        return got[0]

    # Thurrock 2017: 285 / 41,750 x 10,000 = 68.3 (the worked example in the DfE README)
    rate, count, pop = dfe.cp_rate("883", 2017)
    assert (count, pop, rate) == ("285", "41750", 68.3)
    assert at("Thurrock") == 68.3
    # England from the national rows of the same two files
    cp_e = dfe.national_rows(dfe.F_CP)[2017]["CPP_At31"]
    pop_e = dfe.national_rows(dfe.F_POP)[2016]["population_estimate"]
    assert at("England") == dfe.rate(cp_e, pop_e)
    # the statistical-neighbour median, 2025 model
    old = _sn_old_codes(dfe, dfe.F_SN_2025, "old_la_code", "SN_")
    median, n = _sn_median_from_files(dfe, old, 2017)
    assert n >= 5 and median is not None
    assert at(SN_NAME_2025) == median
    # every Thurrock point is rated "Not rated" (a neutral metric) and shows its period label
    thurrock = data[data["series"] == "Thurrock"]
    assert set(thurrock["rag"]) == {"Not rated"}
    assert thurrock["period"].iloc[0] == "31 Mar 2013"
    assert list(thurrock["period_end"]) == sorted(thurrock["period_end"])


def test_metric_view_cp_rate_thurrock_series_matches_files(snap, registry, dfe):
    ctx = ctx_for(snap, registry, "?cmp=none")
    view = views.metric_view(ctx, registry.metric("cp_rate_31mar"))
    assert set(view.data["series"]) == {"Thurrock"}
    got = {d.year: v for d, v in zip(view.data["period_end"], view.data["value"])}
    years = sorted(dfe.la_rows(dfe.F_CP, "883"))
    assert sorted(got) == years
    for y in years:
        assert got[y] == dfe.cp_rate("883", y)[0], y


def test_metric_view_as_of_and_2021_model(snap, registry):
    ctx = ctx_for(snap, registry, "?cmp=sn&sn=2021&as_of=2017-06-30")
    view = views.metric_view(ctx, registry.metric("cp_rate_31mar"))
    assert set(view.data["series"]) == {"Thurrock", "Statistical neighbours, median (2021 model)"}
    assert view.data["period_end"].max() == MARCH_2017
    assert "68.3" in view.title and "31 Mar 2017" in view.title


def test_metric_view_flags_and_seed_difference(snap, registry):
    view = views.metric_view(ctx_for(snap, registry), registry.metric("cp_plans_31mar"))
    assert any("294" in f and "285" in f for f in view.flags)
    # the published figure is the one drawn
    data = view.data
    assert data[(data["series"] == "Thurrock") & (data["period_end"] == MARCH_2017)]["value"].tolist() == [285.0]


def test_metric_view_cell_from_the_url(snap, registry, dfe):
    ctx = ctx_for(snap, registry, "?agency=NELFT&breakdown=training_level:L2&cmp=none")
    view = views.metric_view(ctx, registry.metric("training_compliance"))
    assert view.cell == ("NELFT", "training_level", "L2")
    name = "Thurrock: NELFT, Safeguarding children Level 2"
    assert set(view.data["series"]) == {name}
    seed = [r for r in dfe.read_csv_rows(dfe.local_csv)
            if r["metric_id"] == "training_compliance" and r["breakdown_value"] == "L2"]
    last = view.data.iloc[-1]
    assert (last["period_end"].isoformat(), last["value"]) == (seed[0]["period_end"], float(seed[0]["value"]))
    assert bool(last["illustrative"]) is False
    assert view.illustrative is True  # the history before it is generated
    assert bool(view.data.iloc[0]["illustrative"]) is True


def test_metric_view_unknown_cell_falls_back_to_headline(snap, registry):
    ctx = ctx_for(snap, registry, "?agency=Nobody&breakdown=training_level:L1")
    view = views.metric_view(ctx, registry.metric("training_compliance"))
    assert view.cell == (view.row.agency, view.row.breakdown, view.row.breakdown_value)
    assert view.cell in view.cells


def _csv_value(text):
    return None if text == "" else float(text)


@pytest.mark.parametrize("metric_id, search", [("cp_rate_31mar", "?cmp=england,region,sn"),
                                               ("lac_new_placements_20_miles", "?la=201&cmp=england"),
                                               ("training_compliance", "")])
def test_metric_csv_is_the_view_data(snap, registry, metric_id, search):
    ctx = ctx_for(snap, registry, search)
    metric = registry.metric(metric_id)
    view = views.metric_view(ctx, metric)
    rows = list(csv.DictReader(io.StringIO(views.metric_csv(ctx, metric))))
    assert len(rows) == len(view.data) > 0
    for got, (_, want) in zip(rows, view.data.iterrows()):
        assert got["series"] == want["series"]
        assert got["period"] == want["period"]
        assert got["period_end"] == want["period_end"].isoformat()
        want_value = None if pd.isna(want["value"]) else float(want["value"])
        assert _csv_value(got["value"]) == want_value
        assert got["status"] == (want["status"] or "")
        assert got["rag"] == (want["rag"] or "")
        assert got["authority"] == f"{ctx.la_name} ({ctx.la['old_code']}, {ctx.la_code})"
        assert got["data_version"] == str(snap.version_id)


def test_metric_csv_suppressed_cells_have_symbol_not_zero(snap, registry):
    ctx = ctx_for(snap, registry, "?la=201&cmp=none")
    metric = registry.metric("cp_plans_31mar")
    rows = list(csv.DictReader(io.StringIO(views.metric_csv(ctx, metric))))
    suppressed = [r for r in rows if r["status"] == "c"]
    assert suppressed
    assert all(r["value"] == "" for r in suppressed)


def test_scorecard_view_is_build_scorecard(snap, registry):
    from dashboard.analysis.scorecard import build_scorecard

    ctx = ctx_for(snap, registry, "?as_of=2017-06-30")
    got = [(r.metric_id, r.period_end, r.value, r.rag.status) for r in views.scorecard(ctx, all_metrics=True)]
    want = [(r.metric_id, r.period_end, r.value, r.rag.status)
            for r in build_scorecard(ctx.registry, snap.rows, THURROCK, dt.date(2017, 6, 30))]
    assert got == want
    # without all_metrics: the default framework's metrics, in the framework's order
    framework = [(r.metric_id, r.period_end, r.value) for r in views.scorecard(ctx)]
    assert [m for m, _, _ in framework] == registry.frameworks[0].metrics
    every = {m: (m, p, v) for m, p, v, _ in got}
    assert framework == [every[m] for m in registry.frameworks[0].metrics]


def test_as_at_names_the_newest_real_period(snap):
    newest = snap.frame[~snap.frame["illustrative"]]["period_end"].max()
    assert views.as_at(snap) == f"{newest.day} {newest:%B %Y}"
