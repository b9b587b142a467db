"""The scorecard, for Thurrock and for authorities with short or heavily suppressed series."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dashboard.analysis.rag import RagStatus, assess
from dashboard.analysis.scorecard import build_scorecard, filter_rows
from dashboard.registry import Polarity
from tests.helpers import dfe_file

THURROCK = "E06000034"
# By the start of their names: a refresh renames a file for its new years.
F_CP = dfe_file("d5_cpps_at31march_by_duration_")
F_POP = dfe_file("ons_mid-year_population_estimates_")
F_WF = dfe_file("csww_indicators_")


@pytest.fixture(scope="module")
def thurrock(snap, registry):
    return {r.metric_id: r for r in build_scorecard(registry, snap.rows, THURROCK)}


def test_one_row_per_metric_in_registry_order(snap, registry):
    rows = build_scorecard(registry, snap.rows, THURROCK)
    assert [r.metric_id for r in rows] == registry.ids


def test_cp_rate_latest_from_the_files(thurrock, dfe):
    years = dfe.la_rows(F_CP, "883")
    latest = max(years)
    count = years[latest]["CPP_At31"]
    pop = dfe.la_rows(F_POP, "883")[latest - 1]["population_estimate"]
    row = thurrock["cp_rate_31mar"]
    assert row.value == dfe.rate(count, pop)
    assert row.period_end == dt.date(latest, 3, 31)
    assert row.period_label == f"31 Mar {latest}"
    assert (row.numerator, row.denominator) == (float(count), float(pop))
    assert row.rag.status is RagStatus.NEUTRAL  # a neutral metric is compared, not rated
    assert row.source_kind == "published" and row.illustrative is False
    # England for the same period, from the national rows
    e_count = dfe.national_rows(F_CP)[latest]["CPP_At31"]
    e_pop = dfe.national_rows(F_POP)[latest - 1]["population_estimate"]
    assert row.england_value == dfe.rate(e_count, e_pop)
    word = "Higher" if row.value > row.england_value else "Lower" if row.value < row.england_value else "Same"
    assert row.benchmark_text.startswith(f"{word} than England")
    # change from the year before, with a neutral direction word
    prev = dfe.cp_rate("883", latest - 1)[0]
    assert row.change.previous_value == prev
    assert row.change.delta == pytest.approx(row.value - prev)
    assert row.change.direction == ("up" if row.value > prev else "down" if row.value < prev else "no change")
    # the sparkline: the last points of the series, oldest first
    assert row.spark[-1] == (f"31 Mar {latest}", row.value)
    assert len(row.spark) == min(12, len(years))


def test_as_of_picks_the_period_then(snap, registry, dfe):
    rows = {r.metric_id: r for r in build_scorecard(registry, snap.rows, THURROCK, dt.date(2017, 6, 30))}
    row = rows["cp_rate_31mar"]
    assert row.period_end == dt.date(2017, 3, 31)
    assert row.period_label == "31 Mar 2017"
    lait = dfe.read_csv_rows(dfe.dir / "lait_child_protection_measures.csv")
    published = next(float(r["value"]) for r in lait
                     if (r["measure_code"], r["time_period"], r["la_code"]) == ("CPP_rate", "2017", "883"))
    assert row.value == dfe.cp_rate("883", 2017)[0] == published  # the rate as LAIT publishes it
    for r in rows.values():
        assert r.period_end is None or r.period_end <= dt.date(2017, 6, 30), r.metric_id
    # the workforce census starts at 30 September 2017: nothing yet
    assert rows["sw_agency_rate"].value is None and rows["sw_agency_rate"].rag.status is RagStatus.NO_DATA
    # the local measure of June 2017 is on or before the date, so it counts
    assert rows["sw_agency_rate_local"].period_end == dt.date(2017, 6, 30)


def test_lower_better_metric_with_illustrative_target(thurrock, registry, dfe):
    metric = registry.metric("sw_agency_rate")
    assert metric.polarity is Polarity.LOWER_BETTER
    row = thurrock["sw_agency_rate"]
    years = dfe.la_rows(F_WF, "883")
    latest = max(years)
    r = years[latest]
    agency, inpost = Decimal(r["agency_fte"]), Decimal(r["inpost_fte"])
    expected = dfe.half_up(agency * 100 / (agency + inpost), 1)
    assert row.value == expected
    assert row.period_end == dt.date(latest, 9, 30)
    target = metric.target_for(row.period_end)
    assert target is not None and target.illustrative
    assert (row.target, row.target_illustrative, row.target_source) == (target.value, True, target.source)
    want = assess(expected, polarity=Polarity.LOWER_BETTER, target=target.value, tolerance=metric.tolerance.value,
                  tolerance_kind=metric.tolerance.kind, decimals=metric.decimals)
    assert row.rag.status is want.status
    assert row.rag.illustrative is True
    # and the status agrees with the bands worked out by hand
    t, tol = target.value, metric.tolerance.value
    hand = RagStatus.GREEN if expected <= t else RagStatus.AMBER if expected <= t + tol else RagStatus.RED
    assert row.rag.status is hand


def test_breakdown_only_metric_uses_its_largest_share(thurrock, dfe):
    # cp_by_category is DfE's series (2013-2022) by initial and by latest category: the headline is the
    # largest share among the initial categories (the first breakdown the registry lists) at 31 March 2022.
    cells = {r["measure_code"]: r["value"] for r in dfe.rows(dfe.F_CP_CATEGORY)
             if r["la_code"] == "883" and r["time_period"] == "2022"}
    total = Decimal(cells["D4_CPP_At31"])
    codes = {"Neglect": "NEG", "Emotional": "EMO", "Physical": "PHY", "Sexual": "SAB", "Multiple": "MUL"}
    counts = {codes[k.split("_")[1]]: int(v) for k, v in cells.items()
              if k.startswith("D4_") and k.endswith("_Initial") and v.isdigit()}
    largest = max(counts, key=counts.get)
    row = thurrock["cp_by_category"]
    assert (row.breakdown, row.breakdown_value) == ("category_of_abuse", largest)
    assert row.value == dfe.half_up(Decimal(counts[largest]) * 100 / total, 1)
    assert row.as_record()["breakdown"] == f"category_of_abuse={largest}"
    assert row.cell_rule.startswith("largest of 3")  # two categories are "c": no percentage is shown for them
    assert row.source_kind == "published"


def test_agency_metric_with_an_agency_target(thurrock):
    row = thurrock["supervision_compliance"]
    assert row.agency == "NELFT"
    assert (row.value, row.target, row.rag.status) == (97.0, 85.0, RagStatus.GREEN)
    assert row.target_illustrative is False


@pytest.mark.parametrize("old_code", ["202", "383", "908", "940", "201"])
def test_other_authorities(snap, registry, dfe, old_code):
    area = snap.area(old_code)
    assert area is not None and area["level"] == "la"
    rows = {r.metric_id: r for r in build_scorecard(registry, snap.rows, area["code"])}
    assert list(rows) == registry.ids
    years = dfe.la_rows(F_CP, old_code)
    latest = max(years)
    cell = years[latest]["CPP_At31"].strip()
    row = rows["cp_plans_31mar"]
    assert row.period_end == dt.date(latest, 3, 31)
    if dfe.is_number(cell):
        assert (row.value, row.status_symbol) == (float(cell), "")
    else:
        assert (row.value, row.status_symbol, row.rag.status) == (None, cell, RagStatus.NO_DATA)
    # the rate's sparkline covers exactly the years the authority has
    assert len(rows["cp_rate_31mar"].spark) == min(12, len(years))
    for r in rows.values():
        if r.value is None:
            assert r.rag.status is RagStatus.NO_DATA, r.metric_id
        # the local measures are Thurrock's: nobody else has them
        if registry.metric(r.metric_id).local:
            assert r.period_end is None and r.value is None, r.metric_id
        rec = r.as_record()
        assert rec["metric_id"] == r.metric_id and rec["rag"] == r.rag.label


def test_reorganised_authority_has_a_short_series(snap, registry, dfe):
    area = snap.area("940")
    rows = {r.metric_id: r for r in build_scorecard(registry, snap.rows, area["code"])}
    years = sorted(dfe.la_rows(F_CP, "940"))
    assert years[0] >= 2022  # North Northamptonshire exists from 2021-22
    assert [p for p, _ in rows["cp_plans_31mar"].spark] == [f"31 Mar {y}" for y in years]


def test_suppressed_authority(snap, registry, dfe):
    """City of London: most CP counts are suppressed; the rate built on them is too."""
    area = snap.area("201")
    rows = {r.metric_id: r for r in build_scorecard(registry, snap.rows, area["code"])}
    years = dfe.la_rows(F_CP, "201")
    latest = max(years)
    if years[latest]["CPP_At31"].strip() == "c":
        assert rows["cp_rate_31mar"].value is None
        assert rows["cp_rate_31mar"].status_symbol == "c"
        assert "Suppressed (c)" in rows["cp_rate_31mar"].rag.rule
    spark = dict(rows["cp_plans_31mar"].spark)
    for y, r in years.items():
        label = f"31 Mar {y}"
        if label in spark and r["CPP_At31"].strip() == "c":
            assert spark[label] is None


def test_filter_rows(thurrock):
    rows = list(thurrock.values())
    workforce = filter_rows(rows, topic="workforce")
    assert workforce and {r.topic for r in workforce} == {"workforce"}
    red_amber = filter_rows(rows, rag=["red", "amber"])
    assert {r.rag.status.value for r in red_amber} <= {"red", "amber"}
    assert len(red_amber) == sum(r.rag.status.value in ("red", "amber") for r in rows)
    assert filter_rows(rows) == rows
